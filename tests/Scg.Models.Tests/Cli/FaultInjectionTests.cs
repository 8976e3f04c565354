using Scg.Cli;
using Scg.Models.Sbn;

namespace Scg.Models.Tests;

/// <summary>
/// One uninterrupted run of the built program, the reference that every interrupted and resumed run must end
/// bit for bit equal to (same machine, same binary).
/// </summary>
public sealed class UninterruptedRun : IDisposable
{
    /// <summary>nvil: a baseline network and running statistics join the parameters and Adam's moments in the state.</summary>
    public static readonly string[] Options = ["--estimator", "nvil", "--lr", "0.003", "--steps", "300", "--eval-every", "50", "--eval-samples", "3"];
    public const int Steps = 300, EvalEvery = 50;

    readonly ScratchDir _dir = new();
    public string Folder { get; }
    public byte[] Checkpoint { get; }
    public string[] Metrics { get; }

    public UninterruptedRun()
    {
        Folder = _dir.File("reference");
        var (code, _, err) = ScgProcess.Run(["train", .. Options, "--out", Folder]);
        Assert.True(code == ScgApp.Ok, err);
        Checkpoint = File.ReadAllBytes(Path.Combine(Folder, "checkpoint.scg"));
        Metrics = FaultInjectionTests.Bounds(Folder);
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The program as a user's machine treats it: killed with SIGKILL at seeded steps and in the middle of a checkpoint
/// write, stopped with SIGTERM and SIGINT, and started twice on one folder. Each case checks the exit code, the
/// message, that no half-written file is left, and that the resumed run ends exactly where the uninterrupted one does.
/// </summary>
public sealed class FaultInjectionTests(UninterruptedRun reference) : IClassFixture<UninterruptedRun>, IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Every metrics row without its last cell (steps/s), which is the only one that depends on the clock.</summary>
    internal static string[] Bounds(string folder) =>
        File.ReadLines(Path.Combine(folder, "metrics.csv")).Select(l => string.Join(',', l.Split(',')[..5])).ToArray();

    static long StepOf(string folder) => Checkpoint.Read(Path.Combine(folder, "checkpoint.scg")).Header.Step;

    static string[] TempFiles(string folder) => Directory.GetFiles(folder, "*.tmp");

    /// <summary>The folder's files and their bytes, but for the lock file, which a running writer holds (so it cannot be read).</summary>
    static Dictionary<string, byte[]> Unlocked(string folder) =>
        Directory.GetFiles(folder).Where(f => Path.GetFileName(f) != ".lock").ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    void AssertFinishedAsTheReference(string run, (int Code, string Out, string Err) last)
    {
        Assert.True(last.Code == ScgApp.Ok, last.Err);
        Assert.Equal(reference.Checkpoint, File.ReadAllBytes(Path.Combine(run, "checkpoint.scg")));
        Assert.Equal(reference.Metrics, Bounds(run));
        Assert.Empty(TempFiles(run));
    }

    [UnixFact]
    public void KilledAtSeededStepsAndDuringACheckpointWriteTheResumedRunEndsBitForBitAsTheUninterruptedOne()
    {
        var random = new Random(20261124);
        string run = _dir.File("killed");
        const int every = UninterruptedRun.EvalEvery;

        // 1. killed after a random step: the checkpoint is the last one before it, and nothing half-written is left
        int first = random.Next(1, UninterruptedRun.Steps);
        using (var p = ScgProcess.Start(["train", .. UninterruptedRun.Options, "--out", run], pause: $"step={first}"))
        {
            p.WaitForPause();
            p.Signal(ScgProcess.Sigkill);
            Assert.Equal(128 + ScgProcess.Sigkill, p.WaitForExit().Code);
        }
        long saved = first / every * every;
        Assert.Equal(saved, StepOf(run));
        Assert.Empty(TempFiles(run));

        // 2. resumed, and killed halfway through writing a later checkpoint: the one before it is intact
        int during = every * random.Next((int)saved / every + 1, UninterruptedRun.Steps / every);
        using (var p = ScgProcess.Start(["train", "--resume", run], pause: $"checkpoint={during}"))
        {
            p.WaitForPause();
            Assert.Contains($"resuming at step {saved}", p.Err);
            if (first > saved) Assert.Contains($"dropped {first - saved} rows logged after step {saved}, where the checkpoint is.", p.Err);
            p.Signal(ScgProcess.Sigkill);
            Assert.Equal(128 + ScgProcess.Sigkill, p.WaitForExit().Code);
        }
        Assert.Equal(during - every, StepOf(run));
        var partial = new DirectoryInfo(run).GetFiles("checkpoint.scg.*.tmp").Single();
        Assert.True(partial.Length < reference.Checkpoint.Length, "the killed write leaves its temporary file, not the checkpoint");

        // 3. resumed again (the half-written file is removed) and killed after a random later step
        int third = random.Next(during - every + 1, UninterruptedRun.Steps);
        using (var p = ScgProcess.Start(["train", "--resume", run], pause: $"step={third}"))
        {
            p.WaitForPause();
            Assert.Contains($"resuming at step {during - every}", p.Err);
            Assert.Empty(TempFiles(run));
            p.Signal(ScgProcess.Sigkill);
            p.WaitForExit();
        }

        // 4. resumed to the end
        AssertFinishedAsTheReference(run, ScgProcess.Run("train", "--resume", run));
    }

    [UnixFact(SendsSigint = true)]
    public void ASecondWriterIsRefusedAndSigtermAndSigintStopWithACheckpointAndTheCommandThatResumes()
    {
        var random = new Random(7);
        string run = _dir.File("stopped");
        int pausedAt = random.Next(1, 150);
        using (var first = ScgProcess.Start(["train", .. UninterruptedRun.Options, "--out", run], pause: $"step={pausedAt}"))
        {
            first.WaitForPause();
            var before = Unlocked(run);

            // a second process on the same folder, while the first holds it
            var second = ScgProcess.Run("train", "--resume", run);
            Assert.Equal(ScgApp.BadInput, second.Code);
            Assert.Equal($"scg train: '{run}' is in use by another scg process, which holds its lock file '{Path.Combine(run, ".lock")}'; " +
                "wait for that run to end, or choose another --out.\n", second.Err);
            Assert.Equal("", second.Out);
            Assert.Equal(before, Unlocked(run));

            // SIGTERM: the current step is checkpointed, the message says where and how to go on
            first.Signal(ScgProcess.Sigterm);
            var (code, _, err) = first.WaitForExit();
            Assert.Equal(ScgApp.Terminated, code);
            string resume = $"scg train --resume {run}";
            Assert.EndsWith($"scg train: stopped by SIGTERM after step {pausedAt} of nvil m=1; checkpoint '{Path.Combine(run, "checkpoint.scg")}' " +
                $"holds step {pausedAt} of {UninterruptedRun.Steps}. Resume with: {resume}\n", err);
        }
        Assert.Equal(pausedAt, StepOf(run));
        Assert.Empty(TempFiles(run));

        // SIGINT (Ctrl-C) of the resumed run
        int interruptedAt = random.Next(pausedAt + 1, UninterruptedRun.Steps);
        using (var resumed = ScgProcess.Start(["train", "--resume", run], pause: $"step={interruptedAt}"))
        {
            resumed.WaitForPause();
            resumed.Signal(ScgProcess.Sigint);
            var (code, _, err) = resumed.WaitForExit();
            Assert.Equal(ScgApp.Interrupted, code);
            Assert.Contains($"stopped by SIGINT after step {interruptedAt} of nvil m=1;", err);
        }
        Assert.Equal(interruptedAt, StepOf(run));

        // the printed command, run as printed, finishes the run
        AssertFinishedAsTheReference(run, ScgProcess.Run("train", "--resume", run));
    }
}
