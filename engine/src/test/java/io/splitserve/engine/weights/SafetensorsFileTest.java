package io.splitserve.engine.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitserve.model.ModelLoadException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The safetensors reader on good files (f32, bf16, f16, metadata, past 2 GiB) and on every corrupt-file case. */
class SafetensorsFileTest {
    @TempDir
    Path dir;

    /** Writes {@code header} (JSON text) behind its length, then {@code dataBytes} bytes of data. */
    private Path raw(String header, int dataBytes) throws IOException {
        return rawWithLength(header, header.getBytes(StandardCharsets.UTF_8).length, dataBytes);
    }

    private Path rawWithLength(String header, long declaredLength, int dataBytes) throws IOException {
        final byte[] json = header.getBytes(StandardCharsets.UTF_8);
        final ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(json);
        final Path file = dir.resolve("t.safetensors");
        Files.write(file, b.array());
        return file;
    }

    private String failure(Path file) {
        return assertThrows(ModelLoadException.class, () -> SafetensorsFile.open(file)).getMessage();
    }

    @Test
    void writerAndReaderRoundTripF32ExactlyAndBf16Rounded() throws Exception {
        final float[] a = {1f, -2.5f, 3.1415927f, 1e-3f, 65504f, -0f};
        final Path file = dir.resolve("ok.safetensors");
        new SafetensorsWriter()
                .add("a", DType.F32, new long[] {2, 3}, a)
                .add("b", DType.BF16, new long[] {6}, a)
                .metadata("format", "pt")
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals("pt", f.metadata().get("format"));
            assertEquals(2, f.tensors().size(), "__metadata__ is not a tensor");
            assertArrayEquals(new long[] {2, 3}, f.tensors().get("a").shape());
            assertArrayEquals(a, f.readFloats(f.tensors().get("a")));
            final float[] b = f.readFloats(f.tensors().get("b"));
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], Math.abs(a[i]) / 128, "bf16 keeps 8 significant bits");
                assertEquals(Fp32Conversion.bf16ToFloat(Fp32Conversion.floatToBf16(a[i])), b[i]);
            }
            assertEquals(3.140625f, b[2], "3.1415927 rounds to the nearest bf16");
        }
        assertEquals(0, (Files.size(file) - 8 - (6 * 4 + 6 * 2)) % 8, "header padded to 8 bytes");
    }

    @Test
    void readsF16IncludingSubnormalsInfinityAndNaN() throws Exception {
        final short[] halves = {0x3c00, (short) 0xc000, 0x0001, 0x7bff, 0x7c00, (short) 0xfc00, 0x7e00, (short) 0x8000};
        final ByteBuffer data = ByteBuffer.allocate(halves.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short h : halves) {
            data.putShort(h);
        }
        final String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[0,16]}}";
        final Path file = raw(header, 0);
        Files.write(file, data.array(), StandardOpenOption.APPEND);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            final float[] v = f.readFloats(f.tensors().get("h"));
            assertEquals(1f, v[0]);
            assertEquals(-2f, v[1]);
            assertEquals(0x1p-24f, v[2], "smallest subnormal");
            assertEquals(65504f, v[3], "largest finite");
            assertEquals(Float.POSITIVE_INFINITY, v[4]);
            assertEquals(Float.NEGATIVE_INFINITY, v[5]);
            assertTrue(Float.isNaN(v[6]));
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(v[7]), "negative zero");
        }
    }

    /** A tensor stored beyond 2 GiB (in a sparse file) reads through a later mapping window. */
    @Test
    void readsTensorsPastTwoGibibytes() throws Exception {
        final long padBytes = (1L << 31) + 4096; // one F32 tensor of zeros, never read
        final String header = "{\"pad\":{\"dtype\":\"F32\",\"shape\":[" + padBytes / 4 + "],\"data_offsets\":[0,"
                + padBytes + "]},\"tail\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + padBytes + ","
                + (padBytes + 8) + "]}}";
        final Path file = raw(header, 0);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            final long tail = f.length() + padBytes;
            f.setLength(tail + 8); // sparse: no data written for the pad
            f.seek(tail);
            final ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-7f);
            f.write(b.array());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.tensors().get("tail").begin() > Integer.MAX_VALUE);
            assertArrayEquals(new float[] {1.5f, -7f}, f.readFloats(f.tensors().get("tail")));
        }
    }

    @Test
    void missingFileIsReportedByName() {
        assertEquals(dir.resolve("nope.safetensors") + ": file not found", failure(dir.resolve("nope.safetensors")));
    }

    @Test
    void fileShorterThanTheHeaderLengthIsTruncated() throws Exception {
        final Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[] {1, 2, 3});
        assertTrue(failure(file).endsWith("truncated: 3 bytes, shorter than the 8-byte header length"));
    }

    @Test
    void headerLengthPastTheEndOfTheFileIsRejected() throws Exception {
        final String header = "{}";
        assertTrue(failure(rawWithLength(header, 1000, 0)).endsWith(
                "header length 1000 runs past the end of the file (10 bytes)"));
        assertTrue(failure(rawWithLength(header, -5, 0)).contains("header length -5"), "negative length");
    }

    @Test
    void headerThatIsNotJsonIsRejected() throws Exception {
        assertTrue(failure(raw("{\"a\": [1, 2", 0)).contains("corrupt header: not valid JSON"));
        assertTrue(failure(raw("[1, 2]", 0)).endsWith("corrupt header: not a JSON object"));
    }

    @Test
    void entryWithoutOffsetsIsRejected() throws Exception {
        final String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}";
        assertTrue(failure(raw(header, 4)).endsWith("tensor 'w' needs a dtype, a shape and two data_offsets"));
    }

    @Test
    void unsupportedDtypeIsNamed() throws Exception {
        final String header = "{\"w\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}";
        assertTrue(failure(raw(header, 4)).endsWith("tensor 'w' has unsupported dtype I8 (supported: F32, F16, BF16)"));
    }

    @Test
    void offsetsPastTheDataSectionAreOutOfRange() throws Exception {
        // the header promises 16 bytes, the file holds 8: a truncated download
        final String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        assertTrue(failure(raw(header, 8)).endsWith("tensor 'w' data offsets [0, 16] are out of range of the 8-byte"
                + " data section"));
        final String backwards = "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}";
        assertTrue(failure(raw(backwards, 8)).contains("data offsets [8, 4] are out of range"));
    }

    @Test
    void sizeNotMatchingShapeTimesDtypeIsRejected() throws Exception {
        final String header = "{\"w\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[0,8]}}";
        assertTrue(failure(raw(header, 8)).endsWith("tensor 'w' holds 8 bytes but shape [2,3] of BF16 needs 12"));
    }

    @Test
    void overlappingTensorsAreRejected() throws Exception {
        final String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertTrue(failure(raw(header, 12)).endsWith("tensors 'a' and 'b' overlap"));
    }

    @Test
    void negativeShapeIsRejected() throws Exception {
        final String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}";
        assertTrue(failure(raw(header, 4)).contains("tensor 'w' has a bad shape [-1]"));
    }

    @Test
    void shapeWhoseSizeOverflowsIsRejected() throws Exception {
        final String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}";
        assertTrue(failure(raw(header, 4))
                .endsWith("tensor 'w' has an impossibly large shape [4294967296,4294967296]"));
    }

    @Test
    void messagesAreOneLine() throws Exception {
        assertFalse(failure(raw("{\"a\": [1, 2", 0)).contains("\n"));
    }
}
