package io.splitserve.kernels.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

/**
 * What of the CRC32C kernel can be checked without a GPU: its table of x^(2^k) mod P, written into crc32c.cu as
 * literals, equals the table computed here from the polynomial; and the launcher's blocks-per-range choice.
 */
class Crc32cKernelTest {
    private static final int POLY = 0x82F63B78;

    @Test
    void powerTableInTheCudaSourceIsXToThePowersOfTwoModP() throws IOException {
        String source = Files.readString(Path.of("src/main/cuda/crc32c.cu"));
        Matcher table = Pattern.compile("X_POW_2K\\[32\\] = \\{([^}]*)\\}").matcher(source);
        assertEquals(true, table.find(), "crc32c.cu declares X_POW_2K[32] = {...}");
        String[] literals = table.group(1).split(",");
        assertEquals(32, literals.length);
        int power = 0x40000000;  // x^1, reflected
        for (int k = 0; k < 32; k++) {
            int literal = Integer.parseUnsignedInt(literals[k].trim().replace("0x", "").replace("u", ""), 16);
            assertEquals(power, literal, "x^(2^" + k + ") mod P");
            power = multiplyModP(power, power);
        }
    }

    @Test
    void blocksPerRangeIsAPowerOfTwoWithinTheTargetAndTheCap() {
        assertEquals(256, Crc32cKernel.blocksPerRange(1, 528));
        assertEquals(256, Crc32cKernel.blocksPerRange(2, 528));
        assertEquals(128, Crc32cKernel.blocksPerRange(3, 528));
        assertEquals(8, Crc32cKernel.blocksPerRange(64, 528));
        assertEquals(1, Crc32cKernel.blocksPerRange(600, 528));
        assertThrows(IllegalArgumentException.class, () -> Crc32cKernel.blocksPerRange(0, 528));
    }

    /** a * b mod P in reflected form (bit 31 is x^0), as zlib's multmodp. */
    private static int multiplyModP(int a, int b) {
        int product = 0;
        for (int i = 0; i < 32; i++) {
            if (a < 0) {
                product ^= b;
            }
            a <<= 1;
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
        return product;
    }
}
