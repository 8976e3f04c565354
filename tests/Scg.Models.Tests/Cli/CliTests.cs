using Scg.Cli;

namespace Scg.Models.Tests;

/// <summary>The scg program, run in-process through its entry point with captured output.</summary>
public sealed class CliTests : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static (int Code, string Out, string Err) Scg(params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        int code = ScgApp.Run(args, stdout, stderr, interactive: false);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A tiny but complete training run on sbn-toy (seconds).</summary>
    internal static string[] Tiny(params string[] more) => ["--steps", "12", "--eval-every", "6", "--eval-samples", "3", .. more];

    public static TheoryData<string[], string> BadInputs => new()
    {
        { ["train", "--estimator", "bogus"], "unknown estimator 'bogus'; expected one of: concrete, reinforce, nvil, vimco, igr, st." },
        { ["train", "--model", "200H~784"], "layer spec '200H~784': expected a layer like 200H or 784V" },
        { ["train", "--model", "200H-200H"], "the last layer must be observed (V)" },
        { ["train", "--temperature", "0"], "--temperature must be a number > 0" },
        { ["train", "--prior-temperature", "-0.5"], "--prior-temperature must be a number > 0" },
        { ["train", "--temperature", "exp:1,0.1"], "schedule exp:λ0,k,λmin" },
        { ["train", "-m", "0"], "--samples (m) must be ≥ 1, got 0." },
        { ["train", "--lr-decay", "-0.001"], "--lr-decay must be a number ≥ 0, got -0.001." },
        { ["train", "--lr", "0.001", "--lr-min", "0.01"], "--lr-min must be a number from 0 to --lr (0.001), got 0.01." },
        { ["train", "--estimator", "vimco"], "vimco needs m ≥ 2" },
        { ["train", "--arity", "3"], "--arity must be a power of two" },
        { ["train", "--encoding", "onehot", "--arity", "1"], "--arity must be ≥ 2 categories per one-hot node, got 1." },
        { ["train", "--encoding", "simplex"], "--encoding must be corners or onehot, got 'simplex'." },
        { ["train", "--prior", "flat"], "--prior must be learned or uniform, got 'flat'." },
        { ["train", "--model", "16V-8H-16V", "--prior", "uniform"], "--prior uniform expects a density model (a top latent layer with a prior), got the structured-prediction model '16V-8H-16V'" },
        { ["train", "--estimator", "igr", "--model", "4H~32V", "--arity", "4", "--prior", "uniform"], "igr with --prior uniform fits a uniform prior per categorical node: expected --encoding onehot or --arity 2, got --encoding corners with --arity 4." },
        { ["compare", "--estimators", "concrete,igr", "--model", "4H~32V", "--arity", "4", "--prior", "uniform"], "igr with --prior uniform" },
        { ["train", "--relaxed-output", "exp"], "--relaxed-output must be simplex, log or gaussian-log, got 'exp'." },
        { ["train", "--relaxed-output", "gaussian-log"], "--relaxed-output gaussian-log needs --encoding onehot" },
        { ["train", "--relaxed-output", "gaussian-log", "--encoding", "onehot", "--arity", "4", "--model", "4H~32V"], "--relaxed-output gaussian-log reads IGR's Gaussian coordinates; it needs --estimator igr, got --estimator concrete." },
        { ["train", "--relaxed-output", "log"], "--relaxed-output log needs --encoding onehot" },
        { ["train", "--relaxed-output", "log", "--encoding", "onehot", "--arity", "4", "--model", "4H~32V", "--estimator", "nvil"], "--relaxed-output log needs a relaxed estimator (concrete or igr), got --estimator nvil." },
        { ["train", "--estimator", "igr", "--igr-scale", "fixed"], "--igr-scale must be learned or unit, got 'fixed'." },
        { ["train", "--igr-scale", "unit"], "--igr-scale unit sets the scale of IGR's Gaussians; it needs --estimator igr, got --estimator concrete." },
        { ["train", "--estimator", "igr", "--igr-scale", "unit", "--model", "4H~32V", "--arity", "4", "--encoding", "onehot", "--prior", "uniform"], "--igr-scale unit holds IGR's σ at 1, but --prior uniform fits the prior's σ0" },
        { ["train", "--estimator", "igr", "--prior", "uniform", "--igr-prior", "wide"], "--igr-prior must be fit, code or MU,SIGMA (a finite mean and a finite scale > 0, e.g. -2.08,1.72), got 'wide'." },
        { ["train", "--estimator", "igr", "--prior", "uniform", "--igr-prior", "-2,0"], "--igr-prior must be fit, code or MU,SIGMA (a finite mean and a finite scale > 0, e.g. -2.08,1.72), got '-2,0'." },
        { ["train", "--estimator", "igr", "--prior", "uniform", "--igr-prior", "NaN,1"], "--igr-prior must be fit, code or MU,SIGMA" },
        { ["train", "--estimator", "igr", "--prior", "uniform", "--igr-prior", "1,2,3"], "--igr-prior must be fit, code or MU,SIGMA" },
        { ["train", "--estimator", "igr", "--igr-prior", "code"], "--igr-prior sets the Gaussian of IGR's uniform prior; it needs --prior uniform (a learned prior has its own parameters)." },
        { ["train", "--prior", "uniform", "--igr-prior", "code"], "--igr-prior sets the Gaussian of IGR's uniform prior; it needs --estimator igr, got --estimator concrete." },
        { ["train", "--binarization", "random"], "--binarization must be fixed, dynamic or threshold, got 'random'." },
        { ["train", "--binarization", "threshold"], "--binarization threshold expects a grayscale data set (mnist or fashion-mnist), got --data sbn-toy" },
        { ["train", "--binarization", "dynamic"], "--binarization dynamic expects a grayscale data set (mnist or fashion-mnist), got --data sbn-toy, whose rows are already bits" },
        { ["compare", "--binarization", "dynamic"], "--binarization dynamic expects a grayscale data set" },
        { ["reproduce", "--data", "sbn-toy", "--binarization", "dynamic"], "--binarization dynamic expects a grayscale data set" },
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
        foreach (string f in (string[])["metrics.csv", "checkpoint.scg", "curves.png", "curves.svg", "summary.md"])
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        Assert.False(File.Exists(Path.Combine(run, "images.png")), "sbn-toy rows are not images");
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

    internal static Dictionary<string, string> Snapshot(string dir) =>
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
        Assert.Contains("resuming at step 10", resumed.Err);

        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "checkpoint.scg")), File.ReadAllBytes(Path.Combine(split, "checkpoint.scg")));
        static IEnumerable<string> Bounds(string dir) => File.ReadLines(Path.Combine(dir, "metrics.csv")).Select(l => string.Join(',', l.Split(',')[..5]));
        Assert.Equal(Bounds(whole), Bounds(split));
    }

    [Fact]
    public void ADivergedTrainingStepExitsWithCodeTwoNamingTheStepAndKeepsTheLastGoodCheckpoint()
    {
        // a posterior temperature of 1e-300 makes the relaxed samples infinite at the first step
        string run = _dir.File("bad");
        var (code, _, stderr) = Scg(["train", "--temperature", "1e-300", "--prior-temperature", "1e300", .. Tiny("--out", run)]);
        Assert.Equal(ScgApp.BadInput, code);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Count(l => l.StartsWith("scg train: warning: ", StringComparison.Ordinal)));   // both temperatures are out of range
        string error = Assert.Single(lines, l => l.StartsWith("scg train: ", StringComparison.Ordinal) && !l.StartsWith("scg train: warning: ", StringComparison.Ordinal));   // one line of error below the progress lines
        Assert.StartsWith("scg train: concrete m=1: the run diverged at training step 1: ", error);
        Assert.Contains("last good checkpoint (step 0)", error);
        Assert.Equal(0, Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).Header.Step);
    }

    [Fact]
    public void DemoComparesTheThreeEstimatorsAndWritesThePictures()
    {
        string outDir = _dir.File("demo");
        var (code, stdout, stderr) = Scg("demo", "--steps", "30", "--eval-samples", "5", "--grad-draws", "3", "--out", outDir);
        Assert.True(code == ScgApp.Ok, stderr);
        Assert.Contains("| estimator | m | steps | train bound | test L_5 | test relaxed bound | vanishing gradients | model NLL (exact) | true NLL | gradient variance | steps/s |", stdout);
        Assert.Matches(@"\| nvil \| 1 \| 30 \| [-.0-9]+ \| [-.0-9]+ \| — \| — \|", stdout);   // no relaxed bound, no vanishing share for a score-function estimator
        Assert.Contains("| concrete | 1 | 30 |", stdout);
        Assert.Contains("| nvil | 1 | 30 |", stdout);
        Assert.Contains("| vimco | 5 | 30 |", stdout);
        foreach (string f in (string[])["curves.png", "curves.svg", "diagnostics.png", "diagnostics.svg", "summary.md", "nvil-m1/metrics.csv", "vimco-m5/checkpoint.scg", "concrete-m1/gradients.csv"])
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var legend = PlotTests.Texts(Path.Combine(outDir, "curves.svg"));
        foreach (string label in (string[])["concrete m=1: relaxed bound (train)", "nvil m=1: discrete L_1 (train)", "vimco m=5: discrete L_5 (train)", "vimco m=5", "true log-likelihood"])
            Assert.Contains(label, legend);
        // gradient statistics at every validation pass (every 3 steps), the last one the table's gradient variance
        Assert.Equal(11, File.ReadAllLines(Path.Combine(outDir, "concrete-m1/gradients.csv")).Length);
    }

    /// <summary>
    /// Test NLL (Concrete, VIMCO/NVIL) of every cell of the Concrete paper's MNIST tables, copied here from the paper:
    /// Table 1 (density estimation) and the table of Figure 4 (structured prediction).
    /// </summary>
    static readonly Dictionary<(string Model, int M), (string Concrete, string Vimco)> PaperTestNll = new()
    {
        [("200H-784V", 1)] = ("107.3", "104.4"), [("200H-784V", 5)] = ("104.9", "101.9"), [("200H-784V", 50)] = ("104.3", "98.8"),
        [("200H-200H-784V", 1)] = ("102.1", "92.9"), [("200H-200H-784V", 5)] = ("99.9", "91.7"), [("200H-200H-784V", 50)] = ("99.5", "90.7"),
        [("200H~784V", 1)] = ("92.1", "93.8"), [("200H~784V", 5)] = ("89.5", "91.4"), [("200H~784V", 50)] = ("88.5", "89.3"),
        [("200H~200H~784V", 1)] = ("87.9", "88.4"), [("200H~200H~784V", 5)] = ("86.3", "86.4"), [("200H~200H~784V", 50)] = ("85.7", "85.5"),
        [("392V-240H-240H-392V", 1)] = ("58.5", "61.4"), [("392V-240H-240H-392V", 5)] = ("54.3", "54.5"), [("392V-240H-240H-392V", 50)] = ("53.4", "51.8"),
        [("392V-240H-240H-240H-392V", 1)] = ("56.3", "59.7"), [("392V-240H-240H-240H-392V", 5)] = ("52.7", "53.5"), [("392V-240H-240H-240H-392V", 50)] = ("52.0", "50.2"),
    };

    /// <summary>The table has a row per paper cell, with our numbers and the paper's test NLL as the paper prints them.</summary>
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
        var quoted = new HashSet<(string, int)>();
        foreach (string row in rows)
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            string model = cells[1][(cells[1].IndexOf("(for ", StringComparison.Ordinal) + 5)..^1];
            int m = int.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(PaperTestNll.TryGetValue((model, m), out var paper), $"no paper cell {model}, m = {m}: {row}");
            Assert.True(quoted.Add((model, m)), $"cell {model}, m = {m} twice");
            string vimcoPaper = m == 1 ? $"{paper.Vimco} (NVIL)" : paper.Vimco;
            Assert.True(cells[4] == paper.Concrete && cells[6] == vimcoPaper,
                $"{model}, m = {m}: the table quotes {cells[4]} and {cells[6]}, the paper has {paper.Concrete} and {vimcoPaper}");
            Assert.True(double.TryParse(cells[3], System.Globalization.CultureInfo.InvariantCulture, out double concrete) && concrete > 0, row);
            Assert.True(double.TryParse(cells[5], System.Globalization.CultureInfo.InvariantCulture, out double vimco) && vimco > 0, row);
        }
        Assert.Contains("wrote", stderr);
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

    /// <summary>The test L_k cell of a run's row in the summary table.</summary>
    static double TestBound(string stdout, string estimator)
    {
        string row = Assert.Single(stdout.Split('\n'), l => l.StartsWith($"| {estimator} |"));
        return double.Parse(row.Split('|', StringSplitOptions.TrimEntries)[5], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Trained for 10 steps and resumed to 100 (lr 0.01, seed 1), the discrete VAE's test L_3 rises by at least
    /// <see cref="MinimumDvaeGain"/> nats (measured 1.9 with concrete and 2.6 with nvil; never below 1.9 over
    /// seeds 1 to 3; 0.01 without optimizer steps). The checkpoint keeps the model and its options.
    /// </summary>
    [Theory]
    [InlineData("concrete")]
    [InlineData("nvil")]
    public void ADiscreteVaeTrainsFromTheCommandLineAndItsOptionsSurviveTheCheckpoint(string estimator)
    {
        string run = _dir.File("dvae");
        string[] dvae = ["--model", "3H~32V", "--arity", "4", "--encoding", "onehot", "--prior", "uniform"];
        var (code, stdout, stderr) = Scg(["train", .. dvae, "--estimator", estimator, "--lr", "0.01", "--steps", "10", "--eval-every", "10", "--eval-samples", "3", "--out", run]);
        Assert.True(code == ScgApp.Ok, stderr);
        Assert.Contains("3H~32V (4-way one-hot nodes, uniform prior) on sbn-toy", stderr);
        double early = TestBound(stdout, estimator);

        // the checkpoint holds DiscreteVae.Create's model: same spec and options, parameter for parameter the same shapes
        var checkpoint = Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg"));
        var choice = Sbn.EstimatorChoice.Parse(estimator);
        var reference = Sbn.DiscreteVae.Create(3, TestModels.Family(estimator, 4, Stochastic.Graph.NodeEncoding.OneHot), 32, hiddenUnits: 0, choice.NeedsBaseline ? 100 : 0, new Autodiff.Rng(1));
        Assert.Equal(reference.Spec.Text, checkpoint.Header.Spec);
        Assert.Equal(reference.Options, checkpoint.Header.Options);
        var restored = checkpoint.CreateModel();
        Assert.Equal(reference.Parameters().Select(p => (p.Name, p.Shape.ToString())), restored.Parameters().Select(p => (p.Name, p.Shape.ToString())));
        // and the model the command line asked for, written out: 3 nodes of 4 categories, one-hot, uniform prior (NVIL adds its 100-unit baseline)
        Assert.Equal("3H~32V", checkpoint.Header.Spec);
        Assert.Equal(new Sbn.SbnOptions { UniformPrior = true, BaselineUnits = estimator == "nvil" ? 100 : 0 }, checkpoint.Header.Options);
        Assert.Equal((4, Stochastic.Graph.NodeEncoding.OneHot), (checkpoint.Header.Arity, checkpoint.Header.Encoding));

        // resumed without the options, the run keeps them and trains on; with other ones it is refused
        var resumed = Scg("train", "--resume", run, "--steps", "100", "--eval-every", "90", "--eval-samples", "3");
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains("3H~32V (4-way one-hot nodes, uniform prior)", resumed.Err);
        double trained = TestBound(resumed.Out, estimator);
        Assert.True(trained - early >= MinimumDvaeGain, $"test L_3 {early} after 10 steps, {trained} after 100");
        var before = Snapshot(run);
        foreach (string[] other in (string[][])[["--encoding", "corners", "--arity", "2"], ["--prior", "learned"], ["--arity", "3"]])
        {
            var refused = Scg(["train", "--resume", run, "--steps", "120", .. other]);
            Assert.Equal(ScgApp.BadInput, refused.Code);
            Assert.Contains("holds model 3H~32V (arity 4 one-hot, uniform prior", refused.Err);
        }
        Assert.Equal(before, Snapshot(run));

        var eval = Scg("eval", run, "--samples", "4", "--rows", "50");
        Assert.True(eval.Code == ScgApp.Ok, eval.Err);
        Assert.Contains("| test | 50 | 4 |", eval.Out);
    }

    [Fact]
    public void IgrWithItsScaleHeldAtOneHasHalfTheNodeParametersAndKeepsItsScaleOnResume()
    {
        string unit = _dir.File("unit"), learned = _dir.File("learned");
        string[] igr = ["--estimator", "igr", "--model", "3H~32V", "--arity", "4", "--encoding", "onehot"];
        var trained = Scg(["train", .. igr, "--igr-scale", "unit", .. Tiny("--out", unit)]);
        Assert.True(trained.Code == ScgApp.Ok, trained.Err);
        Assert.True(Scg(["train", .. igr, .. Tiny("--out", learned)]).Code == ScgApp.Ok);
        var header = Sbn.Checkpoint.Read(Path.Combine(unit, "checkpoint.scg")).Header;
        Assert.Equal(Stochastic.Graph.IgrScale.Unit, header.IgrScale);
        Assert.Contains("Gaussian unit-scale node parameters", header.ModelDescription);
        Assert.Equal(Stochastic.Graph.IgrScale.Learned, Sbn.Checkpoint.Read(Path.Combine(learned, "checkpoint.scg")).Header.IgrScale);
        // 3 nodes × (4 − 1) means, without their log-scales: 9 fewer outputs of the encoder's 32 → 3H layer and of the top prior
        int Width(string run) => Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).CreateModel().Parameters().Sum(p => p.Span.Length);
        Assert.Equal(9 * (32 + 1) + 9, Width(learned) - Width(unit));

        var resumed = Scg("train", "--resume", unit, "--steps", "20", "--eval-samples", "3");
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Equal(Stochastic.Graph.IgrScale.Unit, Sbn.Checkpoint.Read(Path.Combine(unit, "checkpoint.scg")).Header.IgrScale);
        var before = Snapshot(unit);
        var refused = Scg("train", "--resume", unit, "--steps", "30", "--igr-scale", "learned");
        Assert.Equal(ScgApp.BadInput, refused.Code);
        Assert.Contains("Gaussian unit-scale node parameters", refused.Err);
        Assert.Equal(before, Snapshot(unit));
    }

    [Fact]
    public void AGivenIgrPriorIsRecordedKeptOnResumeAndAnotherIsRefused()
    {
        string given = _dir.File("given"), fitted = _dir.File("fitted");
        string[] igr = ["--estimator", "igr", "--model", "3H~32V", "--arity", "4", "--encoding", "onehot", "--prior", "uniform", "--kl", "analytic"];
        var trained = Scg(["train", .. igr, "--igr-prior", "-1.5,0.75", .. Tiny("--out", given)]);
        Assert.True(trained.Code == ScgApp.Ok, trained.Err);
        Assert.Contains("IGR's Gaussian given as μ0 = -1.5, σ0 = 0.75", trained.Err);
        Assert.True(Scg(["train", .. igr, .. Tiny("--out", fitted)]).Code == ScgApp.Ok);
        Assert.Equal(new Stochastic.Graph.IgrPriorGaussian(-1.5, 0.75), Sbn.Checkpoint.Read(Path.Combine(given, "checkpoint.scg")).Header.IgrPrior);
        Assert.Null(Sbn.Checkpoint.Read(Path.Combine(fitted, "checkpoint.scg")).Header.IgrPrior);
        // the prior is the model's constant: the given one, not the fit, in every coordinate
        var model = Sbn.Checkpoint.Read(Path.Combine(given, "checkpoint.scg")).CreateModel();
        var prior = model.TopPrior!.ToDoubles();
        Assert.All(prior[..(prior.Length / 2)], v => Assert.Equal(-1.5f, (float)v));
        Assert.All(prior[(prior.Length / 2)..], v => Assert.Equal((float)Math.Log(0.75), (float)v));
        Assert.NotEqual(prior, Sbn.Checkpoint.Read(Path.Combine(fitted, "checkpoint.scg")).CreateModel().TopPrior!.ToDoubles());

        var resumed = Scg("train", "--resume", given, "--steps", "20", "--eval-samples", "3");
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Equal(new Stochastic.Graph.IgrPriorGaussian(-1.5, 0.75), Sbn.Checkpoint.Read(Path.Combine(given, "checkpoint.scg")).Header.IgrPrior);
        var before = Snapshot(given);
        var refused = Scg("train", "--resume", given, "--steps", "30", "--igr-prior", "code");
        Assert.Equal(ScgApp.BadInput, refused.Code);
        Assert.Contains("has IGR's uniform prior N(μ0 = -1.5, σ0 = 0.75), not N(μ0 = -2.0794415416798357, σ0 = 1.718281828459045)", refused.Err);
        Assert.Equal(before, Snapshot(given));
    }

    const double MinimumDvaeGain = 1.0;

    /// <summary>
    /// A stand-in for MNIST in &lt;dir&gt;/mnist: 2×4 grayscale images, 10,048 in the training file (the last 10,000
    /// validate, as in the standard split, leaving 48 to train on) and 16 in the test file.
    /// </summary>
    string FakeMnist()
    {
        string dir = _dir.File("data"), folder = Path.Combine(dir, "mnist");
        Directory.CreateDirectory(folder);
        Tests.Data.TestFiles.WriteIdx(Path.Combine(folder, Models.Data.Mnist.TrainImagesFile), [10_048, 2, 4], Tests.Data.TestFiles.Pixels(10_048 * 8, seed: 41));
        Tests.Data.TestFiles.WriteIdx(Path.Combine(folder, Models.Data.Mnist.TestImagesFile), [16, 2, 4], Tests.Data.TestFiles.Pixels(16 * 8, seed: 42));
        return dir;
    }

    [Fact]
    public void DynamicBinarizationIsRecordedAndAResumedRunDrawsTheSameBits()
    {
        string data = FakeMnist(), whole = _dir.File("whole"), split = _dir.File("split"), fixedRun = _dir.File("fixed");
        string[] common = ["--data", "mnist", "--data-dir", data, "--model", "4H-8V", "--batch-size", "16", "--estimator", "nvil", "--lr", "0.01",
            "--eval-every", "5", "--eval-samples", "3"];
        var first = Scg(["train", .. common, "--binarization", "dynamic", "--steps", "20", "--out", whole]);
        Assert.True(first.Code == ScgApp.Ok, first.Err);
        Assert.Contains("on mnist (dynamic binarization)", first.Err);
        Assert.Equal(ScgApp.Ok, Scg(["train", .. common, "--binarization", "dynamic", "--steps", "10", "--out", split]).Code);
        Assert.Equal(Models.Data.Binarization.Dynamic, Sbn.Checkpoint.Read(Path.Combine(split, "checkpoint.scg")).Header.Binarization);

        var before = Snapshot(split);
        var otherBits = Scg("train", "--resume", split, "--binarization", "fixed", "--steps", "20", "--data-dir", data);
        Assert.Equal(ScgApp.BadInput, otherBits.Code);
        Assert.Contains("was trained on mnist (dynamic binarization), not mnist.", otherBits.Err);
        Assert.Equal(before, Snapshot(split));

        var resumed = Scg("train", "--resume", split, "--steps", "20", "--eval-every", "5", "--eval-samples", "3", "--data-dir", data);
        Assert.True(resumed.Code == ScgApp.Ok, resumed.Err);
        Assert.Contains("resuming at step 10", resumed.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(whole, "checkpoint.scg")), File.ReadAllBytes(Path.Combine(split, "checkpoint.scg")));
        static IEnumerable<string> Bounds(string dir) => File.ReadLines(Path.Combine(dir, "metrics.csv")).Select(l => string.Join(',', l.Split(',')[..5]));
        Assert.Equal(Bounds(whole), Bounds(split));

        // the same run on the fixed bits trains on other data
        Assert.Equal(ScgApp.Ok, Scg(["train", .. common, "--steps", "20", "--out", fixedRun]).Code);
        Assert.Equal(Models.Data.Binarization.Fixed, Sbn.Checkpoint.Read(Path.Combine(fixedRun, "checkpoint.scg")).Header.Binarization);
        Assert.NotEqual(Bounds(whole).Skip(1).Select(l => l.Split(',')[1]), Bounds(fixedRun).Skip(1).Select(l => l.Split(',')[1]));
    }

    [Fact]
    public void ThresholdedRunsAreRecordedAndEvaluatedOnThresholdedTestBits()
    {
        string data = FakeMnist(), run = _dir.File("threshold");
        var trained = Scg("train", "--data", "mnist", "--data-dir", data, "--binarization", "threshold", "--model", "4H-8V", "--batch-size", "16",
            "--estimator", "nvil", "--lr", "0.01", "--steps", "10", "--eval-every", "5", "--eval-samples", "3", "--out", run);
        Assert.True(trained.Code == ScgApp.Ok, trained.Err);
        Assert.Contains("on mnist (thresholded)", trained.Err);
        var checkpoint = Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg"));
        Assert.Equal(Models.Data.Binarization.Threshold, checkpoint.Header.Binarization);

        var eval = Scg("eval", run, "--samples", "5", "--split", "test", "--data-dir", data);
        Assert.True(eval.Code == ScgApp.Ok, eval.Err);
        var test = Models.Data.Mnist.Load(Models.Data.Binarization.Threshold, data).Test;
        double expected = Sbn.Evaluation.Bound(checkpoint.CreateModel(), test.Values, 5, Seeds.For(1, Seeds.Test), checkpoint.Header.Step);
        Assert.Contains(expected.ToString("F3", System.Globalization.CultureInfo.InvariantCulture), eval.Out);
    }

    [Fact]
    public void ImageRunsWriteLabelledRowsOfTheTestImagesAndTheModelsMeans()
    {
        string data = FakeMnist();
        var test = Models.Data.Mnist.Load(Models.Data.Binarization.Fixed, data).Test;
        foreach (string model in (string[])["4H~8V", "4V-4H-4V"])
        {
            bool conditional = model == "4V-4H-4V";   // given the top row of each 2×4 image, it predicts the bottom row
            string run = _dir.File(model);
            var (code, stdout, stderr) = Scg(["train", "--data", "mnist", "--data-dir", data, "--model", model, "--batch-size", "16", .. Tiny("--out", run)]);
            Assert.True(code == ScgApp.Ok, stderr);
            Assert.Contains("images.png/.svg", stderr);
            string[] labels = conditional ? ["data", "prediction"] : ["data", "reconstruction", "sample", "sample"];
            var texts = PlotTests.Texts(Path.Combine(run, "images.svg"));
            foreach (string label in labels.Distinct()) Assert.Contains(label, texts);
            Assert.True(File.Exists(Path.Combine(run, "images.png")));

            var trained = Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).CreateTrainer(new Autodiff.Rng(0));
            var rows = Experiment.ImageRows(trained, test, seed: 1)!;
            Assert.Equal(labels, rows.Select(r => r.Label));
            Assert.Equal(test.Values[..(12 * 8)].ToArray(), rows[0].Values);
            var means = new List<float>();
            for (int i = 0; i < 12; i++)
                for (int f = 0; f < 8; f++)
                {
                    float mean = rows[1].Values[i * 8 + f];
                    if (conditional && f < 4) Assert.Equal(test.Row(i)[f], mean);   // the given half
                    else means.Add(mean);
                }
            Assert.Contains(means, m => m is > 0 and < 1);   // probabilities, not bits
            if (!conditional) Assert.All(rows[2].Values.Concat(rows[3].Values), v => Assert.True(v is 0 or 1));   // samples are bits
        }
    }

    [Fact]
    public void CompareOnDynamicBitsWritesReconstructionsPerEstimator()
    {
        string data = FakeMnist(), outDir = _dir.File("compare");
        var (code, stdout, stderr) = Scg("compare", "--data", "mnist", "--data-dir", data, "--binarization", "dynamic", "--model", "4H-8V", "--batch-size", "16",
            "--estimators", "concrete,nvil", "--grad-draws", "3", "--steps", "10", "--eval-samples", "3", "--out", outDir);
        Assert.True(code == ScgApp.Ok, stderr);
        Assert.Contains("# scg compare: 4H-8V on mnist (dynamic binarization)", File.ReadAllText(Path.Combine(outDir, "summary.md")));
        foreach (string run in (string[])["concrete-m1", "nvil-m1"])
        {
            Assert.True(File.Exists(Path.Combine(outDir, run, "images.png")), run);
            Assert.Equal(Models.Data.Binarization.Dynamic, Sbn.Checkpoint.Read(Path.Combine(outDir, run, "checkpoint.scg")).Header.Binarization);
        }
        Assert.Contains("and images.png/.svg", stderr);
    }

    [Fact]
    public void HelpDocumentsEveryOptionWithItsDefault()
    {
        var (code, stdout, _) = Scg("train", "--help");
        Assert.Equal(ScgApp.Ok, code);
        foreach (string expected in (string[])["--model", "[default: 4H~8H~32V for sbn-toy, 200H~200H~784V for mnist and fashion-mnist]",
                     "-e, --estimator", "[default: concrete]", "-m, --samples", "[default: 1]", "--temperature", "[default: 0.6667]",
                     "--prior-temperature", "[default: 0.5]", "--lr", "[default: 0.0003]", "--weight-decay", "--steps", "--batch-size", "[default: 64]",
                     "--seed", "--data", "[default: sbn-toy]", "--arity", "[default: 2]", "--eval-samples", "[default: 1000]", "--eval-every", "--out", "--resume",
                     "--binarization", "[default: fixed]", "--encoding", "[default: corners]", "--prior", "[default: learned]"])
            Assert.Contains(expected, stdout);
        foreach (string command in (string[])["eval", "compare", "reproduce", "demo"])
        {
            var help = Scg(command, "--help");
            Assert.Equal(ScgApp.Ok, help.Code);
            Assert.Contains("[default:", help.Out);
            if (command is "compare" or "reproduce") Assert.Contains("--binarization", help.Out);
            if (command == "compare") Assert.Contains("--encoding", help.Out);
        }
        Assert.Contains("demo", Scg("--help").Out);
    }
}
