using Scg.Cli;
using Scg.Models.Tests.Data;


namespace Scg.Models.Tests;

/// <summary><c>scg reproduce --paper igr</c>: rows as sweeps over seeds, the table, continuing, and what it refuses.</summary>
public sealed class IgrReproductionTests : IDisposable
{
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The values of <paramref name="options"/> in the first cell of a row's sweep (its arguments write out every train option, defaults included).</summary>
    static string[] FirstCellValues(string runs, string row, params string[] options)
    {
        var args = SweepManifest.Read(Path.Combine(runs, row)).Cells[0].Args;
        return [.. options.Select(o => args[Array.IndexOf(args, o) + 1])];
    }

    /// <summary>A 2-step, 1-seed reproduction of <paramref name="rows"/> with <paramref name="options"/> into table <paramref name="name"/>.md: its runs folder and the table's text.</summary>
    (string Runs, string Table) Reproduce(string name, string rows, params string[] options)
    {
        string table = _dir.File(name + ".md");
        var (code, _, stderr) = CliTests.Scg(["reproduce", "--paper", "igr", .. options, "--rows", rows, "--steps", "2", "--eval-samples", "2", "--seeds", "1", "--jobs", "1", "-o", table]);
        Assert.True(code == ScgApp.Ok, stderr);
        return (_dir.File(name + "-runs"), File.ReadAllText(table));
    }

    [DataFact("mnist")]
    public void ARowIsASweepOverSeedsItsTableSitsBesideThePapersAndARerunContinues()
    {
        string table = _dir.File("igr.md");
        string[] args = ["reproduce", "--paper", "igr", "--rows", "sp-gs-0.25", "--steps", "2", "--eval-samples", "2", "--seeds", "1,2", "--jobs", "2", "-o", table];
        var (code, stdout, stderr) = CliTests.Scg(args);
        Assert.True(code == ScgApp.Ok, stderr);
        string sweep = Path.Combine(_dir.File("igr-runs"), "sp-gs-0.25");
        var manifest = SweepManifest.Read(sweep);
        Assert.Equal(2, manifest.Cells.Length);
        Assert.Equal(["--model", "392V-240H-240H-392V"], manifest.Cells[0].Args.SkipWhile(a => a != "--model").Take(2));
        Assert.Equal(["concrete", "0.25", "0.25", "dynamic"],
            FirstCellValues(_dir.File("igr-runs"), "sp-gs-0.25", "--estimator", "--temperature", "--prior-temperature", "--binarization"));
        foreach (var cell in manifest.Cells) Assert.True(File.Exists(Path.Combine(sweep, cell.Folder, "done.json")), cell.Folder);
        string markdown = File.ReadAllText(table);
        Assert.Equal(markdown.Trim(), stdout.Trim()[stdout.Trim().IndexOf("# The IGR paper", StringComparison.Ordinal)..]);
        Assert.Contains("lr 1e-3, seeds 1, 2. ", markdown);
        Assert.Contains("2 of 2 runs finished", markdown);
        Assert.Contains("| GS(0.25) | 2/2 |", markdown);
        Assert.Contains("| 69.28 |", markdown);   // the paper's NLL beside ours
        Assert.Contains("Ordering, ours: GS(0.25); the paper's: GS(0.25) (the same).", markdown);

        var again = CliTests.Scg(args);
        Assert.True(again.Code == ScgApp.Ok, again.Err);
        Assert.Contains("0 to run", again.Err);
        var other = CliTests.Scg([.. args[..^2].Select(a => a == "2" ? "3" : a), "-o", table]);   // --steps 3 …: other settings
        Assert.Equal(ScgApp.BadInput, other.Code);
        Assert.Contains("holds row sp-gs-0.25 with other settings", other.Err);
    }

    [DataFact("mnist")]
    public void ThresholdedRowsTrainOnThresholdedImagesAndTheTableSaysSo()
    {
        var (runs, table) = Reproduce("igr-threshold", "sp-igr-0.5", "--binarization", "threshold");
        Assert.Equal(["threshold"], FirstCellValues(runs, "sp-igr-0.5", "--binarization"));
        Assert.Contains("every image thresholded at intensity 1/2", table);
        Assert.Contains("lr 1e-3, seed 1. ", table);
    }

    [DataFact("mnist")]
    public void WithTheScaleHeldAtOneOnlyTheIgrRowsHoldIt()
    {
        var (runs, table) = Reproduce("igr-unit", "sp-igr-0.1,sp-gs-0.25", "--igr-scale", "unit");
        Assert.Equal(["unit"], FirstCellValues(runs, "sp-igr-0.1", "--igr-scale"));
        Assert.Equal(["learned"], FirstCellValues(runs, "sp-gs-0.25", "--igr-scale"));
        Assert.Contains("IGR's Gaussians have σ held at 1", table);
    }

    [DataFact("mnist")]
    public void WithTheCodesPriorOnlyTheVaesIgrRowsTakeIt()
    {
        var (runs, table) = Reproduce("igr-prior", "igr-0.1,gs-0.25,sp-igr-0.5", "--igr-prior", "code");
        Assert.Equal(["code"], FirstCellValues(runs, "igr-0.1", "--igr-prior"));
        Assert.Equal(["fit"], FirstCellValues(runs, "gs-0.25", "--igr-prior"));
        Assert.Equal(["fit"], FirstCellValues(runs, "sp-igr-0.5", "--igr-prior"));
        Assert.Contains("The VAE's IGR rows have the uniform prior's Gaussian given, μ0 = -2.0794 and σ0 = 1.7183 in every coordinate (the paper's VAE code's), instead of fitted by Eq. 20.", table);
    }

