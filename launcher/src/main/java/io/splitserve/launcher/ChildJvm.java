package io.splitserve.launcher;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * The command line that runs {@code splitserve ARGS...} in a child JVM like this one: the same Java, this JVM's
 * {@code --add-*} flags (Aeron, SBE and Chronicle need them), Chronicle's analytics and banner off, a 512 MiB heap,
 * and this JVM's class path (including a context class loader's entries, as under a test runner). Written once for
 * the soak's role processes and the tests that start real node processes.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    /** {@code java ... -Dp1 -Dp2 ... -cp CP io.splitserve.launcher.Main args...}. */
    public static List<String> command(List<String> properties, List<String> args) {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (arg.startsWith("--add-")) {
                command.add(arg);
            }
        }
        command.add("-Dchronicle.analytics.disable=true");
        command.add("-Dchronicle.announcer.disable=true");
        command.add("-Xmx512m");
        for (String property : properties) {
            command.add("-D" + property);
        }
        command.add("-cp");
        command.add(classPath());
        command.add(Main.class.getName());
        command.addAll(args);
        return command;
    }

    private static String classPath() {
        final StringJoiner path = new StringJoiner(File.pathSeparator);
        path.add(System.getProperty("java.class.path"));
        if (Thread.currentThread().getContextClassLoader() instanceof URLClassLoader loader) {
            for (URL url : loader.getURLs()) {
                try {
                    path.add(Path.of(url.toURI()).toString());
                } catch (URISyntaxException e) {
                    throw new IllegalStateException("class path entry " + url + " is not a file", e);
                }
            }
        }
        return path.toString();
    }
}
