#!/usr/bin/env bash
# Builds the perf module and runs its JMH microbenchmarks (never part of `mvn verify`) with the project's JVM flags.
# Usage: perf/bin/jmh.sh [JMH options and benchmark regexps], e.g. perf/bin/jmh.sh -rf json -rff out.json Sbe
# Tokenizer benchmarks read tokenizer/target/hf-tokenizers (tokenizer/scripts/fetch-tokenizers.sh fetches them).
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -B -o -pl perf -am package dependency:build-classpath -DskipTests -Dmdep.outputFile=target/classpath.txt
flags=$(sed -n 's:.*<splitserve.jvmFlags>\(.*\)</splitserve.jvmFlags>.*:\1:p' pom.xml)
[[ -f tokenizer/target/hf-tokenizers/qwen3/tokenizer.json ]] || bash tokenizer/scripts/fetch-tokenizers.sh
cp="perf/target/classes:$(cat perf/target/classpath.txt)"
# shellcheck disable=SC2086
exec java $flags -cp "$cp" org.openjdk.jmh.Main -jvmArgsAppend "$flags -Dsplitserve.tokenizers=$PWD/tokenizer/target/hf-tokenizers" "$@"
