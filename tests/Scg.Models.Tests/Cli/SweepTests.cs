using System.Globalization;
using System.Text.Json.Nodes;
using Scg.Cli;

namespace Scg.Models.Tests;

/// <summary>The sweep tests share one local sweep (the reference) and run one at a time: some set SCG_FAULT_CELL, which child processes inherit.</summary>
[CollectionDefinition(Name)]
public sealed class SweepCollection : ICollectionFixture<LocalSweep>
{
    public const string Name = "sweeps";
}

/// <summary>
/// The reference sweep, run once with the local launcher: sbn-toy, 2 estimators × 2 seeds, 200 steps, two cells at a time.
/// </summary>
public sealed class LocalSweep : IDisposable
{
    public static readonly string[] Grid = ["--estimator", "concrete,nvil", "--seed", "1,2", "--steps", "200", "--eval-every", "50", "--eval-samples", "10", "--lr", "0.003"];
    public const int Cells = 4;

    readonly ScratchDir _dir = new();
    public string Folder { get; }
    public (int Code, string Out, string Err) Run { get; }
    public byte[][] Checkpoints { get; }
    public string ReportCsv { get; }

    public LocalSweep()
    {
        Folder = _dir.File("local");
        Run = CliTests.Scg(["sweep", .. Grid, "--jobs", "2", "-o", Folder]);
        Assert.True(Run.Code == ScgApp.Ok, Run.Err);
        Checkpoints = Enumerable.Range(0, Cells).Select(i => Checkpoint(Folder, i)).ToArray();
        var report = CliTests.Scg("sweep", "report", Folder);
        Assert.True(report.Code == ScgApp.Ok, report.Err);
        ReportCsv = File.ReadAllText(Path.Combine(Folder, "report.csv"));
    }

    public static string CellFolder(string sweep, int index) => Path.Combine(sweep, "cells", index.ToString("D3", CultureInfo.InvariantCulture));

    public static byte[] Checkpoint(string sweep, int index) => File.ReadAllBytes(Path.Combine(CellFolder(sweep, index), "checkpoint.scg"));

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// scg sweep with the local launcher, run in-process: the grid and its checks, the manifest, the Slurm script it
/// writes, cells that are normal runs, the report, a cell in use, and a finished cell left alone.
/// </summary>
[Collection(SweepCollection.Name)]
public sealed class SweepTests(LocalSweep reference) : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Scg(params string[] args) => CliTests.Scg(args);

    static JsonObject Manifest(string sweep) => JsonNode.Parse(File.ReadAllText(Path.Combine(sweep, "sweep.json")))!.AsObject();

    [Fact]
    public void InvalidCellsAreReportedByTrainsOwnChecksBeforeAnythingIsWritten()
    {
        string sweep = _dir.File("invalid");
        var (code, _, err) = Scg("sweep", "--estimator", "nvil,vimco", "-m", "1,5", "--steps", "10", "--eval-samples", "2", "-o", sweep, "--dry-run");
        Assert.Equal(ScgApp.BadInput, code);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal("scg sweep: cell 2 (--estimator=vimco --samples=1): vimco needs m ≥ 2 samples per data point, got m = 1; pass -m 5 (or vimco:5 in --estimators), or use nvil for m = 1.", lines[0]);
        Assert.Equal("scg sweep: 1 of 4 cells are invalid (above); nothing was started or written.", lines[1]);
        Assert.False(Directory.Exists(sweep));

        // --skip-checks writes the grid untried: the bad cell fails when it runs, naming its options
        var unchecked_ = Scg("sweep", "--estimator", "nvil,vimco", "-m", "1,5", "--steps", "10", "--eval-samples", "2", "-o", sweep, "--dry-run", "--skip-checks");
        Assert.True(unchecked_.Code == ScgApp.Ok, unchecked_.Err);
        var bad = Scg("sweep", "run-cell", sweep, "2");
        Assert.Equal(ScgApp.BadInput, bad.Code);
        Assert.Contains("vimco needs m", File.ReadAllText(Path.Combine(sweep, "cells", "002", "failed.json")));
        Directory.Delete(sweep, recursive: true);

        foreach (var (args, message) in new (string[], string)[]
        {
            (["--seed", "1,2,1"], "scg sweep: --seed lists '1' twice; expected each value once."),
            (["--lr", "0.1,,0.2"], "scg sweep: --lr has an empty value in '0.1,,0.2'; expected a comma list of values such as 1,2,3."),
            (["--launcher", "pbs"], "scg sweep: --launcher must be local or slurm, got 'pbs'."),
            (["--lr", "0.1,-1"], "scg sweep: cell 1 (--lr=-1): --lr must be a number > 0, got -1."),
        })
        {
            var refused = Scg(["sweep", .. args, "--steps", "10", "-o", sweep, "--dry-run"]);
            Assert.Equal(ScgApp.BadInput, refused.Code);
            Assert.StartsWith(message, refused.Err);
            Assert.False(Directory.Exists(sweep));
        }
    }

