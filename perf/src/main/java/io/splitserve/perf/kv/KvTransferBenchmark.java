package io.splitserve.perf.kv;

import io.aeron.Aeron;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.splitserve.kvtransfer.KvGeometry;
import io.splitserve.sbe.KvDtype;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.CRC32C;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * KV transfer throughput and latency over Aeron IPC and UDP loopback, measured in one run beside a plain memcpy of
 * the same bytes (and a CRC32C pass, the other per-byte cost of the protocol), so the numbers compare on the same
 * machine and moment. Throughput: 16 MiB and 256 MiB transfers of Llama-3-8B-shaped KV (128 KiB per token), Begin to
 * ack. Latency: 1 MiB transfers back to back, Begin to ack, in an HdrHistogram. Writes a Markdown report.
 */
public final class KvTransferBenchmark
{
    /** The command line {@link #run} takes. */
    public static final String USAGE = BenchmarkOptions.USAGE;
    private static final KvGeometry LLAMA3_8B = new KvGeometry(32, 8, 128, KvDtype.BF16);
    private static final int BIG_TOKENS = 2048;   // 256 MiB
    private static final int MID_TOKENS = 128;    // 16 MiB
    private static final int SMALL_TOKENS = 8;    // 1 MiB
    private static final int MID_REPEATS = 10;
    private static final int PAGE_SIZE = 16;

    private record Setup(String name, String dataChannel, String ackChannel, int mtu)
    {
    }

    private record Throughput(double medianGbps, double bestGbps)
    {
        static Throughput of(final long bytes, final long[] nanos)
        {
            final double[] gbps = Arrays.stream(nanos).mapToDouble(n -> (double)bytes / n).sorted().toArray();
            return new Throughput(gbps[gbps.length / 2], gbps[gbps.length - 1]);
        }
    }

    private record Result(Setup setup, Throughput mid, Throughput big, Histogram latency, double senderCpuNsPerByte,
        double receiverCpuNsPerByte)
    {
    }

    private KvTransferBenchmark()
    {
    }

    /**
     * Runs the benchmark with its command line ({@link BenchmarkOptions#USAGE}); returns the exit status: 0 done, 2 a
     * bad command line, told in one line on {@code err}.
     */
    public static int run(final String[] args, final PrintStream out, final PrintStream err) throws IOException
    {
        final BenchmarkOptions options;
        try
        {
            options = BenchmarkOptions.parse(args);
        }
        catch (final IllegalArgumentException ex)
        {
            err.println("bench kv-transfer: " + ex.getMessage());
            return 2;
        }
        final String report = run(options);
        out.println(report);
        if (options.report != null)
        {
            Files.createDirectories(options.report.toAbsolutePath().getParent());
            Files.writeString(options.report, report);
            out.println("report written to " + options.report);
        }
        return 0;
    }

