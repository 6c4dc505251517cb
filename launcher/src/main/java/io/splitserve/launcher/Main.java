package io.splitserve.launcher;

import io.splitserve.launcher.soak.SoakCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of the {@code splitserve} command line: one subcommand per role or tool.
 *
 * <p>User mistakes (a bad option, a missing model file, a corrupt checkpoint) end with a one-line message on
 * standard error and a non-zero exit status, never a stack trace; only a bug in SplitServe itself prints one.
 */
@Command(
    name = "splitserve",
    mixinStandardHelpOptions = true,
    version = "splitserve 0.1.0",
    description = "Prefill/decode disaggregated LLM serving.",
    subcommands = {GenerateCommand.class, ServeCommand.class, DriverCommand.class, RouterCommand.class,
        PrefillCommand.class, DecodeCommand.class, BenchCommand.class, SoakCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (try: generate, serve)");
    }

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit status (0 success, 1 failed, 2 usage error). */
    public static int execute(String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
            if (UserErrors.isUserError(exception)) {
                cmd.getErr().println("error: " + UserErrors.message(exception));
                return 1;
            }
            throw exception;
        });
        return commandLine.execute(args);
    }
}
