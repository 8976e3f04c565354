using System.CommandLine;

namespace Scg.Cli;

/// <summary>Bad input: the command stops before writing anything and exits with code 2.</summary>
sealed class UsageException(string message) : Exception(message);

/// <summary>The scg program: commands, their options, and how failures map to exit codes (2 bad input, 1 failed run).</summary>
public static class ScgApp
{
    public const int Ok = 0, Failed = 1, BadInput = 2;

    /// <summary>Runs the program on <paramref name="args"/>, writing to the given streams (the entry point tests call).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, bool interactive = false)
    {
        var ui = new Ui(stdout, stderr, interactive);
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
            "(the Concrete paper's experiments). Without a command it runs `demo`.");
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
        root.SetAction(parse => Guard(ui, "scg demo", () => demoAction(demo.Parse([]))));
        return root;
    }

    /// <summary>Runs a command body, turning bad input into one line on stderr and exit code 2, a diverged run into exit code 1.</summary>
    internal static int Guard(Ui ui, string command, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (UsageException e)
        {
            ui.Error.WriteLine($"{command}: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (TrainingFailedException e)
        {
            ui.Error.WriteLine($"{command}: {OneLine(e.Message)}");
            return Failed;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("SCG_DEBUG") is null or "" or "0")
        {
            ui.Error.WriteLine($"{command}: failed: {e.GetType().Name}: {OneLine(e.Message)} (set SCG_DEBUG=1 for the stack trace)");
            return Failed;
        }
    }

    internal static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
