package io.splitserve.perf.jmh;

import io.splitserve.sbe.FinishReason;
import io.splitserve.sbe.KvChunkDecoder;
import io.splitserve.sbe.KvChunkEncoder;
import io.splitserve.sbe.KvPart;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.MessageHeaderEncoder;
import io.splitserve.sbe.TokenEventDecoder;
import io.splitserve.sbe.TokenEventEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of the SBE codecs on the hottest wire messages: a TokenEvent (one per generated token, with its text, through
 * the router) and a KvChunk header (one per KV chunk; the payload itself is a copy measured elsewhere). Encoding
 * writes the message header and every field into a direct buffer; decoding reads them all back, as the adapters do.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SbeCodecBenchmark {
    private final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final UnsafeBuffer tokenMessage = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final UnsafeBuffer chunkMessage = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final TokenEventEncoder tokenEncoder = new TokenEventEncoder();
    private final TokenEventDecoder tokenDecoder = new TokenEventDecoder();
    private final KvChunkEncoder chunkEncoder = new KvChunkEncoder();
    private final KvChunkDecoder chunkDecoder = new KvChunkDecoder();
    private final byte[] text = " serving".getBytes(StandardCharsets.UTF_8);
    private final byte[] textOut = new byte[64];
    private long requestId = 1;

    @Setup
    public void encodeSamples() {
        encode(tokenMessage, tokenEncoder);
        chunkEncoder.wrapAndApplyHeader(chunkMessage, 0, headerEncoder).requestId(7).layer(3).part(KvPart.V)
                .tokenOffset(512).tokenCount(256).putPayload(new byte[0], 0, 0);
    }

    private int encode(UnsafeBuffer target, TokenEventEncoder encoder) {
        encoder.wrapAndApplyHeader(target, 0, headerEncoder).requestId(requestId++).index(42).tokenId(12345)
                .finishReason(FinishReason.NONE).timestampNanos(1_790_000_000_000_000_000L).logprob(-0.25f)
                .clientId(99).promptTokens(600).putText(text, 0, text.length);
        return MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength();
    }

    @Benchmark
    public int tokenEventEncode() {
        return encode(buffer, tokenEncoder);
    }

    @Benchmark
    public long tokenEventDecode() {
        headerDecoder.wrap(tokenMessage, 0);
        tokenDecoder.wrapAndApplyHeader(tokenMessage, 0, headerDecoder);
        long sum = tokenDecoder.requestId() + tokenDecoder.index() + tokenDecoder.tokenId()
                + tokenDecoder.finishReason().value() + tokenDecoder.timestampNanos() + (long) tokenDecoder.logprob()
                + tokenDecoder.clientId() + tokenDecoder.promptTokens();
        return sum + tokenDecoder.getText(textOut, 0, textOut.length);
    }

    @Benchmark
    public int kvChunkHeaderEncode() {
        chunkEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder).requestId(requestId++).layer(3).part(KvPart.V)
                .tokenOffset(512).tokenCount(256);
        return MessageHeaderEncoder.ENCODED_LENGTH + chunkEncoder.encodedLength();
    }

    @Benchmark
    public long kvChunkHeaderDecode() {
        headerDecoder.wrap(chunkMessage, 0);
        chunkDecoder.wrapAndApplyHeader(chunkMessage, 0, headerDecoder);
        return chunkDecoder.requestId() + chunkDecoder.layer() + chunkDecoder.part().value()
                + chunkDecoder.tokenOffset() + chunkDecoder.tokenCount() + chunkDecoder.payloadLength();
    }
}
