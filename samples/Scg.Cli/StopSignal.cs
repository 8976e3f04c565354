using System.Runtime.InteropServices;

namespace Scg.Cli;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM, caught: a training run stops after its current step, writes a checkpoint, says how to
/// resume and exits with <see cref="ScgApp.Interrupted"/> (SIGINT) or <see cref="ScgApp.Terminated"/> (SIGTERM). A
/// second signal, once one was caught, ends the process at once.
/// </summary>
public sealed class StopSignal : IDisposable
{
    readonly List<PosixSignalRegistration> _registrations = [];
    readonly ManualResetEventSlim _raised = new();
    volatile string? _requested;

    /// <summary>Catches SIGINT and SIGTERM for the life of the returned object.</summary>
    public static StopSignal Catch()
    {
        var stop = new StopSignal();
        foreach (var (signal, name) in (ReadOnlySpan<(PosixSignal, string)>)[(PosixSignal.SIGINT, "SIGINT"), (PosixSignal.SIGTERM, "SIGTERM")])
            stop._registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = stop._requested is null;
                stop.Request(name);
            }));
        return stop;
    }

    /// <summary>"SIGINT" or "SIGTERM" once one arrived, else null.</summary>
    public string? Requested => _requested;

    /// <summary>The exit code of a run stopped by <see cref="Requested"/>.</summary>
    public int ExitCode => _requested == "SIGTERM" ? ScgApp.Terminated : ScgApp.Interrupted;

    /// <summary>Asks the running command to stop, as <paramref name="signal"/> would.</summary>
    public void Request(string signal)
    {
        _requested ??= signal;
        _raised.Set();
    }

    /// <summary>Blocks until a stop is requested.</summary>
    public void Wait() => _raised.Wait();

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _raised.Dispose();
    }
}

/// <summary>A run stopped by a signal; the message says what was saved and how to resume.</summary>
sealed class RunInterruptedException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
