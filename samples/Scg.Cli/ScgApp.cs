using System.CommandLine;

namespace Scg.Cli;

/// <summary>
/// The user's input or environment stops the command (an option, a file, the machine's memory, a diverged run): one
/// line on stderr naming what, and exit code 2. Thrown before anything is written, unless the message says what was kept.
/// </summary>
class UsageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The scg program: commands, their options, and how failures map to exit codes (2 bad input or environment, 1 internal
/// error, 130 and 75 a run stopped by SIGINT or SIGTERM after writing a checkpoint it resumes from).
/// </summary>
public static class ScgApp
{
    public const int Ok = 0, Failed = 1, BadInput = 2;
    /// <summary>Stopped by SIGINT (Ctrl-C) with a checkpoint written: 128 + 2, as a shell reports an interrupted program.</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM with a checkpoint written: EX_TEMPFAIL, "try again", the code a requeueing batch script tests for.</summary>
    public const int Terminated = 75;

    /// <summary>
    /// Runs the program on <paramref name="args"/>, writing results to <paramref name="stdout"/> (drawn tables when
    /// <paramref name="interactive"/>) and progress and errors to <paramref name="stderr"/> (a live display when
    /// <paramref name="liveProgress"/>); <paramref name="stop"/> carries SIGINT and SIGTERM (the entry point tests call).
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive = false, bool liveProgress = false, StopSignal? stop = null)
    {
        var ui = new Ui(stdout, stderr, interactive, liveProgress, stop, Shell.Join([Shell.Program, .. args]));
        var root = BuildCommands(ui);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            string command = parse.CommandResult.Command is RootCommand ? "scg" : $"scg {parse.CommandResult.Command.Name}";
            stderr.WriteLine($"{command}: {OneLine(parse.Errors[0].Message)} See '{command} --help' for the options.");
            return BadInput;
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
    }

    static RootCommand BuildCommands(Ui ui)
    {
        var root = new RootCommand(
            "scg: discrete-latent sigmoid belief networks trained with Concrete relaxations and score-function estimators " +
            "(the Concrete paper's experiments). Without a command it runs `demo`. Results go to stdout, progress and errors to stderr. " +
            $"Exit codes: {Ok} done, {BadInput} bad input (an option, a file, a folder in use), {Failed} a failed run or an internal error, " +
            $"{Interrupted} stopped by SIGINT (Ctrl-C) and {Terminated} by SIGTERM, both after writing a checkpoint that the printed command resumes.");
        var train = TrainCommand.Create(ui);
        var eval = EvalCommand.Create(ui);
        var compare = CompareCommand.CreateCompare(ui);
        var reproduce = ReproduceCommand.Create(ui);
        var (demo, demoAction) = CompareCommand.CreateDemo(ui);
        root.Subcommands.Add(train);
        root.Subcommands.Add(eval);
        root.Subcommands.Add(compare);
        root.Subcommands.Add(reproduce);
        root.Subcommands.Add(demo);
        root.Subcommands.Add(SweepCommand.Create(ui));
        root.SetAction(parse => Guard(ui, "scg demo", () => demoAction(demo.Parse([]))));
        return root;
    }

    /// <summary>
    /// Runs a command body: the one place where failures become exit codes. The user's input or environment
    /// (<see cref="IsUserError"/>) gives one line on stderr and exit code 2; anything else is an internal error, exit code 1.
    /// </summary>
    internal static int Guard(Ui ui, string command, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            ui.Error.WriteLine($"{command}: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (RunInterruptedException e)
        {
            ui.Error.WriteLine($"{command}: {OneLine(e.Message)}");
            return e.ExitCode;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("SCG_DEBUG") is null or "" or "0")
        {
            ui.Error.WriteLine($"{command}: internal error (a bug in scg, not in your input): {e.GetType().Name}: {OneLine(e.Message)} (set SCG_DEBUG=1 for the stack trace)");
            return Failed;
        }
    }

    /// <summary>Turns a run stopped by a signal during <paramref name="work"/> into the exception that says how to resume it.</summary>
    internal static RunInterruptedException Stopped(Ui ui, string work, string whatWasSaved) =>
        new($"stopped by {ui.Stop.Requested} {work}; {whatWasSaved}", ui.Stop.ExitCode);

    /// <summary>
    /// Failures of the input or environment rather than of the program: a <see cref="UsageException"/>, a file that
    /// cannot be read or written (<see cref="IOException"/>, including a malformed IDX file and a full disk; <see
    /// cref="UnauthorizedAccessException"/>), or a file whose contents are not what was expected (<see cref="InvalidDataException"/>).
    /// Their messages name the file.
    /// </summary>
    internal static bool IsUserError(Exception e) => e is UsageException or IOException or UnauthorizedAccessException or InvalidDataException;

    internal static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
