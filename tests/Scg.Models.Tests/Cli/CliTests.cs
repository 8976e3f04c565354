using Scg.Cli;

namespace Scg.Models.Tests;

/// <summary>The scg program, run in-process through its entry point with captured output.</summary>
public sealed class CliTests : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Scg(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = ScgApp.Run(args, stdout, stderr, interactive: false);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A tiny but complete training run on sbn-toy (seconds).</summary>
    static string[] Tiny(params string[] more) => ["--steps", "12", "--eval-every", "6", "--eval-samples", "3", .. more];

    public static TheoryData<string[], string> BadInputs => new()
    {
        { ["train", "--estimator", "bogus"], "unknown estimator 'bogus'; expected one of: concrete, reinforce, nvil, vimco, igr, st." },
        { ["train", "--model", "200H~784"], "layer spec '200H~784': expected a layer like 200H or 784V" },
        { ["train", "--model", "200H-200H"], "the last layer must be observed (V)" },
        { ["train", "--temperature", "0"], "--temperature must be a number > 0" },
        { ["train", "--prior-temperature", "-0.5"], "--prior-temperature must be a number > 0" },
        { ["train", "--temperature", "exp:1,0.1"], "schedule exp:λ0,k,λmin" },
        { ["train", "-m", "0"], "--samples (m) must be ≥ 1, got 0." },
        { ["train", "--estimator", "vimco"], "vimco needs m ≥ 2" },
        { ["train", "--arity", "3"], "--arity must be a power of two" },
        { ["train", "--model", "200H-784V"], "rows have 32; expected a last layer of 32V" },
        { ["train", "--data", "imagenet"], "unknown data set 'imagenet'" },
        { ["train", "--eval-samples", "50001"], "between 1 and 50000" },
        { ["train", "--steps", "many"], "'many'" },
        { ["compare", "--estimators", "concrete,bogus"], "unknown estimator 'bogus'" },
        { ["compare", "--estimators", "concrete,vimco"], "vimco needs m ≥ 2" },
        { ["reproduce", "--data", "sbn-toy", "--rows", "m=7"], "--rows: 'm=7' is not a term of the tables" },
        { ["demo", "--steps", "0"], "--steps must be ≥ 1" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInputIsOneLineOnStderrExitCodeTwoAndNothingWritten(string[] args, string message)
    {
        string outDir = _dir.File("run");
        var (code, stdout, stderr) = Scg([.. args, "--out", args[0] == "reproduce" ? Path.Combine(outDir, "table.md") : outDir]);
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains(message, stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"scg {args[0]}: ", stderr);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(outDir), "nothing may be written on bad input");
    }

    [Fact]
    public void AMissingDataFileIsBadInput()
    {
        string outDir = _dir.File("run"), empty = _dir.File("no-data-here");
        var (code, _, stderr) = Scg(["train", "--data", "mnist", "--data-dir", empty, "--out", outDir]);
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains("data set 'mnist' could not be loaded: MNIST not found", stderr);
        Assert.Contains("scripts/fetch-mnist.sh", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void EvalOfAMissingOrForeignFileIsBadInput()
    {
        var missing = Scg("eval", _dir.File("nope.scg"));
        Assert.Equal(ScgApp.BadInput, missing.Code);
        Assert.Contains("does not exist", missing.Err);
        File.WriteAllText(_dir.File("notes.txt"), "hello");
        var foreign = Scg("eval", _dir.File("notes.txt"));
        Assert.Equal(ScgApp.BadInput, foreign.Code);
        Assert.Contains("is not an scg checkpoint", foreign.Err);
    }

    [Fact]
    public void TrainWritesTheRunFolderAndACheckpointOfAnotherModelIsRefused()
    {
        string run = _dir.File("run");
        var (code, stdout, stderr) = Scg(["train", .. Tiny("--out", run)]);
        Assert.True(code == ScgApp.Ok, stderr);
        foreach (string f in (string[])["metrics.csv", "checkpoint.scg", "curves.svg", "samples.png", "data.png", "summary.md"])
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        Assert.Contains("true NLL", stdout);
        Assert.Contains("| concrete | 1 | 12 |", stdout);
        Assert.Equal(12, Reporting.MetricsCsv.Read(Path.Combine(run, "metrics.csv")).Count);

        var before = Snapshot(run);
        var refused = Scg(["train", "--resume", run, "--model", "4H-32V", "--steps", "20"]);
        Assert.Equal(ScgApp.BadInput, refused.Code);
        Assert.Contains("holds model 4H~8H~32V", refused.Err);
        Assert.Single(refused.Err.TrimEnd('\n').Split('\n'));
        var otherEstimator = Scg(["train", "--resume", run, "--estimator", "nvil", "--steps", "20"]);
        Assert.Equal(ScgApp.BadInput, otherEstimator.Code);
        Assert.Contains("trained with concrete", otherEstimator.Err);
        var again = Scg(["train", .. Tiny("--out", run)]);
        Assert.Equal(ScgApp.BadInput, again.Code);
        Assert.Contains("already holds a run", again.Err);
        Assert.Equal(before, Snapshot(run));

        var eval = Scg("eval", run, "--samples", "5", "--split", "valid");
        Assert.True(eval.Code == ScgApp.Ok, eval.Err);
        Assert.Contains("| valid | 1000 | 5 |", eval.Out);
    }

    static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), f => Convert.ToBase64String(File.ReadAllBytes(f)));

    [Fact]
    public void ResumingRepeatsTheUninterruptedRunBitForBit()
    {
        string whole = _dir.File("whole"), split = _dir.File("split");
        string[] common = ["--estimator", "nvil", "--eval-every", "5", "--eval-samples", "3", "--lr", "0.003"];
        Assert.Equal(ScgApp.Ok, Scg(["train", .. common, "--steps", "20", "--out", whole]).Code);
        Assert.Equal(ScgApp.Ok, Scg(["train", .. common, "--steps", "10", "--out", split]).Code);
        var resumed = Scg(["train", "--resume", Path.Combine(split, "checkpoint.scg"), "--steps", "20", "--eval-every", "5", "--eval-samples", "3"]);
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains("resuming at step 10", resumed.Out);

        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "checkpoint.scg")), File.ReadAllBytes(Path.Combine(split, "checkpoint.scg")));
        static IEnumerable<string> Bounds(string dir) => File.ReadLines(Path.Combine(dir, "metrics.csv")).Select(l => string.Join(',', l.Split(',')[..5]));
        Assert.Equal(Bounds(whole), Bounds(split));
    }

    [Fact]
    public void AFailedTrainingStepExitsWithCodeOneNamingTheStepAndKeepsTheLastGoodCheckpoint()
    {
        // a posterior temperature of 1e-300 makes the relaxed samples infinite at the first step
        string run = _dir.File("bad");
        var (code, _, stderr) = Scg(["train", "--temperature", "1e-300", "--prior-temperature", "1e300", .. Tiny("--out", run)]);
        Assert.Equal(ScgApp.Failed, code);
        Assert.Contains("training step 1 failed", stderr);
        Assert.Contains("last good checkpoint (step 0)", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal(0, Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).Header.Step);
    }

    [Fact]
    public void DemoComparesTheThreeEstimatorsAndWritesThePictures()
    {
        string outDir = _dir.File("demo");
        var (code, stdout, stderr) = Scg("demo", "--steps", "30", "--eval-samples", "5", "--grad-draws", "3", "--out", outDir);
        Assert.True(code == ScgApp.Ok, stderr);
        Assert.Contains("| estimator | m | steps | train bound | test L_5 | model NLL (exact) | true NLL | gradient variance | steps/s |", stdout);
        Assert.Contains("| concrete | 1 | 30 |", stdout);
        Assert.Contains("| nvil | 1 | 30 |", stdout);
        Assert.Contains("| vimco | 5 | 30 |", stdout);
        foreach (string f in (string[])["curves.svg", "data.png", "summary.md", "concrete-m1/samples.png", "nvil-m1/metrics.csv", "vimco-m5/checkpoint.scg"])
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var svg = System.Xml.Linq.XDocument.Load(Path.Combine(outDir, "curves.svg"));
        Assert.True(svg.Descendants().Count(e => e.Name.LocalName == "polyline") >= 3);
    }

    [Fact]
    public void ReproduceAtACiSizedBudgetWritesTheMarkdownTable()
    {
        string table = _dir.File("out/reproduce.md");
        var (code, stdout, stderr) = Scg("reproduce", "--data", "sbn-toy", "--steps", "10", "--eval-samples", "5", "--sp-eval-samples", "5", "--out", table);
        Assert.True(code == ScgApp.Ok, stderr);
        string md = File.ReadAllText(table);
        Assert.Contains("## Density estimation (Table 1, test NLL)", md);
        Assert.Contains("## Structured prediction", md);
        Assert.Contains("| model | m | Concrete (ours) | Concrete (paper) | VIMCO/NVIL (ours) | VIMCO/NVIL (paper) | true NLL | time (s) |", md);
        Assert.Contains("**10 steps**", md);
        var rows = md.Split('\n').Where(l => l.StartsWith("| ") && l.Contains("(for ")).ToList();
        Assert.Equal(18, rows.Count);   // 4 density models × 3 m + 2 structured models × 3 m
        Assert.Contains(rows, r => r.StartsWith("| 8H~8H~32V (for 200H~200H~784V) | 50 |") && r.Contains("| 85.7 |") && r.Contains("| 85.5 |"));
        Assert.Contains(rows, r => r.StartsWith("| 16V-8H-8H-16V (for 392V-240H-240H-392V) | 1 |") && r.Contains("| 58.5 |") && r.Contains("61.4 (NVIL)"));
        foreach (string row in rows)
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            Assert.True(double.TryParse(cells[3], System.Globalization.CultureInfo.InvariantCulture, out double concrete) && concrete > 0, row);
            Assert.True(double.TryParse(cells[5], System.Globalization.CultureInfo.InvariantCulture, out double vimco) && vimco > 0, row);
        }
        Assert.Contains("wrote", stdout);
    }

    [Fact]
    public void ReproduceRowFilterSelectsCells()
    {
        string table = _dir.File("r.md");
        var (code, _, stderr) = Scg("reproduce", "--data", "sbn-toy", "--rows", "200H-784V,m=5,concrete", "--steps", "3", "--eval-samples", "2", "--out", table);
        Assert.True(code == ScgApp.Ok, stderr);
        var rows = File.ReadAllLines(table).Where(l => l.StartsWith("| ") && l.Contains("(for ")).ToList();
        var row = Assert.Single(rows);
        Assert.StartsWith("| 8H-32V (for 200H-784V) | 5 |", row);
        Assert.Equal("—", row.Split('|', StringSplitOptions.TrimEntries)[5]);   // vimco was not run
    }

    [Fact]
    public void HelpDocumentsEveryOptionWithItsDefault()
    {
        var (code, stdout, _) = Scg("train", "--help");
        Assert.Equal(ScgApp.Ok, code);
        foreach (string expected in (string[])["--model", "[default: 4H~8H~32V for sbn-toy, 200H~200H~784V for mnist and fashion-mnist]",
                     "-e, --estimator", "[default: concrete]", "-m, --samples", "[default: 1]", "--temperature", "[default: 0.6667]",
                     "--prior-temperature", "[default: 0.5]", "--lr", "[default: 0.0003]", "--weight-decay", "--steps", "--batch-size", "[default: 64]",
                     "--seed", "--data", "[default: sbn-toy]", "--arity", "[default: 2]", "--eval-samples", "[default: 1000]", "--eval-every", "--out", "--resume"])
            Assert.Contains(expected, stdout);
        foreach (string command in (string[])["eval", "compare", "reproduce", "demo"])
        {
            var help = Scg(command, "--help");
            Assert.Equal(ScgApp.Ok, help.Code);
            Assert.Contains("[default:", help.Out);
        }
        Assert.Contains("demo", Scg("--help").Out);
    }
}
