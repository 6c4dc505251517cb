package io.splitserve.launcher;

import picocli.CommandLine.Option;

/**
 * {@code --enable-prefix-caching} / {@code --no-enable-prefix-caching} for one node's engine, shared by the commands
 * that run a node on their own ({@code prefill}, {@code decode}); on by default, as in vLLM and SGLang.
 */
final class NodePrefixCachingOption {
    @Option(names = "--enable-prefix-caching", negatable = true, defaultValue = "true", fallbackValue = "true",
        description = "Keep the KV of computed prompt prefixes (and, on a decode node, of received ones) cached and"
            + " reuse it: a prompt computes only what is not cached and a KV transfer carries only what its decode node"
            + " lacks; --no-enable-prefix-caching computes and sends every prompt whole (default: on).")
    boolean enabled;
}
