package io.splitserve.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.splitserve.sbe.MessageHeaderDecoder;
import io.splitserve.sbe.NodeRole;
import io.splitserve.sbe.PrefillRequestDecoder;
import java.nio.file.Path;
import java.util.List;
import org.agrona.CloseHelper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The PrefillRequest the router's {@link NodeProxy} encodes, read back off Aeron IPC by the prefill node's decoder:
 * the decode node's KV endpoint bytes from its NodeHello arrive unchanged (every byte value, at the size limit),
 * beside the prompt and the decode node's KV channels.
 */
@Timeout(60)
class NodeProxyTest {
    @Test
    void decodeNodesKvEndpointFromItsHelloReachesThePrefillRequestUnchanged() {
        final String dir = Path.of("target", "aeron", "node-proxy-" + System.nanoTime()).toAbsolutePath().toString();
        final MediaDriver driver = MediaDriver.launchEmbedded(new MediaDriver.Context().aeronDirectoryName(dir)
                .threadingMode(ThreadingMode.SHARED).dirDeleteOnStart(true).dirDeleteOnShutdown(true)
                .ipcTermBufferLength(1024 * 1024));
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(dir));
        final NodeRegistry registry = new NodeRegistry("demo", 1_000,
                (channel, streamId) -> new NodeProxy(aeron.addExclusivePublication(channel, streamId), 1L, null));
        try {
            final Subscription prefillControl = aeron.addSubscription("aeron:ipc", 10_001);
            final byte[] endpoint = new byte[NodeRegistry.MAX_KV_ENDPOINT_BYTES];
            for (int i = 0; i < endpoint.length; i++) {
                endpoint[i] = (byte) i; // every byte value, zero included
            }
            registry.onHello(1, 11, NodeRole.PREFILL, 0, 4, "demo", "aeron:ipc", 10_001, "", 0, "", 0, new byte[0], 0);
            registry.onHello(101, 12, NodeRole.DECODE, 64, 4, "demo", "aeron:ipc", 20_101, "aeron:ipc?alias=kv",
                    30_101, "aeron:ipc?alias=ack", 40_101, endpoint, 0);
            final NodeState prefill = registry.node(1);
            while (!prefill.commands.isConnected()) {
                Thread.onSpinWait();
            }
            final int[] prompt = {3, 1, 4, 1, 5, 9, 2, 6};
            final ValidatedRequest request = new ValidatedRequest(prompt, 5, 0f, 1f, 0, 0, List.of(), new int[0]);
            assertTrue(prefill.commands.prefill(77, -0x1234_5678_9ABCL, registry.node(101), prompt, 5, request, 2, 4));

            final PrefillRequestDecoder decoded = new PrefillRequestDecoder();
            final byte[][] received = new byte[3][];
            final String[] channels = new String[2];
            final FragmentAssembler assembler = new FragmentAssembler((buffer, offset, length, header) -> {
                final MessageHeaderDecoder h = new MessageHeaderDecoder().wrap(buffer, offset);
                assertEquals(PrefillRequestDecoder.TEMPLATE_ID, h.templateId());
                decoded.wrapAndApplyHeader(buffer, offset, h);
                assertEquals(77, decoded.requestId());
                assertEquals(101, decoded.decodeNodeId());
                assertEquals(2, decoded.sampledTokens());
                assertEquals(4, decoded.decodeCachedTokens());
                assertEquals(-0x1234_5678_9ABCL, decoded.attemptToken());
                channels[0] = decoded.decodeKvChannel();
                received[0] = new byte[decoded.promptTokensLength()];
                decoded.getPromptTokens(received[0], 0, received[0].length);
                channels[1] = decoded.decodeKvAckChannel();
                received[1] = new byte[decoded.decodeKvEndpointLength()];
                decoded.getDecodeKvEndpoint(received[1], 0, received[1].length);
                received[2] = new byte[0];
            });
            while (received[2] == null) {
                prefillControl.poll(assembler, 1);
            }
            assertEquals("aeron:ipc?alias=kv", channels[0]);
            assertEquals(prompt.length * Integer.BYTES, received[0].length);
            assertEquals("aeron:ipc?alias=ack", channels[1]);
            assertArrayEquals(endpoint, received[1]);
        } finally {
            CloseHelper.closeAll(registry, aeron, driver);
        }
    }
}
