package io.splitserve.engine.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes fp32 arrays as a safetensors file, stored as F32 or BF16 (rounded to nearest even). Tensors are laid out
 * in the order they were added; the JSON header is padded with spaces to a multiple of 8 bytes so the data section
 * stays aligned, as the format recommends.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Entry(DType dtype, long[] shape, float[] data) {
    }

    private final Map<String, Entry> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafetensorsWriter add(String name, DType dtype, long[] shape, float[] data) {
        if (dtype == DType.F16) {
            throw new IllegalArgumentException("the writer stores F32 or BF16, not F16");
        }
        long elements = 1;
        for (long d : shape) {
            elements *= d;
        }
        if (elements != data.length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape holds " + elements + " elements, data "
                    + data.length);
        }
        if (name.equals("__metadata__") || tensors.putIfAbsent(name, new Entry(dtype, shape.clone(), data)) != null) {
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already added");
        }
        return this;
    }

    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public void write(Path path) throws IOException {
        final ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            final ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            final Entry t = e.getValue();
            final ObjectNode node = header.putObject(e.getKey());
            node.put("dtype", t.dtype().name());
            final ArrayNode shape = node.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            final long bytes = (long) t.data().length * t.dtype().bytes();
            node.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        final byte[] json = JSON.writeValueAsBytes(header);
        final int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = Files.newOutputStream(path)) {
            final ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(padded).put(json);
            while (prefix.hasRemaining()) {
                prefix.put((byte) ' ');
            }
            out.write(prefix.array());
            for (Entry t : tensors.values()) {
                out.write(encode(t));
            }
        }
    }

    private static byte[] encode(Entry t) {
        final ByteBuffer buffer = ByteBuffer.allocate(t.data().length * t.dtype().bytes())
                .order(ByteOrder.LITTLE_ENDIAN);
        if (t.dtype() == DType.F32) {
            buffer.asFloatBuffer().put(t.data());
        } else {
            for (float v : t.data()) {
                buffer.putShort(Fp32Conversion.floatToBf16(v));
            }
        }
        return buffer.array();
    }
}
