package io.splitserve.launcher;

import io.splitserve.engine.demo.DemoModel;
import java.io.IOException;
import java.nio.file.Path;

/** Shared pieces of the serving tests: the demo model (created once under target/) and unique Aeron directories. */
final class TestSystems {
    private TestSystems() {}

    static synchronized Path demoModel() throws IOException {
        return DemoModel.ensure(Path.of("target", "test-models", DemoModel.VERSION).toAbsolutePath());
    }

    static String aeronDir(String name) {
        return Path.of("target", "aeron", name + "-" + System.nanoTime()).toAbsolutePath().toString();
    }

    static ServingSystem.Options options(String name) throws IOException {
        return new ServingSystem.Options().modelDir(demoModel()).aeronDir(aeronDir(name));
    }
}
