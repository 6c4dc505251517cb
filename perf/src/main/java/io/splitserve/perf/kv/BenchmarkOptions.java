package io.splitserve.perf.kv;

import java.nio.file.Path;

/**
 * Command-line options of {@link KvTransferBenchmark}. Parsing fails with a one-line message meant for the user.
 */
final class BenchmarkOptions
{
    static final String USAGE =
        "usage: splitserve bench kv-transfer [--machine NAME] [--report FILE.md] [--latency-transfers N] [--big-repeats N] [--transport all|ipc|udp]";

    String machine = "local";
    Path report;
    int latencyTransfers = 2000;
    int bigRepeats = 5;
    String transport = "all";

    /**
     * @throws IllegalArgumentException with a one-line explanation when the arguments are wrong.
     */
    static BenchmarkOptions parse(final String[] args)
    {
        final BenchmarkOptions options = new BenchmarkOptions();
        for (int i = 0; i < args.length; i++)
        {
            final String arg = args[i];
            if ("--help".equals(arg) || "-h".equals(arg))
            {
                throw new IllegalArgumentException(USAGE);
            }
            if (i + 1 >= args.length)
            {
                throw new IllegalArgumentException("missing value after " + arg + "; " + USAGE);
            }
            final String value = args[++i];
            switch (arg)
            {
                case "--machine":
                    options.machine = value;
                    break;
                case "--report":
                    options.report = Path.of(value);
                    break;
                case "--latency-transfers":
                    options.latencyTransfers = OptionValues.positiveWholeNumber(arg, value);
                    break;
                case "--big-repeats":
                    options.bigRepeats = OptionValues.positiveWholeNumber(arg, value);
                    break;
                case "--transport":
                    if (!value.equals("all") && !value.equals("ipc") && !value.equals("udp"))
                    {
                        throw new IllegalArgumentException("--transport is all, ipc or udp, got '" + value + "'");
                    }
                    options.transport = value;
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + arg + "; " + USAGE);
            }
        }
        return options;
    }
}