    [DataFact("mnist")]
    public void WithTheCodesDecoderInputOnlyTheVaesIgrRowsTakeIt()
    {
        var (runs, table) = Reproduce("igr-output", "igr-0.5,gs-0.67", "--igr-output", "gaussian-log");
        Assert.Equal(["gaussian-log"], FirstCellValues(runs, "igr-0.5", "--relaxed-output"));
        Assert.Equal(["log"], FirstCellValues(runs, "gs-0.67", "--relaxed-output"));
        Assert.Contains("The VAE's IGR decoders read log softmax(y/τ) over each latent's nine Gaussian coordinates and 0 for the tenth", table);
    }

    [DataFact("mnist")]
    public void WithThePaperCodesOptimizerOnlyTheStructuredRowsTakeIt()
    {
        var (runs, table) = Reproduce("igr-code", "sp-gs-0.25,gs-0.25", "--sp-optimizer", "code");
        string[] optimizer = ["--batch-size", "--lr", "--lr-decay", "--lr-min"];
        Assert.Equal(["100", "0.001", "0.001", "0.0001"], FirstCellValues(runs, "sp-gs-0.25", optimizer));
        Assert.Equal(["64", "0.001", "0", "0"], FirstCellValues(runs, "gs-0.25", optimizer));
        Assert.Contains("lr 1e-3; the structured-prediction rows **2 steps** of batch 100 (0 epochs), lr 1e-3 / (1 + 1e-3·t) down to 1e-4, as the paper's structured-prediction code trains, seed 1.", table);
    }

    [Theory]
    [InlineData("--rows", "gs-9", "'gs-9' is not a row of the IGR paper's tables")]
    [InlineData("--seed", "3", "--seed does not apply to --paper igr")]
    [InlineData("--batch-size", "32", "--batch-size does not apply to --paper igr")]
    [InlineData("--data", "sbn-toy", "--paper igr trains on mnist (the paper's) or fashion-mnist; got --data sbn-toy")]
    [InlineData("--jobs", "0", "--jobs must be ≥ 1, got 0")]
    [InlineData("--igr-scale", "half", "--igr-scale must be learned or unit, got 'half'")]
    [InlineData("--igr-scale", "unit", "--igr-scale unit holds IGR's σ at 1, but the VAE row igr-0.5 fits its uniform prior's σ0: pass --rows structured")]
    [InlineData("--igr-prior", "wide", "--igr-prior must be fit, code or MU,SIGMA (a finite mean and a finite scale > 0, e.g. -2.08,1.72), got 'wide'")]
    [InlineData("--igr-prior", "1,-1", "--igr-prior must be fit, code or MU,SIGMA")]
    [InlineData("--binarization", "otsu", "--binarization must be fixed, dynamic or threshold, got 'otsu'")]
    [InlineData("--sp-optimizer", "sgd", "--sp-optimizer must be paper or code, got 'sgd'")]
    [InlineData("--igr-output", "simplex", "--igr-output must be log or gaussian-log, got 'simplex'")]
    public void WhatItRefusesIsNamed(string option, string value, string message)
    {
        var (code, _, stderr) = CliTests.Scg("reproduce", "--paper", "igr", option, value, "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains(message, stderr);
        Assert.False(File.Exists(_dir.File("t.md")));
    }

    [Fact]
    public void TheConcretePaperRefusesTheIgrOptions()
    {
        var (code, _, stderr) = CliTests.Scg("reproduce", "--seeds", "1,2", "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains("--seeds does not apply to --paper concrete", stderr);
        var optimizer = CliTests.Scg("reproduce", "--sp-optimizer", "code", "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, optimizer.Code);
        Assert.Contains("--sp-optimizer does not apply to --paper concrete", optimizer.Err);
        var prior = CliTests.Scg("reproduce", "--igr-prior", "code", "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, prior.Code);
        Assert.Contains("--igr-prior does not apply to --paper concrete", prior.Err);
        var output = CliTests.Scg("reproduce", "--igr-output", "gaussian-log", "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, output.Code);
        Assert.Contains("--igr-output does not apply to --paper concrete", output.Err);
    }

    [Fact]
    public void AGivenPriorWithoutTheVaesIgrRowsIsRefused()
    {
        var (code, _, stderr) = CliTests.Scg("reproduce", "--paper", "igr", "--igr-prior", "code", "--rows", "structured,gs-0.67", "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains("--igr-prior sets the uniform prior of the VAE's IGR rows (igr-0.5, igr-0.1), and --rows 'structured,gs-0.67' selects none.", stderr);
        Assert.False(File.Exists(_dir.File("t.md")));
        var output = CliTests.Scg("reproduce", "--paper", "igr", "--igr-output", "gaussian-log", "--rows", "gs-0.25", "-o", _dir.File("t.md"));
        Assert.Equal(ScgApp.BadInput, output.Code);
        Assert.Contains("--igr-output sets what the decoders of the VAE's IGR rows (igr-0.5, igr-0.1) read, and --rows 'gs-0.25' selects none.", output.Err);
        Assert.False(File.Exists(_dir.File("t.md")));
    }
}
