package io.splitserve.launcher.soak;

import java.util.Locale;

/**
 * One injected fault: its kind, when it starts (nanoseconds from the soak's start) and, for a node fault, optionally
 * the node it hits (null: one drawn by the soak's seed). Parsed from {@code kind[:node]@seconds} (e.g.
 * {@code decode-kill@12.5}, {@code udp-loss:decode-101@30}); a bad one is an error naming the kinds.
 */
record Fault(Kind kind, long atNs, String target) {
    /** What a fault does; {@link #label} is how the command line and the report name it. */
    enum Kind {
        /** SIGKILL a decode node, start it again. */
        DECODE_KILL("decode-kill"),
        /** SIGKILL a prefill node, start it again. */
        PREFILL_KILL("prefill-kill"),
        /** SIGKILL the router, start it again on the same journal; the client reconnects with the same id. */
        ROUTER_KILL("router-kill"),
        /** Restart a decode node with Aeron's receive-side data loss generator, for the fault interval, then plain. */
        UDP_LOSS("udp-loss"),
        /** An HTTP client that streams a completion and stops reading it for the fault interval, then leaves. */
        STALLED_READER("stalled-reader"),
        /** An HTTP upload that sends part of its body and stalls: the router must answer 408 and free its slot. */
        STALLED_UPLOAD("stalled-upload");

        final String label;

        Kind(String label) {
            this.label = label;
        }

        /** Whether the fault restarts a node of the soak's choice (and so may name one). */
        boolean hitsNode() {
            return this == DECODE_KILL || this == PREFILL_KILL || this == UDP_LOSS;
        }

        static Kind parse(String label) {
            for (Kind k : values()) {
                if (k.label.equals(label)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown fault kind '" + label + "'; the kinds are " + labels());
        }

        static String labels() {
            final StringBuilder s = new StringBuilder();
            for (Kind k : values()) {
                s.append(s.length() == 0 ? "" : ", ").append(k.label);
            }
            return s.toString();
        }
    }

    Fault {
        if (kind == null || atNs < 0) {
            throw new IllegalArgumentException("a fault needs a kind and a start not negative");
        }
        if (target != null && !kind.hitsNode()) {
            throw new IllegalArgumentException(kind.label + " hits no node, so it takes no ':node'");
        }
    }

    Fault(Kind kind, long atNs) {
        this(kind, atNs, null);
    }

    static Fault parse(String text) {
        final int at = text.indexOf('@');
        if (at < 0) {
            throw new IllegalArgumentException("a fault is KIND[:NODE]@SECONDS (e.g. decode-kill@12.5 or"
                    + " udp-loss:decode-101@30), got '" + text + "'");
        }
        final double seconds;
        try {
            seconds = Double.parseDouble(text.substring(at + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("fault '" + text + "': '" + text.substring(at + 1)
                    + "' is not a number of seconds");
        }
        if (!(seconds >= 0)) {
            throw new IllegalArgumentException("fault '" + text + "': its time must not be negative");
        }
        final String what = text.substring(0, at).toLowerCase(Locale.ROOT);
        final int colon = what.indexOf(':');
        return new Fault(Kind.parse(colon < 0 ? what : what.substring(0, colon)), (long) (seconds * 1e9),
                colon < 0 ? null : what.substring(colon + 1));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s%s@%.1f", kind.label, target == null ? "" : ":" + target, atNs / 1e9);
    }
}
