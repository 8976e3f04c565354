using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Scg.Cli;
using Scg.Models.Reporting;

namespace Scg.Models.Tests;

/// <summary>
/// What a resumed run starts from, run in-process: torn or overlong metrics files, a folder holding only its
/// checkpoint, crafted checkpoints whose CRC is valid, the settings an IGR run is evaluated with, where results and
/// progress go, and a reproduction stopped and rerun.
/// </summary>
public sealed class RecoveryTests : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Scg(params string[] args) => CliTests.Scg(args);

    static string[] Run(int steps) => ["--steps", steps.ToString(CultureInfo.InvariantCulture), "--eval-every", "10", "--eval-samples", "3", "--lr", "0.003"];

    static string[] Bounds(string folder) => FaultInjectionTests.Bounds(folder);

    static byte[] CheckpointBytes(string folder) => File.ReadAllBytes(Path.Combine(folder, "checkpoint.scg"));

    /// <summary>A run of 40 steps, and one stopped at its checkpoint of step 20 (metrics through step 20).</summary>
    (string Whole, string Half) WholeAndHalf()
    {
        string whole = _dir.File("whole"), half = _dir.File("half");
        Assert.Equal(ScgApp.Ok, Scg(["train", .. Run(40), "--out", whole]).Code);
        Assert.Equal(ScgApp.Ok, Scg(["train", .. Run(20), "--out", half]).Code);
        return (whole, half);
    }

    [Fact]
    public void AResumedRunKeepsItsLengthAndChecksAndSaysWhatTheCommandLineChanges()
    {
        string run = _dir.File("run");
        Assert.Equal(ScgApp.Ok, Scg("train", "--steps", "30", "--eval-every", "5", "--eval-samples", "3", "--out", run).Code);
        var header = Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).Header;
        Assert.Equal(new Sbn.RunSchedule { Steps = 30, EvalEvery = 5, EvalSamples = 3 }, header.Schedule);

        // resumed with nothing but the folder, the finished run is evaluated again, not trained to the default 10,000 steps
        var again = Scg("train", "--resume", run);
        Assert.True(again.Code == ScgApp.Ok, again.Err);
        Assert.Contains("30 steps of 64", again.Err);
        Assert.Contains("evaluating only", again.Err);
        Assert.Contains("| concrete | 1 | 30 |", again.Out);

        // a new total is printed and kept; validation keeps its interval
        var longer = Scg("train", "--resume", run, "--steps", "40");
        Assert.True(longer.Code == ScgApp.Ok, longer.Err);
        Assert.Contains("resume: --steps 40 replaces the run's 30.", longer.Err);
        Assert.Equal(new Sbn.RunSchedule { Steps = 40, EvalEvery = 5, EvalSamples = 3 }, Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).Header.Schedule);
        var valid = Reporting.MetricsCsv.Read(Path.Combine(run, "metrics.csv")).Where(r => !double.IsNaN(r.ValidBound)).Select(r => r.Step);
        Assert.Equal([5, 10, 15, 20, 25, 30, 35, 40], valid);
    }

    [Fact]
    public void ATornLastLineAndRowsPastTheCheckpointAreDroppedWithANote()
    {
        var (whole, half) = WholeAndHalf();
        string metrics = Path.Combine(half, "metrics.csv");
        string[] rowsBefore = File.ReadAllLines(metrics);
        // rows of steps 21 and 22 (logged after the checkpoint of step 20), then a row cut short by a kill
        File.AppendAllText(metrics, "21,-20.5,,0.6667,0.5,100\n22,-20.4,,0.6667,0.5,100\n2001,-20.1");
        var resumed = Scg("train", "--resume", half, "--steps", "40");
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains($"'{metrics}': dropped the unfinished last line {rowsBefore.Length + 3} ('2001,-20.1').", resumed.Err);
        Assert.Contains($"'{metrics}': dropped 2 rows logged after step 20, where the checkpoint is.", resumed.Err);
        Assert.Equal(CheckpointBytes(whole), CheckpointBytes(half));
        Assert.Equal(Bounds(whole), Bounds(half));
        Assert.Empty(Directory.GetFiles(half, "*.tmp"));
    }

    [Fact]
    public void AnUnfinishedRowWithItsLineBreakIsDroppedButABadRowInsideTheFileIsBadInput()
    {
        var (whole, half) = WholeAndHalf();
        string metrics = Path.Combine(half, "metrics.csv");
        var good = File.ReadAllLines(metrics);

        File.WriteAllLines(metrics, [.. good[..5], "7,-21.0", .. good[5..]]);
        var bad = Scg("train", "--resume", half, "--steps", "40");
        Assert.Equal(ScgApp.BadInput, bad.Code);
        Assert.Contains($"'{metrics}' line 6: expected 6 comma-separated cells starting with a step, got '7,-21.0'.", bad.Err);
        Assert.Contains("the checkpoint alone resumes the run", bad.Err);
        Assert.Equal(20, Sbn.Checkpoint.Read(Path.Combine(half, "checkpoint.scg")).Header.Step);

        File.WriteAllLines(metrics, [.. good, "2001,-20.1"]);
        var resumed = Scg("train", "--resume", half, "--steps", "40");
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains("dropped the unfinished last line", resumed.Err);
        Assert.Equal(Bounds(whole), Bounds(half));
    }

    [Fact]
    public void AFolderHoldingOnlyItsCheckpointResumesAndGetsAMetricsFileFromItsStep()
    {
        var (whole, half) = WholeAndHalf();
        string alone = _dir.File("alone"), finished = _dir.File("finished");
        Directory.CreateDirectory(alone);
        File.Copy(Path.Combine(half, "checkpoint.scg"), Path.Combine(alone, "checkpoint.scg"));
        var resumed = Scg("train", "--resume", alone, "--steps", "40");
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Equal(CheckpointBytes(whole), CheckpointBytes(alone));
        Assert.Equal([Bounds(whole)[0], .. Bounds(whole).Skip(21)], Bounds(alone));   // the header, then steps 21 to 40

        // a finished run's checkpoint alone is evaluated again, with its pictures and an empty metrics file
        Directory.CreateDirectory(finished);
        File.Copy(Path.Combine(whole, "checkpoint.scg"), Path.Combine(finished, "checkpoint.scg"));
        var evaluated = Scg("train", "--resume", finished);
        Assert.True(evaluated.Code == ScgApp.Ok, evaluated.Err);
        Assert.Contains("evaluating only", evaluated.Err);
        Assert.Equal([MetricsCsv.Header], File.ReadAllLines(Path.Combine(finished, "metrics.csv")));
        Assert.True(File.Exists(Path.Combine(finished, "summary.md")));
    }

    /// <summary>The checkpoint at <paramref name="source"/> with its header JSON edited (or bytes patched), its CRC made valid again.</summary>
    static byte[] Crafted(string source, Action<JsonObject>? header = null, Action<byte[]>? patch = null)
    {
        byte[] bytes = File.ReadAllBytes(source);
        int length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var json = JsonNode.Parse(bytes.AsSpan(16, length))!.AsObject();
        header?.Invoke(json);
        byte[] edited = Encoding.UTF8.GetBytes(json.ToJsonString());
        var result = new byte[bytes.Length - length + edited.Length];
        bytes.AsSpan(0, 12).CopyTo(result);
        BinaryPrimitives.WriteInt32LittleEndian(result.AsSpan(12), edited.Length);
        edited.CopyTo(result, 16);
        bytes.AsSpan(16 + length).CopyTo(result.AsSpan(16 + edited.Length));
        patch?.Invoke(result);
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(result.Length - 4), System.IO.Hashing.Crc32.HashToUInt32(result.AsSpan(0, result.Length - 4)));
        return result;
    }

    public static TheoryData<string, string> CraftedHeaders => new()
    {
        { "data", "the data set is 'imagenet'; expected one of sbn-toy, mnist, fashion-mnist." },
        { "arity", "the arity is 3; expected a power of two ≥ 2 with corners encoding." },
        { "step", "the step is -5; expected ≥ 0." },
        { "igr-scale", "IGR's scale is Unit for concrete; expected Learned unless the estimator is igr." },
        { "igr-scale-number", "IGR's scale is 7; expected Learned or Unit." },
        { "igr-prior", "IGR's prior is given for concrete with a learned prior; expected none unless igr has a uniform prior." },
        { "header-length", "the header is 2147483647 bytes long; expected 2 to " },
        { "tensor-count", "the tensor count is 2147483647; expected 0 to " },
        { "dimension", "needs 4294967296 bytes; " },
    };

    /// <summary>The checkpoint of a 4-step run, trained once for every case.</summary>
    static readonly Lazy<byte[]> TinyCheckpoint = new(() =>
    {
        using var dir = new ScratchDir();
        Assert.Equal(ScgApp.Ok, Scg("train", "--steps", "4", "--eval-samples", "2", "--out", dir.Path).Code);
        return File.ReadAllBytes(Path.Combine(dir.Path, "checkpoint.scg"));
    });

    [Theory]
    [MemberData(nameof(CraftedHeaders))]
    public void ACraftedCheckpointWithAValidCrcIsBadInputNamingTheFileAndWhatWasExpected(string field, string message)
    {
        string run = _dir.File("run");
        Directory.CreateDirectory(run);
        string path = Path.Combine(run, "checkpoint.scg");
        File.WriteAllBytes(path, TinyCheckpoint.Value);
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(File.ReadAllBytes(path).AsSpan(12));
        byte[] crafted = field switch
        {
            "data" => Crafted(path, h => h["Data"] = "imagenet"),
            "arity" => Crafted(path, h => h["Arity"] = 3),
            "step" => Crafted(path, h => h["Step"] = -5),
            "igr-scale" => Crafted(path, h => h["IgrScale"] = "Unit"),
            "igr-scale-number" => Crafted(path, h => h["IgrScale"] = 7),
            "igr-prior" => Crafted(path, h => h["IgrPrior"] = new System.Text.Json.Nodes.JsonObject { ["Location"] = -2.0, ["Scale"] = 1.5 }),
            "header-length" => Crafted(path, patch: b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), int.MaxValue)),
            "tensor-count" => Crafted(path, patch: b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16 + headerLength), int.MaxValue)),
            // the first dimension of the first tensor becomes 1 << 30 (after the count, the name's length byte, the name and the rank)
            _ => Crafted(path, patch: b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16 + headerLength + 4 + 1 + b[16 + headerLength + 4] + 4), 1 << 30)),
        };
        File.WriteAllBytes(path, crafted);
        var before = CliTests.Snapshot(run);
        foreach (string[] command in (string[][])[["train", "--resume", run], ["eval", path, "--samples", "2"]])
        {
            var (code, stdout, stderr) = Scg(command);
            Assert.Equal(ScgApp.BadInput, code);
            string line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
            Assert.StartsWith($"scg {command[0]}: checkpoint '{path}' is malformed: ", line);
            Assert.Contains(message, line);
            Assert.Equal("", stdout);
        }
        Assert.Equal(before, CliTests.Snapshot(run));
    }

    static double Cell(string markdown, int row, int column) =>
        double.Parse(markdown.Split('\n').Where(l => l.StartsWith("| ") && !l.StartsWith("| split") && !l.StartsWith("| estimator")).ElementAt(row)
            .Split('|', StringSplitOptions.TrimEntries)[column], CultureInfo.InvariantCulture);

    [Fact]
    public void AnIgrRunIsValidatedAndEvaluatedAtItsOwnTemperature()
    {
        string run = _dir.File("igr"), other = _dir.File("other");
        var trained = Scg("train", "--estimator", "igr", "--temperature", "0.3", "--steps", "10", "--eval-samples", "20", "--out", run);
        Assert.True(trained.Code == ScgApp.Ok, trained.Err);
        // the same parameters, recorded as trained at another temperature
        Directory.CreateDirectory(other);
        File.WriteAllBytes(Path.Combine(other, "checkpoint.scg"), Crafted(Path.Combine(run, "checkpoint.scg"), h => h["PosteriorTemperature"] = "0.6667"));

        var atOwn = Scg("eval", run, "--samples", "20");
        var atOther = Scg("eval", other, "--samples", "20");
        Assert.True(atOwn.Code == ScgApp.Ok && atOther.Code == ScgApp.Ok, atOwn.Err + atOther.Err);
        double own = Cell(atOwn.Out, 0, 4), otherBound = Cell(atOther.Out, 0, 4);
        Assert.Equal(Cell(trained.Out, 0, 5), own);   // eval of the checkpoint repeats the run's own test bound
        Assert.NotEqual(own, otherBound);              // and the temperature is what makes the difference
    }

    [Fact]
    public void ResultsGoToStdoutAndProgressToStderr()
    {
        string run = _dir.File("run");
        var trained = Scg("train", "--steps", "10", "--eval-samples", "2", "--out", run);
        Assert.True(trained.Code == ScgApp.Ok, trained.Err);
        Assert.Contains("concrete m=1: 10/10 (100%)", trained.Err);
        Assert.All(trained.Out.Split('\n'), l => Assert.True(l.Length == 0 || l.StartsWith('|') || l.StartsWith("train bound: "), l));

        var (code, stdout, stderr) = Scg("eval", run, "--samples", "2");
        Assert.Equal(ScgApp.Ok, code);
        Assert.StartsWith("eval: ", stderr);
        Assert.Contains("test L_2: 1000/1000 (100%)", stderr);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);   // `scg eval run > result.md` holds the table alone
        Assert.StartsWith("| split | rows | k | L_2 |", lines[0]);
        Assert.StartsWith("| test | 1000 | 2 |", lines[2]);
    }

    [Fact]
    public void TheHelpDocumentsTheExitCodesOfAStoppedRun()
    {
        var (code, stdout, _) = Scg("--help");
        Assert.Equal(ScgApp.Ok, code);
        Assert.Contains($"{ScgApp.Interrupted} stopped by SIGINT (Ctrl-C) and {ScgApp.Terminated} by SIGTERM, both after writing a checkpoint", stdout);
        Assert.Equal((130, 75), (ScgApp.Interrupted, ScgApp.Terminated));
    }

    /// <summary>Asks the program to stop, as SIGTERM would, once a line of stderr holds <paramref name="trigger"/>.</summary>
    sealed class StopWhen(StopSignal stop, string trigger) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(trigger) == true) stop.Request("SIGTERM");
        }
    }

    [Fact]
    public void AStoppedReproductionResumesItsHalfFinishedRunAndDoesNotRerunFinishedOnes()
    {
        string[] reproduce = ["reproduce", "--data", "sbn-toy", "--rows", "200H-784V,m=1", "--steps", "10", "--eval-samples", "3"];
        string table = _dir.File("stopped/reproduce.md"), cells = _dir.File("stopped/reproduce-runs"), fresh = _dir.File("fresh/reproduce.md");
        Assert.Equal(ScgApp.Ok, Scg([.. reproduce, "--out", fresh]).Code);
        Assert.Contains("min of run time in all", File.ReadAllText(fresh));

        // stopped during its second run (nvil), after that run's first step
        using var stop = new StopSignal();
        var err = new StopWhen(stop, "[2/2] 8H-32V m=1 nvil: 0/10");
        int code = ScgApp.Run([.. reproduce, "--out", table], new StringWriter(), err, stop: stop);
        Assert.Equal(ScgApp.Terminated, code);
        string command = string.Join(' ', ["scg", .. reproduce, "--out", table]);
        Assert.EndsWith($"scg reproduce: stopped by SIGTERM after step 1 of [2/2] 8H-32V m=1 nvil; checkpoint '{Path.Combine(cells, "8H-32V-m1-nvil", "checkpoint.scg")}' " +
            $"holds step 1 of 10. Resume with: {command}\n", err.ToString());
        Assert.Contains("stopped by SIGTERM after 1 of 2 runs; rerun the same command to continue", File.ReadAllText(table));
        Assert.DoesNotContain("still running", File.ReadAllText(table));
        string concrete = Path.Combine(cells, "8H-32V-m1-concrete", "checkpoint.scg");
        var finishedAt = File.GetLastWriteTimeUtc(concrete);
        byte[] finishedBits = File.ReadAllBytes(concrete);

        // the rerun keeps the finished run and resumes the other from its step
        var rerun = Scg([.. reproduce, "--out", table]);
        Assert.True(rerun.Code == ScgApp.Ok, rerun.Err);
        Assert.Contains("[1/2] 8H-32V m=1 concrete: finished in an earlier run", rerun.Err);
        Assert.Contains("[2/2] 8H-32V m=1 nvil: resuming at step 1", rerun.Err);
        Assert.Equal(finishedAt, File.GetLastWriteTimeUtc(concrete));
        Assert.Equal(finishedBits, File.ReadAllBytes(concrete));
        string md = File.ReadAllText(table);
        Assert.Contains("min of run time in all", md);
        static string Row(string markdown) => string.Join('|', Assert.Single(markdown.Split('\n'), l => l.StartsWith("| 8H-32V")).Split('|')[..^2]);   // without the time
        Assert.Equal(Row(File.ReadAllText(fresh)), Row(md));
        Assert.Equal(File.ReadAllBytes(_dir.File("fresh/reproduce-runs/8H-32V-m1-nvil/checkpoint.scg")), File.ReadAllBytes(Path.Combine(cells, "8H-32V-m1-nvil", "checkpoint.scg")));

        // run again, nothing is trained; with other settings it is refused
        var third = Scg([.. reproduce, "--out", table]);
        Assert.True(third.Code == ScgApp.Ok, third.Err);
        Assert.DoesNotContain("resuming", third.Err);
        var other = Scg([.. reproduce, "--batch-size", "32", "--out", table]);
        Assert.Equal(ScgApp.BadInput, other.Code);
        Assert.Contains("was trained with --batch-size 64", other.Err);
    }
}