    [Fact]
    public void TheManifestListsTheCrossProductWithEveryCellsFullTrainArgumentsAndTheSlurmScriptPassesItsSettingsThrough()
    {
        string sweep = _dir.File("grid");
        var (code, stdout, err) = Scg("sweep", "--temperature", @"exp:1\,0.01\,0.5,0.5", "--seed", "3,4,5", "--estimator", "concrete", "--steps", "10",
            "--eval-samples", "2", "--launcher", "slurm", "--jobs", "2", "--threads-per-run", "2", "--time", "0:30:00", "--mem", "2G", "--partition", "short",
            "--signal", "60", "--requeue", "--sbatch=--account=lab", "--sbatch", "qos=long", "-o", sweep, "--dry-run");
        Assert.True(code == ScgApp.Ok, err);
        Assert.Equal("", stdout);
        var manifest = Manifest(sweep);
        Assert.Equal(["--temperature", "--seed"], manifest["axes"]!.AsArray().Select(a => (string)a!["option"]!));
        var cells = manifest["cells"]!.AsArray();
        Assert.Equal(6, cells.Count);
        // the first axis varies slowest; every train option is written out, defaults included
        string[][] expected = [["exp:1,0.01,0.5", "3"], ["exp:1,0.01,0.5", "4"], ["exp:1,0.01,0.5", "5"], ["0.5", "3"], ["0.5", "4"], ["0.5", "5"]];
        for (int i = 0; i < cells.Count; i++)
        {
            var args = cells[i]!["args"]!.AsArray().Select(a => (string)a!).ToArray();
            Assert.Equal(i, (int)cells[i]!["index"]!);
            Assert.Equal($"cells/00{i}", (string)cells[i]!["folder"]!);
            Assert.True(Directory.Exists(LocalSweep.CellFolder(sweep, i)));
            Assert.Equal(expected[i][0], args[Array.IndexOf(args, "--temperature") + 1]);
            Assert.Equal(expected[i][1], args[Array.IndexOf(args, "--seed") + 1]);
            foreach (var (option, value) in new[] { ("--estimator", "concrete"), ("--steps", "10"), ("--lr", "0.0003"), ("--batch-size", "64"), ("--data", "sbn-toy"), ("--eval-every", "0") })
                Assert.Equal(value, args[Array.IndexOf(args, option) + 1]);
            Assert.DoesNotContain("--out", args);
            Assert.DoesNotContain("--resume", args);
        }

        string script = File.ReadAllText(Path.Combine(sweep, "sweep.sbatch"));
        string root = Path.GetFullPath(sweep);
        foreach (string line in (string[])["#SBATCH --array=0-5%2", "#SBATCH --cpus-per-task=2", "#SBATCH --time=0:30:00", "#SBATCH --mem=2G", "#SBATCH --partition=short",
            $"#SBATCH --output={root}/cells/%3a/cell.log", "#SBATCH --open-mode=append", "#SBATCH --signal=B:USR1@60", "#SBATCH --requeue",
            "#SBATCH --account=lab", "#SBATCH --qos=long", $" sweep run-cell {root} \"$SLURM_ARRAY_TASK_ID\" &", "scontrol requeue \"$SLURM_JOB_ID\""])
            Assert.Contains(line, script);
        Assert.Contains("dry run: submit with sbatch", err);

        var again = Scg("sweep", "--steps", "10", "-o", sweep, "--dry-run");
        Assert.Equal(ScgApp.BadInput, again.Code);
        Assert.Contains("already holds a sweep", again.Err);
        var line2 = Scg("sweep", "--steps", "10", "--launcher", "slurm", "--sbatch", "a\nb", "-o", _dir.File("other"), "--dry-run");
        Assert.Equal(ScgApp.BadInput, line2.Code);
        Assert.Contains("--sbatch must be one line of text", line2.Err);
    }

