#!/usr/bin/env bash
# Builds the modules the KV transfer benchmark needs and runs it with the project's JVM flags.
# Usage: perf/bin/kv-transfer-bench.sh [--machine NAME] [--report perf/results/kv-transfer-NAME.md] [...]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -B -o -pl perf -am package dependency:build-classpath -DskipTests -Dmdep.outputFile=target/classpath.txt
flags=$(sed -n 's:.*<splitserve.jvmFlags>\(.*\)</splitserve.jvmFlags>.*:\1:p' pom.xml)
# shellcheck disable=SC2086
exec java -Xms1g -Xmx2g -XX:MaxDirectMemorySize=3g $flags \
  -cp "perf/target/classes:$(cat perf/target/classpath.txt)" io.splitserve.perf.kv.KvTransferBenchmark "$@"
