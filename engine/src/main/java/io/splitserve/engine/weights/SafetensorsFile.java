package io.splitserve.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitserve.model.ModelLoadException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One safetensors file, read by the project: an 8-byte little-endian header length, a JSON header (tensor name to
 * dtype, shape and data offsets, plus an optional {@code __metadata__} string map), then the data section.
 *
 * <p>Opening validates the whole header before any tensor is read: the header lies inside the file, every tensor's
 * byte range lies inside the data section, matches its shape times its dtype size, and no two ranges overlap. Tensor
 * data is memory-mapped in windows of at most {@link #WINDOW_BYTES}, so files (and tensors) over 2 GiB read like
 * small ones; data is converted to fp32 as it is read.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest mapping made at once; a multiple of every dtype size, so no element straddles two windows. */
    static final long WINDOW_BYTES = 1L << 30;
    private static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) throws ModelLoadException {
        final FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelLoadException(path + ": file not found");
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot open: " + e.getMessage(), e);
        }
        try {
            return parse(path, channel);
        } catch (ModelLoadException | RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static SafetensorsFile parse(Path path, FileChannel channel) throws ModelLoadException {
        final long fileSize;
        final byte[] header;
        try {
            fileSize = channel.size();
            if (fileSize < 8) {
                throw new ModelLoadException(path + ": truncated: " + fileSize
                        + " bytes, shorter than the 8-byte header length");
            }
            final ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            final long headerLength = lengthBytes.getLong(0);
            if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileSize) {
                throw new ModelLoadException(path + ": corrupt or truncated: header length " + headerLength
                        + " runs past the end of the file (" + fileSize + " bytes)");
            }
            final ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(channel, headerBytes, 8);
            header = headerBytes.array();
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot read: " + e.getMessage(), e);
        }
        final JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (IOException e) {
            throw new ModelLoadException(path + ": corrupt header: not valid JSON (" + firstLine(e.getMessage()) + ")");
        }
        if (root == null || !root.isObject()) {
            throw new ModelLoadException(path + ": corrupt header: not a JSON object");
        }
        final long dataStart = 8 + header.length;
        final long dataSize = fileSize - dataStart;
        final Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        final Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            final Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals("__metadata__")) {
                field.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
            } else {
                tensors.put(field.getKey(), parseEntry(path, field.getKey(), field.getValue(), dataSize));
            }
        }
        checkNoOverlap(path, tensors);
        return new SafetensorsFile(path, channel, dataStart, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode entry, long dataSize)
            throws ModelLoadException {
        final JsonNode dtypeNode = entry.get("dtype");
        final JsonNode shapeNode = entry.get("shape");
        final JsonNode offsetsNode = entry.get("data_offsets");
        if (dtypeNode == null || !dtypeNode.isTextual() || shapeNode == null || !shapeNode.isArray()
                || offsetsNode == null || !offsetsNode.isArray() || offsetsNode.size() != 2
                || !offsetsNode.get(0).canConvertToLong() || !offsetsNode.get(1).canConvertToLong()) {
            throw new ModelLoadException(path + ": corrupt header: tensor '" + name
                    + "' needs a dtype, a shape and two data_offsets");
        }
        final DType dtype = DType.fromHeaderName(dtypeNode.asText());
        if (dtype == null) {
            throw new ModelLoadException(path + ": tensor '" + name + "' has unsupported dtype " + dtypeNode.asText()
                    + " (supported: F32, F16, BF16)");
        }
        final long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            final JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new ModelLoadException(path + ": corrupt header: tensor '" + name + "' has a bad shape "
                        + shapeNode);
            }
            shape[i] = d.asLong();
        }
        final long expectedBytes;
        try {
            long elements = 1;
            for (long dim : shape) {
                elements = Math.multiplyExact(elements, dim);
            }
            expectedBytes = Math.multiplyExact(elements, (long) dtype.bytes());
        } catch (ArithmeticException e) {
            throw new ModelLoadException(path + ": corrupt header: tensor '" + name + "' has an impossibly large shape "
                    + shapeNode);
        }
        final long begin = offsetsNode.get(0).asLong();
        final long end = offsetsNode.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new ModelLoadException(path + ": corrupt or truncated: tensor '" + name + "' data offsets [" + begin
                    + ", " + end + "] are out of range of the " + dataSize + "-byte data section");
        }
        if (end - begin != expectedBytes) {
            throw new ModelLoadException(path + ": corrupt header: tensor '" + name + "' holds " + (end - begin)
                    + " bytes but shape " + shapeNode + " of " + dtype + " needs " + expectedBytes);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static void checkNoOverlap(Path path, Map<String, TensorInfo> tensors) throws ModelLoadException {
        final List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin));
        for (int i = 1; i < byOffset.size(); i++) {
            final TensorInfo previous = byOffset.get(i - 1);
            final TensorInfo current = byOffset.get(i);
            if (current.begin() < previous.end()) {
                throw new ModelLoadException(path + ": corrupt header: tensors '" + previous.name() + "' and '"
                        + current.name() + "' overlap");
            }
        }
    }

    public Path path() {
        return path;
    }

    /** Tensors in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor's elements as fp32, row-major, converted from its stored dtype. */
    public float[] readFloats(TensorInfo tensor) throws ModelLoadException {
        final long count = tensor.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelLoadException(path + ": tensor '" + tensor.name() + "' has " + count
                    + " elements, more than one fp32 array holds");
        }
        final float[] out = new float[(int) count];
        int written = 0;
        long position = dataStart + tensor.begin();
        final long end = dataStart + tensor.end();
        try {
            while (position < end) {
                final long length = Math.min(WINDOW_BYTES, end - position);
                final MappedByteBuffer window = channel.map(FileChannel.MapMode.READ_ONLY, position, length);
                window.order(ByteOrder.LITTLE_ENDIAN);
                written = convert(window, tensor.dtype(), out, written);
                position += length;
            }
        } catch (IOException e) {
            throw new ModelLoadException(path + ": cannot read tensor '" + tensor.name() + "': " + e.getMessage(), e);
        }
        return out;
    }

    private static int convert(ByteBuffer window, DType dtype, float[] out, int offset) {
        int i = offset;
        switch (dtype) {
            case F32:
                final int floats = window.remaining() / 4;
                window.asFloatBuffer().get(out, offset, floats);
                return offset + floats;
            case BF16:
                while (window.hasRemaining()) {
                    out[i++] = Fp32Conversion.bf16ToFloat(window.getShort());
                }
                return i;
            case F16:
                while (window.hasRemaining()) {
                    out[i++] = Fp32Conversion.f16ToFloat(window.getShort());
                }
                return i;
            default:
                throw new IllegalStateException("unhandled dtype " + dtype);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            final int n = channel.read(buffer, at);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            at += n;
        }
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        final int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // the open failed already; that failure is the one reported
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }
}