    private static String run(final BenchmarkOptions options)
    {
        final String loadAtStart = loadAverage();
        final long bigBytes = LLAMA3_8B.totalBytes(BIG_TOKENS);
        final long midBytes = LLAMA3_8B.totalBytes(MID_TOKENS);
        final UnsafeBuffer source = random((int)bigBytes);
        final UnsafeBuffer copy = new UnsafeBuffer(ByteBuffer.allocateDirect((int)bigBytes));
        final Throughput memcpyMid = memcpy(source, copy, (int)midBytes, 20);
        final Throughput memcpyBig = memcpy(source, copy, (int)bigBytes, 5);
        final Throughput crcBig = crc32c(source, (int)bigBytes, 5);
        log("memcpy 16 MiB %.2f GB/s, 256 MiB %.2f GB/s, CRC32C %.2f GB/s",
            memcpyMid.medianGbps, memcpyBig.medianGbps, crcBig.medianGbps);

        final List<Setup> setups = List.of(
            new Setup("IPC, default MTU (1408)", "aeron:ipc", "aeron:ipc", 1408),
            new Setup("IPC, mtu=64k", "aeron:ipc?mtu=65504", "aeron:ipc", 65504),
            new Setup("UDP loopback, defaults", "aeron:udp?endpoint=localhost:40601", "aeron:udp?endpoint=localhost:40602", 1408),
            new Setup("UDP loopback, mtu=64k, 4 MiB socket buffers and window",
                "aeron:udp?endpoint=localhost:40611|mtu=65504|so-sndbuf=4m|so-rcvbuf=4m|rcv-wnd=4m",
                "aeron:udp?endpoint=localhost:40612", 65504));

        final List<Result> results = new ArrayList<>();
        final MediaDriver.Context driverContext = new MediaDriver.Context()
            .aeronDirectoryName(aeronDir())
            .threadingMode(ThreadingMode.SHARED)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true);
        try (MediaDriver driver = MediaDriver.launchEmbedded(driverContext);
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())))
        {
            int streamId = 5000;
            for (final Setup setup : setups)
            {
                if (!options.transport.equals("all") && !setup.dataChannel.startsWith("aeron:" + options.transport))
                {
                    continue;
                }
                try (KvLink link = new KvLink(aeron, setup.dataChannel, setup.ackChannel, streamId += 2, LLAMA3_8B,
                    BIG_TOKENS, PAGE_SIZE))
                {
                    results.add(measure(setup, link, source, options));
                }
            }
        }
        return report(options, loadAtStart, memcpyMid, memcpyBig, crcBig, results);
    }

    private static Result measure(final Setup setup, final KvLink link, final UnsafeBuffer source, final BenchmarkOptions options)
    {
        long requestId = 0;
        // warm-up: one big transfer first maps and touches every term buffer page and the page store, then JIT
        link.transfer(++requestId, BIG_TOKENS, source);
        for (int i = 0; i < 3; i++)
        {
            link.transfer(++requestId, MID_TOKENS, source);
        }
        final long[] mid = new long[MID_REPEATS];
        for (int i = 0; i < mid.length; i++)
        {
            mid[i] = link.transfer(++requestId, MID_TOKENS, source);
        }
        final long[] big = new long[options.bigRepeats];
        long senderCpuNs = 0;
        long receiverCpuNs = 0;
        for (int i = 0; i < big.length; i++)
        {
            big[i] = link.transfer(++requestId, BIG_TOKENS, source);
            senderCpuNs += link.lastSenderCpuNs();
            receiverCpuNs += link.lastReceiverCpuNs();
        }
        final double bigBytesMeasured = (double)LLAMA3_8B.totalBytes(BIG_TOKENS) * big.length;
        final Histogram latency = new Histogram(3_600_000_000_000L, 3);
        for (int i = 0; i < 200; i++)
        {
            link.transfer(++requestId, SMALL_TOKENS, source);
        }
        for (int i = 0; i < options.latencyTransfers; i++)
        {
            latency.recordValue(link.transfer(++requestId, SMALL_TOKENS, source));
        }
        final Result result = new Result(setup,
            Throughput.of(LLAMA3_8B.totalBytes(MID_TOKENS), mid), Throughput.of(LLAMA3_8B.totalBytes(BIG_TOKENS), big), latency,
            senderCpuNs / bigBytesMeasured, receiverCpuNs / bigBytesMeasured);
        log("%s: 16 MiB %.2f GB/s, 256 MiB %.2f GB/s, 1 MiB p50 %.1f us, CPU ns/byte sender %.3f receiver %.3f",
            setup.name, result.mid.medianGbps, result.big.medianGbps, latency.getValueAtPercentile(50) / 1000.0,
            result.senderCpuNsPerByte, result.receiverCpuNsPerByte);
        return result;
    }

    private static Throughput memcpy(final UnsafeBuffer from, final UnsafeBuffer to, final int bytes, final int repeats)
    {
        to.putBytes(0, from, 0, bytes);
        final long[] nanos = new long[repeats];
        for (int i = 0; i < repeats; i++)
        {
            final long start = System.nanoTime();
            to.putBytes(0, from, 0, bytes);
            nanos[i] = System.nanoTime() - start;
        }
        return Throughput.of(bytes, nanos);
    }

    private static Throughput crc32c(final UnsafeBuffer buffer, final int bytes, final int repeats)
    {
        final long[] nanos = new long[repeats];
        final CRC32C crc = new CRC32C();
        for (int i = 0; i < repeats; i++)
        {
            crc.reset();
            final long start = System.nanoTime();
            crc.update(buffer.byteBuffer().slice(0, bytes));
            nanos[i] = System.nanoTime() - start;
        }
        return Throughput.of(bytes, nanos);
    }

    private static UnsafeBuffer random(final int bytes)
    {
        final UnsafeBuffer buffer = new UnsafeBuffer(ByteBuffer.allocateDirect(bytes));
        long state = 0x9E3779B97F4A7C15L;
        for (int i = 0; i + Long.BYTES <= bytes; i += Long.BYTES)
        {
            state ^= state << 13;
            state ^= state >>> 7;
            state ^= state << 17;
            buffer.putLong(i, state);
        }
        return buffer;
    }

    private static String aeronDir()
    {
        final Path shm = Path.of("/dev/shm");
        final Path base = Files.isDirectory(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
        return base.resolve("splitserve-kv-bench-" + ProcessHandle.current().pid()).toString();
    }

    private static String report(
        final BenchmarkOptions options, final String loadAtStart, final Throughput memcpyMid, final Throughput memcpyBig, final Throughput crcBig,
        final List<Result> results)
    {
        final StringBuilder out = new StringBuilder();
        out.append("# KV transfer over Aeron: ").append(options.machine).append("\n\n");
        out.append("- Date: ").append(ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        out.append("- Machine: ").append(cpuModel()).append(", ").append(Runtime.getRuntime().availableProcessors())
            .append(" cores; ").append(System.getProperty("os.name")).append(' ').append(System.getProperty("os.version"))
            .append("; Java ").append(System.getProperty("java.vm.version")).append('\n');
        out.append("- Command: `splitserve bench kv-transfer").append(options.report == null ? "" : " --report " + options.report)
            .append(" --machine ").append(options.machine).append(" --latency-transfers ").append(options.latencyTransfers)
            .append(" --big-repeats ").append(options.bigRepeats).append(" --transport ").append(options.transport)
            .append("`\n");
        out.append("- Load average (1, 5, 15 min) before / after: ").append(loadAtStart).append(" / ").append(loadAverage())
            .append(" (the machine is shared; other work competes for its cores)\n");
        out.append("- KV shape: Llama-3-8B (32 layers, 8 KV heads, head dim 128, bf16: 128 KiB per token); 16 MiB = 128 tokens, ")
            .append("256 MiB = 2048 tokens, 1 MiB = 8 tokens; 1 MiB chunks; receiver pages of 16 tokens.\n");
        out.append("- Setup: one JVM; embedded media driver (SHARED threading, default idle strategy); sender on the main thread, ")
            .append("receiver agent on its own thread, parking up to 1 ms when idle (back-off idle strategy; adds to ")
            .append("small-transfer latency); the sender parks up to 50 us while awaiting an ack; term buffers in ")
            .append("/dev/shm. A transfer is timed from Begin ")
            .append("to the sender receiving the receiver's OK ack, so it includes the scatter into pages and both CRC32C passes.\n");
        out.append("- GB/s is 10^9 bytes per second. Throughput: median and best of ").append(MID_REPEATS)
            .append(" (16 MiB) and ").append(options.bigRepeats).append(" (256 MiB) transfers after warm-up; memcpy is ")
            .append("`UnsafeBuffer.putBytes` between two direct buffers, median and best of 20 / 5.\n\n");

        out.append("## Reference, same run\n\n| what | 16 MiB median | 16 MiB best | 256 MiB median | 256 MiB best |\n|---|---|---|---|---|\n");
        out.append(row("memcpy", memcpyMid, memcpyBig));
        out.append(String.format(Locale.ROOT, "| CRC32C (JDK intrinsic) | | | %.2f GB/s | %.2f GB/s |%n%n", crcBig.medianGbps, crcBig.bestGbps));

        out.append("## Throughput\n\n| transport | 16 MiB median | 16 MiB best | 256 MiB median | 256 MiB best | ")
            .append("256 MiB median vs memcpy |\n|---|---|---|---|---|---|\n");
        for (final Result result : results)
        {
            out.append(String.format(Locale.ROOT, "| %s | %.2f GB/s | %.2f GB/s | %.2f GB/s | %.2f GB/s | %.1f%% |%n",
                result.setup.name, result.mid.medianGbps, result.mid.bestGbps, result.big.medianGbps, result.big.bestGbps,
                100 * result.big.medianGbps / memcpyBig.medianGbps));
        }
        final Result ipc = results.stream().filter(r -> r.setup.dataChannel.startsWith("aeron:ipc")).findFirst().orElse(null);
        if (ipc != null)
        {
            final double medianShare = 100 * ipc.big.medianGbps / memcpyBig.medianGbps;
            out.append(String.format(Locale.ROOT, "%nTarget, IPC at least 50%% of memcpy at 256 MiB (%s): %.1f%% median, ",
                ipc.setup.name, medianShare))
                .append(String.format(Locale.ROOT, "%.1f%% best against the memcpy median: %s in this run.%n",
                    100 * ipc.big.bestGbps / memcpyBig.medianGbps, medianShare >= 50 ? "met" : "not met"));
        }
        out.append("\n## CPU cost per byte (256 MiB transfers; thread CPU time, both sides park when idle)\n\n")
            .append("The machine is shared, so wall-clock rates above depend on what else ran; CPU time per byte does not. ")
            .append("A side whose thread has a core to itself can sustain at most 1 / (its ns per byte) GB/s; the driver ")
            .append("thread (term cleaning for IPC, sockets for UDP) is not included. Where a side mostly waits (the ")
            .append("receiver behind a slow UDP link), its figure is mostly its idle loop (spins and yields before each ")
            .append("park), not work.\n\n")
            .append("| transport | sender ns/byte | receiver ns/byte | sender-alone ceiling | receiver-alone ceiling |\n")
            .append("|---|---|---|---|---|\n");
        for (final Result result : results)
        {
            out.append(String.format(Locale.ROOT, "| %s | %.3f | %.3f | %.1f GB/s | %.1f GB/s |%n", result.setup.name,
                result.senderCpuNsPerByte, result.receiverCpuNsPerByte, 1 / result.senderCpuNsPerByte,
                1 / result.receiverCpuNsPerByte));
        }
        out.append("\n## Latency of 1 MiB transfers (Begin to ack, back to back, ").append(options.latencyTransfers)
            .append(" transfers after 200 warm-up)\n\n| transport | p50 | p90 | p99 | p99.9 | max |\n|---|---|---|---|---|---|\n");
        for (final Result result : results)
        {
            final Histogram h = result.latency;
            out.append(String.format(Locale.ROOT, "| %s | %.1f us | %.1f us | %.1f us | %.1f us | %.1f us |%n",
                result.setup.name, h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(90) / 1e3,
                h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3));
        }
        appendUdpBounds(out, memcpyBig, crcBig, results);
        out.append("\nChannels:\n\n");
        for (final Result result : results)
        {
            out.append("- ").append(result.setup.name).append(": data `").append(result.setup.dataChannel)
                .append("`, acks `").append(result.setup.ackChannel).append("`\n");
        }
        return out.toString();
    }

    // what limits UDP, with the datagram rates this run reached, so the explanation stays tied to the numbers
    private static void appendUdpBounds(
        final StringBuilder out, final Throughput memcpyBig, final Throughput crcBig, final List<Result> results)
    {
        final List<Result> udp = results.stream().filter(r -> r.setup.dataChannel.startsWith("aeron:udp")).toList();
        if (udp.isEmpty())
        {
            return;
        }
        out.append("\n## What bounds UDP\n\n");
        out.append("IPC moves each payload byte through two user-space copies (sender into the shared log buffer, receiver ")
            .append("from it into pages) and two CRC32C passes; on this machine memcpy runs at ")
            .append(String.format(Locale.ROOT, "%.1f GB/s and CRC32C at %.1f GB/s. ", memcpyBig.medianGbps, crcBig.medianGbps))
            .append("UDP adds, for every datagram of at most one MTU, a sendmsg and a recvmsg system call, two more copies ")
            .append("through kernel socket buffers and a pass through the loopback network stack, all executed by the media ")
            .append("driver's one SHARED thread, which competes for the 2 cores with the application's sender and receiver ")
            .append("threads. Flow control bounds the bytes in flight to the receiver window (by default the 128 KiB socket ")
            .append("receive buffer), and a lost frame costs a NAK round trip.\n\n");
        for (final Result result : udp)
        {
            final double datagramsPerSecond = result.big.medianGbps * 1e9 / (result.setup.mtu - 32);
            final double datagramUs = 1e6 / datagramsPerSecond;
            final double copyUs = (result.setup.mtu - 32) / (memcpyBig.medianGbps * 1e3);
            out.append(String.format(Locale.ROOT, "- %s: %.2f GB/s at 256 MiB is %.0f datagrams/s of %d bytes, ",
                result.setup.name, result.big.medianGbps, datagramsPerSecond, result.setup.mtu))
                .append(String.format(Locale.ROOT, "%.1f us per datagram; the four copies of its payload (two in user ",
                    datagramUs))
                .append(String.format(Locale.ROOT, "space, two through the kernel) at memcpy speed take %.1f us of that ",
                    4 * copyUs))
                .append(String.format(Locale.ROOT, "(%.0f%%).%n", 100 * 4 * copyUs / datagramUs));
        }
        out.append("\nWhat the copies do not explain is per-datagram work: system calls, the loopback stack, Aeron ")
            .append("framing and status messages, and the driver thread waiting for a core. It dominates with the default ")
            .append("MTU, which is why a 64 KiB MTU (47 times fewer datagrams) with socket buffers and a window large ")
            .append("enough to keep several datagrams in flight helps most; then the copies become a large share. Across ")
            .append("hosts the NIC's line rate and the network MTU (1500, or 9000 with jumbo frames) bound it as well.\n");
    }

    private static String row(final String what, final Throughput mid, final Throughput big)
    {
        return String.format(Locale.ROOT, "| %s | %.2f GB/s | %.2f GB/s | %.2f GB/s | %.2f GB/s |%n",
            what, mid.medianGbps, mid.bestGbps, big.medianGbps, big.bestGbps);
    }

    private static String cpuModel()
    {
        try
        {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(line -> line.startsWith("model name"))
                .findFirst().map(line -> line.substring(line.indexOf(':') + 1).trim()).orElse("unknown CPU");
        }
        catch (final IOException ex)
        {
            return "unknown CPU";
        }
    }

    private static String loadAverage()
    {
        try
        {
            final String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split(" ");
            return fields[0] + " " + fields[1] + " " + fields[2];
        }
        catch (final IOException ex)
        {
            return "unknown";
        }
    }

    private static void log(final String format, final Object... args)
    {
        System.err.println(String.format(Locale.ROOT, format, args));
    }
}
