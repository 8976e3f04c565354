using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Scg.Cli;

namespace Scg.Models.Tests;

/// <summary>
/// A test that needs a running Slurm (sbatch, squeue, scancel, scontrol): skipped, with the reason, where none answers
/// `scontrol ping` (bash scripts/slurm-local.sh start runs one on this machine, as .ci/run does). Under CI it is never
/// skipped, so a cluster that did not start fails the tests.
/// </summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    /// <summary>A skipped test's name carries the reason, so that the runner's default output shows it.</summary>
    public SlurmFactAttribute([CallerMemberName] string test = "")
    {
        bool ci = Environment.GetEnvironmentVariable("CI") is { Length: > 0 } v && v != "0" && !v.Equals("false", StringComparison.OrdinalIgnoreCase);
        if (ci || Slurm.Unavailable.Value is not { } reason) return;
        Skip = reason;
        DisplayName = $"{nameof(SweepSlurmTests)}.{test} (skipped: {reason})";
    }
}

static class Slurm
{
    public static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (OperatingSystem.IsWindows()) return "Slurm runs on Linux";
        // Slurm's tools wait a minute for a configuration file that is missing
        string conf = Environment.GetEnvironmentVariable("SLURM_CONF") is { Length: > 0 } c ? c : "/etc/slurm/slurm.conf";
        if (!File.Exists(conf)) return $"no Slurm configuration ({conf} does not exist); bash scripts/slurm-local.sh start runs a one-node cluster and prints its SLURM_CONF";
        var ping = Run("scontrol", "ping");
        if (ping is null) return "no Slurm here (scontrol is not installed); bash scripts/slurm-local.sh start installs and starts a one-node cluster";
        if (ping.Value.Code != 0 || !ping.Value.Out.Contains("is UP"))
            return $"Slurm does not answer (scontrol ping: {(ping.Value.Out + " " + ping.Value.Err).ReplaceLineEndings(" ").Trim()}); bash scripts/slurm-local.sh start starts a one-node cluster";
        return null;
    });

    public static (int Code, string Out, string Err)? Run(string program, params string[] args) => SweepPrograms.Run(program, args);

    public static void Ok(string program, params string[] args)
    {
        var r = Run(program, args);
        Assert.True(r is { Code: 0 }, $"{program} {string.Join(' ', args)}: exit code {r?.Code}: {r?.Out} {r?.Err}");
    }

    /// <summary>
    /// Sends <paramref name="signal"/> to the batch shell of a cell's running task, as Slurm's --signal=B:… warning does
    /// (found as the parent of the cell's `scg sweep run-cell` process; scancel --batch --signal would be refused with
    /// "try again later" while other tasks of the array are pending, and retried onto the task's next run).
    /// </summary>
    public static void SignalBatchShell(string sweep, int cell, int signal)
    {
        string[] wanted = ["sweep", "run-cell", Path.GetFullPath(sweep), cell.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string[] args;
            try { args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0', StringSplitOptions.RemoveEmptyEntries); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            if (args.Length < wanted.Length || !args[^wanted.Length..].SequenceEqual(wanted)) continue;
            string status = File.ReadAllText(Path.Combine(dir, "status"));
            int parent = int.Parse(status.Split('\n').First(l => l.StartsWith("PPid:", StringComparison.Ordinal))[5..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Ok("kill", $"-{signal}", parent.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        Assert.Fail($"no running `scg sweep run-cell {sweep} {cell}` process was found");
    }

    /// <summary>Waits until Slurm has no task of <paramref name="job"/> left in its queue.</summary>
    public static void WaitForJob(string job, string sweep)
    {
        Until(() => Run("squeue", "-h", "-r", "-o", "%i")!.Value.Out.Split('\n').All(l => !l.StartsWith(job + "_", StringComparison.Ordinal)),
            $"job {job} to leave the queue", sweep);
    }

    public static void Until(Func<bool> condition, string what, string sweep)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(3))
                Assert.Fail($"timed out waiting for {what}; status:\n{CliTests.Scg("sweep", "status", sweep).Out}\n{Logs(sweep)}");
            Thread.Sleep(250);
        }
    }

    static string Logs(string sweep) => string.Join('\n', Directory.GetFiles(Path.Combine(sweep, "cells"), "cell.log", SearchOption.AllDirectories)
        .Order().Select(f => $"== {f}\n{File.ReadAllText(f)}"));
}

/// <summary>
/// The reference sweep's grid run through --launcher slurm on a real Slurm: the same cells bit for bit; a task stopped
/// mid-run by Slurm's time-limit warning requeues itself, one cancelled mid-run and one failed on purpose are rerun by
/// resume alone, and all end as the uninterrupted cells did.
/// </summary>
[Collection(SweepCollection.Name)]
public sealed class SweepSlurmTests(LocalSweep reference) : IDisposable
{
    /// <summary>The program's test-only faults per cell ("INDEX:fail", "INDEX:step=N"), which the Slurm tasks inherit from sbatch.</summary>
    const string FaultVariable = "SCG_FAULT_CELL";
    const int Usr1 = 10;
    readonly ScratchDir _dir = new();
    readonly List<string> _jobs = [];

    /// <summary>Cancels what a failed test left in the queue (a paused cell waits for a signal), then deletes its folders.</summary>
    public void Dispose()
    {
        foreach (string job in _jobs) Slurm.Run("scancel", job);
        _dir.Dispose();
    }

    static (int Code, string Out, string Err) Scg(params string[] args) => CliTests.Scg(args);

    /// <summary>Submits the reference grid with the given faults; returns the job id printed on stdout.</summary>
    string Submit(string sweep, string? faults, params string[] launcher)
    {
        Environment.SetEnvironmentVariable(FaultVariable, faults);
        try
        {
            var (code, stdout, err) = Scg(["sweep", .. LocalSweep.Grid, "--launcher", "slurm", .. launcher, "-o", sweep]);
            Assert.True(code == ScgApp.Ok, err);
            string job = stdout.Trim();
            Assert.True(long.TryParse(job, out _), $"expected a job id on stdout, got '{stdout}'");
            _jobs.Add(job);
            Assert.Contains($"submitted Slurm job {job} with 4 array tasks", err);
            return job;
        }
        finally { Environment.SetEnvironmentVariable(FaultVariable, null); }
    }

    static string CellLog(string sweep, int index) =>
        File.Exists(Path.Combine(LocalSweep.CellFolder(sweep, index), "cell.log")) ? File.ReadAllText(Path.Combine(LocalSweep.CellFolder(sweep, index), "cell.log")) : "";

    void AssertAsTheReference(string sweep)
    {
        for (int i = 0; i < LocalSweep.Cells; i++) Assert.Equal(reference.Checkpoints[i], LocalSweep.Checkpoint(sweep, i));
        var report = Scg("sweep", "report", sweep);
        Assert.True(report.Code == ScgApp.Ok, report.Err);
        Assert.Equal(reference.ReportCsv, File.ReadAllText(Path.Combine(sweep, "report.csv")));
    }

    [SlurmFact]
    public void TheSlurmSweepMatchesTheLocalOneCellByCellAndAPreemptedTaskRequeuesItselfAndResumes()
    {
        string sweep = _dir.File("slurm");
        // cell 1 pauses after step 120; Slurm's warning before the time limit (SIGUSR1 to the batch shell) then stops it
        string job = Submit(sweep, "1:step=120", "--jobs", "2", "--requeue");
        Slurm.Until(() => CellLog(sweep, 1).Contains("scg: paused for fault injection after step 120"), "cell 1 to pause", sweep);
        Slurm.SignalBatchShell(sweep, 1, Usr1);
        Slurm.WaitForJob(job, sweep);

        string log = CellLog(sweep, 1);
        Assert.Contains("stopped by SIGTERM after step 120", log);
        Assert.Contains("(exit code 75)", log);
        Assert.Contains($"requeueing task 1 (job ", log);
        Assert.Contains("restart 1)", log);
        Assert.Contains("resuming at step 120", log);
        var status = Scg("sweep", "status", sweep);
        Assert.Contains("4 cells: 4 done, 0 running, 0 failed, 0 pending", status.Out);
        AssertAsTheReference(sweep);
    }

    [SlurmFact]
    public void ACancelledAndAFailedCellAreReportedTheOthersFinishAndResumeRerunsOnlyThem()
    {
        string sweep = _dir.File("faults");
        string job = Submit(sweep, "1:step=120,2:fail");
        Slurm.Until(() => CellLog(sweep, 1).Contains("scg: paused for fault injection after step 120"), "cell 1 to pause", sweep);
        Slurm.Ok("scancel", $"{job}_1");
        Slurm.WaitForJob(job, sweep);

        var status = Scg("sweep", "status", sweep);
        Assert.True(status.Code == ScgApp.Ok, status.Err);
        Assert.Contains("| 1 | pending | 120/200 | concrete | 2 | stopped at step 120 (checkpointed); resume continues it", status.Out);
        Assert.Contains("| 2 | failed | — | nvil | 1 | exit code 1: scg sweep run-cell: failure injected by SCG_FAULT_CELL in cell 2 (--estimator=nvil --seed=1)", status.Out);
        Assert.Contains("4 cells: 2 done, 0 running, 1 failed, 1 pending", status.Out);
        var failure = JsonNode.Parse(File.ReadAllText(Path.Combine(LocalSweep.CellFolder(sweep, 2), "failed.json")))!;
        Assert.Equal(1, (int)failure["exitCode"]!);
        Assert.Equal(reference.Checkpoints[0], LocalSweep.Checkpoint(sweep, 0));
        Assert.Equal(reference.Checkpoints[3], LocalSweep.Checkpoint(sweep, 3));

        var finished = new[] { 0, 3 }.ToDictionary(i => i, i => CliTests.Snapshot(LocalSweep.CellFolder(sweep, i)));
        var resumed = Scg("sweep", "resume", sweep);
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains("rerunning 2 of 4 cells: 1, 2", resumed.Err);
        Assert.Contains("with 2 array tasks (1-2)", resumed.Err);
        _jobs.Add(resumed.Out.Trim());
        Slurm.WaitForJob(resumed.Out.Trim(), sweep);

        Assert.Contains("resuming at step 120", CellLog(sweep, 1));
        Assert.False(File.Exists(Path.Combine(LocalSweep.CellFolder(sweep, 2), "failed.json")));
        foreach (var (i, files) in finished) Assert.Equal(files, CliTests.Snapshot(LocalSweep.CellFolder(sweep, i)));
        Assert.Contains("4 cells: 4 done, 0 running, 0 failed, 0 pending", Scg("sweep", "status", sweep).Out);
        Assert.Contains("nothing to rerun", Scg("sweep", "resume", sweep).Err);
        AssertAsTheReference(sweep);
    }
}
