package io.splitserve.launcher.soak;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The faults of one soak, in time order: an explicit list, and/or a seeded random schedule whose gaps are exponential
 * with a given mean (a Poisson process of faults) and whose kinds are drawn uniformly from the allowed ones. The same
 * seed, mean, kinds and duration always give the same plan.
 */
final class FaultPlan {
    private FaultPlan() {}

    static List<Fault> of(List<Fault> explicit, double meanIntervalSeconds, List<Fault.Kind> kinds, long seed,
                          long durationNs) {
        final List<Fault> plan = new ArrayList<>(explicit);
        if (meanIntervalSeconds > 0) {
            if (kinds.isEmpty()) {
                throw new IllegalArgumentException("a random fault schedule needs at least one fault kind");
            }
            final SplittableRandom random = new SplittableRandom(seed);
            final double meanNs = meanIntervalSeconds * 1e9;
            for (double t = -meanNs * Math.log(1 - random.nextDouble()); t < durationNs;
                 t += -meanNs * Math.log(1 - random.nextDouble())) {
                plan.add(new Fault(kinds.get(random.nextInt(kinds.size())), (long) t));
            }
        }
        plan.sort(Comparator.comparingLong(Fault::atNs));
        return plan;
    }
}