    [Fact]
    public void EveryCellIsTheRunTrainMakesAndTheReportGroupsOverSeedsWithMeanSpreadAndN()
    {
        Assert.Contains("4 cells: 4 done, 0 running, 0 failed, 0 pending", reference.Run.Out);
        var manifest = Manifest(reference.Folder);

        // a cell is a normal run: scg train with the manifest's arguments gives the same checkpoint, bit for bit
        string direct = _dir.File("direct");
        var args = manifest["cells"]![3]!["args"]!.AsArray().Select(a => (string)a!).ToArray();
        Assert.Equal(ScgApp.Ok, Scg(["train", .. args, "--out", direct]).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(direct, "checkpoint.scg")), reference.Checkpoints[3]);
        var eval = Scg("eval", LocalSweep.CellFolder(reference.Folder, 3), "--samples", "2", "--rows", "10");
        Assert.True(eval.Code == ScgApp.Ok, eval.Err);

        // grouped over --seed: cells 0, 1 are concrete with seeds 1, 2; cells 2, 3 nvil
        var done = Enumerable.Range(0, 4).Select(i => JsonNode.Parse(File.ReadAllText(Path.Combine(LocalSweep.CellFolder(reference.Folder, i), "done.json")))!).ToArray();
        var csv = reference.ReportCsv.TrimEnd('\n').Split('\n');
        Assert.Equal("estimator,n,cells,test_samples,test_mean,test_std,train_mean,train_std", csv[0]);
        Assert.Equal(3, csv.Length);
        for (int g = 0; g < 2; g++)
        {
            var row = csv[1 + g].Split(',');
            Assert.Equal(g == 0 ? "concrete" : "nvil", row[0]);
            Assert.Equal(["2", "2", "10"], row[1..4]);
            foreach (var (column, field) in new[] { (4, "testBound"), (6, "trainBound") })
            {
                double a = (double)done[2 * g]![field]!, b = (double)done[2 * g + 1]![field]!;
                Assert.Equal((a + b) / 2, double.Parse(row[column], CultureInfo.InvariantCulture), 12);
                Assert.Equal(Math.Abs(a - b) / Math.Sqrt(2), double.Parse(row[column + 1], CultureInfo.InvariantCulture), 12);
            }
            // the final training bound is the last metrics row's
            double last = double.Parse(File.ReadLines(Path.Combine(LocalSweep.CellFolder(reference.Folder, 2 * g), "metrics.csv")).Last().Split(',')[1], CultureInfo.InvariantCulture);
            Assert.Equal(last, (double)done[2 * g]!["trainBound"]!);
        }
        string markdown = File.ReadAllText(Path.Combine(reference.Folder, "report.md"));
        Assert.Contains("| --estimator | n | cells | test L_10 (mean ± std) | final train bound (mean ± std) |", markdown);
        Assert.Contains("![mean curves per group](report.png)", markdown);
        Assert.True(File.Exists(Path.Combine(reference.Folder, "report.png")));
        var texts = PlotTests.Texts(Path.Combine(reference.Folder, "report.svg"));
        foreach (string label in (string[])["concrete: relaxed bound (train) (mean ± sd)", "nvil: discrete L_1 (train) (mean ± sd)", "concrete (mean ± sd)", "nvil (mean ± sd)", "sweep local: mean ± std over finished seeds (--estimator)"])
            Assert.Contains(label, texts);
    }

    [Fact]
    public void AFinishedCellIsLeftAloneACellInUseIsRefusedAndStatusAndReportWorkWhileACellRuns()
    {
        string sweep = _dir.File("copy");
        CopyFolder(reference.Folder, sweep);
        string cell0 = LocalSweep.CellFolder(sweep, 0), cell1 = LocalSweep.CellFolder(sweep, 1);
        var before = CliTests.Snapshot(cell0);
        var again = Scg("sweep", "run-cell", sweep, "0");
        Assert.True(again.Code == ScgApp.Ok, again.Err);
        Assert.Contains("is done", again.Err);
        Assert.Equal(before, CliTests.Snapshot(cell0));

        // cell 1 made unfinished and held by "another task": it shows as running, the report leaves it out, run-cell refuses it
        File.Delete(Path.Combine(cell1, "done.json"));
        using (new FileStream(Path.Combine(cell1, "cell.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var status = Scg("sweep", "status", sweep);
            Assert.True(status.Code == ScgApp.Ok, status.Err);
            Assert.Contains("| 1 | running | 200/200 | concrete | 2 |", status.Out);
            Assert.Contains("4 cells: 3 done, 1 running, 0 failed, 0 pending", status.Out);
            var report = Scg("sweep", "report", sweep);
            Assert.True(report.Code == ScgApp.Ok, report.Err);
            Assert.StartsWith("concrete,1,2,10,", File.ReadAllLines(Path.Combine(sweep, "report.csv"))[1]);
            Assert.Contains("| concrete | 1 | 2 |", report.Out);
            var busy = Scg("sweep", "run-cell", sweep, "1");
            Assert.Equal(ScgApp.BadInput, busy.Code);
            Assert.Contains($"cell folder '{cell1}' is in use by another scg sweep run-cell", busy.Err);
            var resume = Scg("sweep", "resume", sweep, "--dry-run");
            Assert.Contains("nothing to rerun", resume.Err);
        }
        // released, it is pending; its run is finished, so running it again only evaluates it
        Assert.Contains("| 1 | pending | 200/200 | concrete | 2 | stopped at step 200", Scg("sweep", "status", sweep).Out);
        var rerun = Scg("sweep", "run-cell", sweep, "1");
        Assert.True(rerun.Code == ScgApp.Ok, rerun.Err);
        Assert.Equal(reference.Checkpoints[1], LocalSweep.Checkpoint(sweep, 1));
        var report2 = Scg("sweep", "report", sweep);
        Assert.True(report2.Code == ScgApp.Ok, report2.Err);
        Assert.Equal(reference.ReportCsv, File.ReadAllText(Path.Combine(sweep, "report.csv")));

        foreach (var (args, message) in new (string[], string)[]
        {
            (["status", _dir.File("none")], "is not a sweep folder: expected its manifest"),
            (["run-cell", sweep, "4"], "cell index 4 is out of range"),
        })
        {
            var refused = Scg(["sweep", .. args]);
            Assert.Equal(ScgApp.BadInput, refused.Code);
            Assert.Contains(message, refused.Err);
        }
    }

    [UnixFact]
    public void ALocalSweepStoppedBySigtermStopsItsCellsWithTheirCheckpointsAndResumeFinishesThemAsIfUninterrupted()
    {
        string sweep = _dir.File("stopped");
        // every cell pauses after step 120 (the variable reaches the cells' processes); two run at a time
        using (var launcher = ScgProcess.Start(["sweep", .. LocalSweep.Grid, "--jobs", "2", "-o", sweep], pause: "step=120"))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!Enumerable.Range(0, 2).All(i => File.Exists(Path.Combine(LocalSweep.CellFolder(sweep, i), "cell.log"))
                && File.ReadAllText(Path.Combine(LocalSweep.CellFolder(sweep, i), "cell.log")).Contains("scg: paused for fault injection after step 120")))
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), $"the cells did not pause; launcher stderr:\n{launcher.Err}");
                Thread.Sleep(100);
            }
            launcher.Signal(ScgProcess.Sigterm);
            var (code, stdout, err) = launcher.WaitForExit();
            Assert.True(code == ScgApp.Terminated, err);
            Assert.Contains("| 0 | pending | 120/200 | concrete | 1 | stopped at step 120 (checkpointed); resume continues it |", stdout);
            Assert.Contains("| 1 | pending | 120/200 | concrete | 2 | stopped at step 120", stdout);
            Assert.Contains("4 cells: 0 done, 0 running, 0 failed, 4 pending", stdout);
            Assert.Contains("cell 0 (--estimator=concrete --seed=1): stopped (exit code 75); scg sweep resume reruns it", err);
            Assert.DoesNotContain("cell 2 (--estimator=nvil --seed=1): started", err);
        }
        foreach (int i in (int[])[0, 1]) Assert.Contains("stopped by SIGTERM after step 120", File.ReadAllText(Path.Combine(LocalSweep.CellFolder(sweep, i), "cell.log")));

        var resumed = Scg("sweep", "resume", sweep);
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains("rerunning 4 of 4 cells: 0, 1, 2, 3", resumed.Err);
        for (int i = 0; i < LocalSweep.Cells; i++) Assert.Equal(reference.Checkpoints[i], LocalSweep.Checkpoint(sweep, i));
        Assert.Contains("resuming at step 120", File.ReadAllText(Path.Combine(LocalSweep.CellFolder(sweep, 0), "cell.log")));
    }

    internal static void CopyFolder(string from, string to)
    {
        foreach (string dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }
}
