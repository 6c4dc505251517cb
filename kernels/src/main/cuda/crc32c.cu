// CRC32C (Castagnoli) of many byte ranges in two launches, bit-exact with java.util.zip.CRC32C: reflected
// polynomial 0x82F63B78, register preset to 0xFFFFFFFF, result xored with 0xFFFFFFFF. It guards KV moved device to
// device: both sides checksum each layer part on the GPU and compare before the sequence is admitted.
//
// The math, once. Read a message as a polynomial over GF(2) and let P be the CRC polynomial. The "pure" CRC
// (register preset 0, no final xor) is crc0(M) = M * x^32 mod P, which is linear, so for a concatenation A|B:
//     crc0(A|B) = crc0(A) * x^(8|B|) mod P  xor  crc0(B)                                    (shift by |B| bytes)
// and the CRC of the standard (preset and final xor 0xFFFFFFFF) is
//     crc(M) = crc0(M)  xor  0xFFFFFFFF * x^(8|M|) mod P  xor  0xFFFFFFFF.
// Values are kept in the reflected form of the standard (bit 31 holds the coefficient of x^0), so multiplying by
// x is a right shift with a conditional xor of the polynomial. x^n mod P is built from the 32 constants
// x^(2^k) mod P below by square-and-multiply over the bits of n, as zlib's crc32_combine does.
//
// The work split. crc32c_partial runs gridDim.x blocks per range (gridDim.y = one per range); each block takes one
// segment of its range, each of its threads one contiguous chunk of the segment, CRCs the chunk with slicing-by-8
// tables in shared memory, and the block folds its threads' crc0 values into the segment's crc0 with a tree in
// shared memory. crc32c_combine folds each range's segment values the same way and applies the preset and final
// xor. In both splits the FIRST piece takes the remainder (it is longer), every later piece has the same length
// u, so the right-hand side of every tree step is 2^level whole pieces and its shift is x^(8 u 2^level): one
// shift per level, computed once, instead of a generic shift per node. Offsets and lengths may be anything (zero, odd,
// unaligned); each thread reads bytes until it is 8-byte aligned, then whole 8-byte words.
#include "common.cuh"

namespace crc32c {

constexpr uint32_t POLY = 0x82F63B78u;  // x^32 + ... in reflected form, without the x^32 term
constexpr uint32_t ONE = 0x80000000u;   // the polynomial 1 (x^0) in reflected form
constexpr int PARTIAL_THREADS = 256;    // threads per crc32c_partial block (a power of two: the tree needs it)

// x^(2^k) mod P for k = 0..31 (x^(2^31) = x: the multiplicative order of x divides 2^31 - 1)
__constant__ uint32_t X_POW_2K[32] = {
    0x40000000u, 0x20000000u, 0x08000000u, 0x00800000u, 0x00008000u, 0x82F63B78u, 0x6EA2D55Cu, 0x18B8EA18u,
    0x510AC59Au, 0xB82BE955u, 0xB8FDB1E7u, 0x88E56F72u, 0x74C360A4u, 0xE4172B16u, 0x0D65762Au, 0x35D73A62u,
    0x28461564u, 0xBF455269u, 0xE2EA32DCu, 0xFE7740E6u, 0xF946610Bu, 0x3C204F8Fu, 0x538586E3u, 0x59726915u,
    0x734D5309u, 0xBC1AC763u, 0x7D0722CCu, 0xD289CABEu, 0xE94CA9BCu, 0x05B74F3Fu, 0xA51E1F42u, 0x40000000u};

// a * b mod P, both reflected: walks a's coefficients from x^0 up, adding b * x^i where set (branch-free)
__device__ __forceinline__ uint32_t mul_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
#pragma unroll
    for (int i = 0; i < 32; i++) {
        product ^= (0u - (a >> 31)) & b;
        a <<= 1;
        b = (b >> 1) ^ ((0u - (b & 1u)) & POLY);
    }
    return product;
}

// x^(8 * bytes) mod P: the operator that shifts a crc0 past `bytes` more bytes. The factors x^(2^k) of the set
// bits go into two independent products (even and odd bit positions), multiplied side by side in one branch so
// the GPU overlaps them: the dependent chain is one multiply per nonzero pair of bits.
__device__ __forceinline__ uint32_t x_pow_8n(unsigned long long bytes) {
    uint32_t even = ONE, odd = ONE;
    for (int k = 3; bytes != 0; bytes >>= 2, k += 2) {
        if (bytes & 3ull) {
            even = mul_mod_p((bytes & 1ull) ? X_POW_2K[k & 31] : ONE, even);
            odd = mul_mod_p((bytes & 2ull) ? X_POW_2K[(k + 1) & 31] : ONE, odd);
        }
    }
    return even == ONE ? odd : odd == ONE ? even : mul_mod_p(even, odd);
}

// Fills the slicing-by-8 tables (needs blockDim.x == 256): table[0] is the byte-at-a-time table, table[k][i] the
// crc0 of byte i followed by k zero bytes, so 8 lookups advance the register by one 8-byte word.
__device__ __forceinline__ void build_tables(uint32_t (*table)[256]) {
    uint32_t c = threadIdx.x;
#pragma unroll
    for (int bit = 0; bit < 8; bit++) c = (c >> 1) ^ ((0u - (c & 1u)) & POLY);
    table[0][threadIdx.x] = c;
    __syncthreads();
#pragma unroll
    for (int k = 1; k < 8; k++) {
        c = (c >> 8) ^ table[0][c & 0xffu];
        table[k][threadIdx.x] = c;
    }
    __syncthreads();
}

