/**
 * The CUDA backend's op set: JCuda driver-API plumbing, the cuBLAS JNI bridge, and one typed launcher per kernel
 * family of {@code src/main/cuda}, each matching its CPU reference op in {@code io.splitserve.kernels.cpu}.
 *
 * <p>Start-up: {@link io.splitserve.kernels.cuda.CudaDevice#unavailableReason()} says in one line why the backend
 * cannot run (kernels not built because nvcc was absent, no driver, no device), or null;
 * {@link io.splitserve.kernels.cuda.CudaDevice#open(int)} binds the GPU's primary context to the calling thread,
 * which then owns all GPU work (launchers keep reusable parameter blocks and are not thread-safe).
 *
 * <p>Conventions: tensors are row-major bf16 unless stated (logits fp32); launchers take raw device addresses
 * ({@link io.splitserve.kernels.cuda.DeviceBuffer#address(long)}), so Q, K and V may live inside one fused QKV
 * buffer with a token stride; the KV pool of a layer is {@code [pages][pageSize][kvHeads][headDim]} for K and for
 * V, slot = page * pageSize + offset. Every launch is asynchronous on a {@link io.splitserve.kernels.cuda.CudaStream}
 * and reads what changes per step (token ids, positions, slots, lengths, block tables, sampling parameters, RNG
 * counters) from device memory, so a step can be captured once per shape bucket with
 * {@link io.splitserve.kernels.cuda.CudaGraph} and replayed.
 *
 * <p>Same-host KV moves: {@link io.splitserve.kernels.cuda.CudaIpc} maps another process's device buffer,
 * {@link io.splitserve.kernels.cuda.CudaStream#copyDeviceToDevice} copies between any unified addresses,
 * {@link io.splitserve.kernels.cuda.Crc32cKernel} checksums device ranges exactly as {@link java.util.zip.CRC32C},
 * and {@link io.splitserve.kernels.cuda.HostIdentity} tells whether two processes share a machine.
 *
 * <p>Sampling differs from the CPU sampler only where it may: draws come from a per-sequence counter-based hash
 * (seed, counter, token) through the Gumbel-max rule, so they are reproducible on the GPU but not token-identical
 * to the CPU generator, and a top-k cut keeps every token tied with the k-th.
 */
package io.splitserve.kernels.cuda;
