package io.splitserve.perf.load;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG plots of load runs, drawn headless with XChart: latency percentile curves (the HdrHistogram view: the x axis is
 * log10 of 1/(1-percentile), so P90, P99 and P99.9 are evenly spaced and the tail gets as much room as the median), throughput over time, and a rate
 * sweep's goodput and SLO attainment against offered rate.
 */
public final class Charts {
    private static final int WIDTH = 1000;
    private static final int HEIGHT = 600;
    /** Percentile curves stop at P99.99 (tail factor 10^4): beyond it a run has too few samples to plot. */
    private static final double MAX_TAIL = 10_000;
    /** Floor of the log latency axis: tokens delivered in one burst have inter-token gaps near zero. */
    private static final double MIN_PLOTTED_MS = 0.01;

    static {
        System.setProperty("java.awt.headless", "true");
    }

    /** Why drawing failed once in this JVM (then every later plot is skipped), or null. */
    private static volatile String unavailable;

    private Charts() {}

    /** TTFT, TPOT, inter-token and end-to-end latency against percentile, log-log, in milliseconds. */
    public static boolean latencyPercentiles(RunResult run, Path png) {
        final XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Latency by percentile: " + run.label())
                .xAxisTitle("percentile as log10(1/(1-p)): 1 = P90, 2 = P99, 3 = P99.9, 4 = P99.99")
                .yAxisTitle("latency (ms)")
                .build();
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        double maxX = 0;
        maxX = Math.max(maxX, addPercentileSeries(chart, "TTFT", run.ttft()));
        maxX = Math.max(maxX, addPercentileSeries(chart, "TPOT", run.tpot()));
        maxX = Math.max(maxX, addPercentileSeries(chart, "inter-token", run.itl()));
        maxX = Math.max(maxX, addPercentileSeries(chart, "end-to-end", run.e2e()));
        if (maxX > 0) {
            // whole decades on the axis (and never an empty range, which XChart cannot divide into ticks)
            chart.getStyler().setXAxisMin(0.0);
            chart.getStyler().setXAxisMax(Math.max(1, Math.ceil(maxX)));
            return save(chart, png);
        }
        return false;
    }

    /** Adds the curve of {@code h} if it has samples; returns its largest x (0 when nothing was added). */
    private static double addPercentileSeries(XYChart chart, String name, Histogram h) {
        if (h.getTotalCount() == 0) {
            return 0;
        }
        final List<Double> x = new ArrayList<>();
        final List<Double> y = new ArrayList<>();
        // the curve ends at the max, placed where the sample count stops resolving percentiles (1/(1-p) = count)
        final double end = Math.log10(Math.min(MAX_TAIL, Math.max(10, h.getTotalCount())));
        for (HistogramIterationValue v : h.percentiles(5)) {
            final double tail = Math.log10(1 / (1 - v.getPercentileLevelIteratedTo() / 100.0));
            if (!(tail < end)) {
                break;
            }
            x.add(tail);
            y.add(Math.max(MIN_PLOTTED_MS, h.highestEquivalentValue(v.getValueIteratedTo()) / 1e6));
        }
        x.add(end);
        y.add(Math.max(MIN_PLOTTED_MS, h.highestEquivalentValue(h.getMaxValue()) / 1e6));
        final XYSeries series = chart.addSeries(name, x, y);
        series.setMarker(SeriesMarkers.NONE);
        return Math.max(x.get(x.size() - 1), 1e-3);
    }

    /** Generated tokens per second and completed requests per second, second by second. */
    public static boolean throughputOverTime(RunResult run, Path png) {
        final int n = run.tokensPerSecond().length;
        if (n == 0) {
            return false;
        }
        final double[] seconds = new double[n];
        final double[] tokens = new double[n];
        final double[] requests = new double[n];
        for (int i = 0; i < n; i++) {
            seconds[i] = i;
            tokens[i] = run.tokensPerSecond()[i];
            requests[i] = run.completionsPerSecond()[i];
        }
        final XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Throughput over time: " + run.label()).xAxisTitle("time since start (s)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setXAxisMin(0.0);
        chart.getStyler().setXAxisMax((double) Math.max(1, n - 1));
        chart.setYAxisGroupTitle(0, "generated tokens/s");
        chart.setYAxisGroupTitle(1, "completed requests/s");
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.addSeries("generated tokens/s", seconds, tokens).setMarker(SeriesMarkers.NONE);
        final XYSeries completions = chart.addSeries("completed requests/s", seconds, requests);
        completions.setMarker(SeriesMarkers.NONE);
        completions.setYAxisGroup(1);
        return save(chart, png);
    }

    /** Goodput and throughput (requests/s) and SLO attainment (%) against the offered rate of each sweep run. */
    public static boolean sweep(List<RunResult> runs, Path png) {
        final double[] rate = runs.stream().mapToDouble(RunResult::offeredRate).toArray();
        final XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
                .title("Rate sweep: goodput and SLO attainment").xAxisTitle("offered rate (requests/s)").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setXAxisMin(0.0);
        chart.getStyler().setXAxisMax(Arrays.stream(rate).max().orElse(1) * 1.05);
        chart.setYAxisGroupTitle(0, "requests/s");
        chart.setYAxisGroupTitle(1, "SLO attainment (%)");
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.addSeries("throughput", rate, runs.stream().mapToDouble(RunResult::requestsPerSecond).toArray());
        chart.addSeries("goodput", rate, runs.stream().mapToDouble(RunResult::goodput).toArray());
        chart.addSeries("SLO attainment", rate, runs.stream().mapToDouble(r -> 100 * r.attainment()).toArray())
                .setYAxisGroup(1);
        return save(chart, png);
    }

    /**
     * One line per labelled sweep of {@code metric} (e.g. TTFT P99 in ms) against offered rate: how two serving
     * setups compare under the same load.
     */
    public static boolean compare(String title, String yTitle, List<String> labels, List<double[]> rates,
                               List<double[]> values, boolean logY, Path png) {
        final XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("offered rate (requests/s)").yAxisTitle(yTitle).build();
        chart.getStyler().setYAxisLogarithmic(logY);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        for (int i = 0; i < labels.size(); i++) {
            chart.addSeries(labels.get(i), rates.get(i), values.get(i));
        }
        return save(chart, png);
    }

    /**
     * Writes the PNG, or returns false when this Java runtime cannot draw (a headless server without the native
     * font libraries AWT needs): the numbers matter more than the pictures, so a run never fails for a plot.
     */
    private static boolean save(XYChart chart, Path png) {
        if (unavailable != null) {
            return false;
        }
        final String name = png.toString();
        try {
            BitmapEncoder.saveBitmap(chart, name.endsWith(".png") ? name.substring(0, name.length() - 4) : name,
                    BitmapEncoder.BitmapFormat.PNG);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        } catch (LinkageError | java.awt.AWTError e) {
            unavailable = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            System.err.println("plots skipped: this Java runtime cannot draw here (" + unavailable + ")");
            return false;
        }
    }
}
