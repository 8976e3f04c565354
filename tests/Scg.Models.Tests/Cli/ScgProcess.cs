using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Scg.Models.Tests;

/// <summary>A test that sends POSIX signals to child processes: skipped on Windows.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "needs POSIX signals (SIGKILL, SIGTERM, SIGINT) and flock";
    }

    bool _sendsSigint;

    /// <summary>
    /// True for a test that sends SIGINT to the program: it is skipped where this process ignores SIGINT (a background
    /// job of a non-interactive shell, or nohup), since a child inherits that and rightly goes on ignoring it.
    /// </summary>
    public bool SendsSigint
    {
        get => _sendsSigint;
        set
        {
            _sendsSigint = value;
            if (value && Skip is null && IgnoresSigint())
                Skip = "SIGINT is ignored by the test process (started as a background job of a non-interactive shell, or under nohup), so the program it starts ignores it too; run the tests in the foreground";
        }
    }

    /// <summary>Whether this process ignores SIGINT: bit 1 of the SigIgn mask in /proc/self/status (false where there is none).</summary>
    static bool IgnoresSigint()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return false;
        string? line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (ScgProcess.Sigint - 1))) != 0;
    }
}

/// <summary>
/// The built scg program (the apphost next to the test assembly) as a child process with captured output, optionally
/// paused by its fault-injection variable (SCG_FAULT_PAUSE) so that a signal lands at a chosen point.
/// </summary>
sealed partial class ScgProcess : IDisposable
{
    public const int Sigkill = 9, Sigterm = 15, Sigint = 2;
    const string PausedLine = "scg: paused for fault injection";
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    readonly Process _process;
    readonly StringBuilder _out = new(), _err = new();
    readonly TaskCompletionSource _paused = new(TaskCreationOptions.RunContinuationsAsynchronously);

    ScgProcess(Process process) => _process = process;

    public int Id => _process.Id;

    public static ScgProcess Start(string[] args, string? pause = null)
    {
        var info = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "scg"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment.Remove("SCG_PROGRAM");
        info.Environment.Remove("CI");
        if (pause is not null) info.Environment["SCG_FAULT_PAUSE"] = pause;
        var child = new ScgProcess(new Process { StartInfo = info });
        child._process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (child._out) child._out.Append(e.Data).Append('\n'); };
        child._process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (child._err) child._err.Append(e.Data).Append('\n');
            if (e.Data.StartsWith(PausedLine, StringComparison.Ordinal)) child._paused.TrySetResult();
        };
        child._process.Start();
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs the program to its end.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var child = Start(args);
        return child.WaitForExit();
    }

    /// <summary>Waits until the child reports its fault-injection pause (failing the test when it ends or hangs first).</summary>
    public void WaitForPause()
    {
        var exited = _process.WaitForExitAsync();
        int which = Task.WaitAny([_paused.Task, exited], Timeout);
        if (which != 0)
        {
            if (which < 0) _process.Kill();
            _process.WaitForExit();
            Assert.Fail($"scg did not pause (exit code {(which < 0 ? "none: killed after the timeout" : _process.ExitCode)}); stderr:\n{Err}");
        }
    }

    public void Signal(int signal) => Assert.Equal(0, Kill(_process.Id, signal));

    public (int Code, string Out, string Err) WaitForExit()
    {
        if (!_process.WaitForExit(Timeout))
        {
            _process.Kill();
            Assert.Fail($"scg did not end within {Timeout}; stderr:\n{Err}");
        }
        _process.WaitForExit();   // the output events are drained
        return (_process.ExitCode, Out, Err);
    }

    public string Out { get { lock (_out) return _out.ToString(); } }
    public string Err { get { lock (_err) return _err.ToString(); } }

    public void Dispose()
    {
        if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(); }
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