// crc0 of `n` bytes at `p` (any alignment)
__device__ __forceinline__ uint32_t crc0_of(const unsigned char *__restrict__ p, long long n,
                                            const uint32_t (*table)[256]) {
    uint32_t crc = 0;
    for (; n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0; n--, p++) crc = table[0][(crc ^ *p) & 0xffu] ^ (crc >> 8);
    const uint2 *word = reinterpret_cast<const uint2 *>(p);
    for (; n >= 8; n -= 8, word++) {
        const uint2 w = *word;
        const uint32_t lo = w.x ^ crc, hi = w.y;  // little-endian: lo holds the word's first four bytes
        crc = table[7][lo & 0xffu] ^ table[6][(lo >> 8) & 0xffu] ^ table[5][(lo >> 16) & 0xffu] ^ table[4][lo >> 24] ^
              table[3][hi & 0xffu] ^ table[2][(hi >> 8) & 0xffu] ^ table[1][(hi >> 16) & 0xffu] ^ table[0][hi >> 24];
    }
    for (p = reinterpret_cast<const unsigned char *>(word); n > 0; n--, p++) {
        crc = table[0][(crc ^ *p) & 0xffu] ^ (crc >> 8);
    }
    return crc;
}

// Folds the block's crc0 values (thread i holds piece i; blockDim.x a power of two <= 256; every piece after the
// first is `unit` bytes long) into the crc0 of their concatenation, returned to thread 0. At tree level l the
// right-hand side is 2^l whole pieces, so its shift x^(8 unit 2^l) is the same for every node of the level; the
// first threads compute one level's shift each, in parallel, so the serial path is one multiply per level.
__device__ __forceinline__ uint32_t fold_pieces(uint32_t crc, unsigned long long unit, uint32_t *scratch,
                                                uint32_t *level_shift) {
    const int i = threadIdx.x;
    const int levels = __ffs(blockDim.x) - 1;
    if (i < levels) level_shift[i] = x_pow_8n(unit << i);
    scratch[i] = crc;
    __syncthreads();
    for (int level = 0, width = 1; width < blockDim.x; level++, width <<= 1) {
        if ((i & (2 * width - 1)) == 0) scratch[i] = mul_mod_p(level_shift[level], scratch[i]) ^ scratch[i + width];
        __syncthreads();
    }
    return scratch[0];
}

// Splits `length` bytes into `pieces` (a power of two): piece 0 takes the remainder, every other piece `unit` bytes.
__device__ __forceinline__ void piece_of(long long length, int pieces, int index, long long &start,
                                         long long &bytes, long long &unit) {
    unit = length / pieces;
    const long long first = length - unit * (pieces - 1);
    start = index == 0 ? 0 : first + unit * (index - 1);
    bytes = index == 0 ? first : unit;
}

}  // namespace crc32c

// Grid (segments per range, ranges), block 256 threads: partials[range * segments + segment] = crc0 of that
// segment of [base + offsets[range], + lengths[range]).
extern "C" __global__ void __launch_bounds__(256)
    crc32c_partial(const unsigned char *__restrict__ base, const long long *__restrict__ offsets,
                   const long long *__restrict__ lengths, unsigned int *__restrict__ partials) {
    __shared__ uint32_t table[8][256];
    __shared__ uint32_t scratch[crc32c::PARTIAL_THREADS];
    __shared__ uint32_t level_shift[8];
    crc32c::build_tables(table);
    const int range = blockIdx.y, segments = gridDim.x;
    long long segment_start, segment_bytes, segment_unit;
    crc32c::piece_of(lengths[range], segments, blockIdx.x, segment_start, segment_bytes, segment_unit);
    long long chunk_start, chunk_bytes, chunk_unit;
    crc32c::piece_of(segment_bytes, blockDim.x, threadIdx.x, chunk_start, chunk_bytes, chunk_unit);
    const unsigned char *chunk = base + offsets[range] + segment_start + chunk_start;
    const uint32_t crc = crc32c::fold_pieces(crc32c::crc0_of(chunk, chunk_bytes, table), chunk_unit, scratch,
                                             level_shift);
    if (threadIdx.x == 0) partials[static_cast<long long>(range) * segments + blockIdx.x] = crc;
}

// Grid (ranges), block = segments per range threads (the gridDim.x of crc32c_partial, a power of two <= 256):
// out[range] = CRC32C of the range, from its segments' crc0 values.
extern "C" __global__ void __launch_bounds__(256)
    crc32c_combine(const long long *__restrict__ lengths, const unsigned int *__restrict__ partials,
                   unsigned int *__restrict__ out) {
    __shared__ uint32_t scratch[256];
    __shared__ uint32_t level_shift[8];
    __shared__ uint32_t preset_term;
    const int range = blockIdx.x, segments = blockDim.x;
    const long long length = lengths[range];
    // the preset's contribution 0xFFFFFFFF * x^(8 length) does not depend on the data: the last thread (never one
    // of the threads computing level shifts, since 2^k - 1 >= k; in a warp of its own beyond 32 segments, so the
    // two run side by side) computes it while the others fold
    if (threadIdx.x == segments - 1) {
        preset_term = crc32c::mul_mod_p(crc32c::x_pow_8n(static_cast<unsigned long long>(length)), 0xFFFFFFFFu);
    }
    const uint32_t crc = crc32c::fold_pieces(partials[static_cast<long long>(range) * segments + threadIdx.x],
                                             static_cast<unsigned long long>(length / segments), scratch, level_shift);
    if (threadIdx.x == 0) out[range] = crc ^ preset_term ^ 0xFFFFFFFFu;
}
