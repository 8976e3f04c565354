using System.Globalization;
using Scg.Cli;
using Scg.Models.Reporting;
using Scg.Models.Tests.Data;

namespace Scg.Models.Tests;

/// <summary><c>scg reproduce --protocol full</c>: the paper's grid as sweeps, and the setting chosen on validation.</summary>
public sealed class ConcreteProtocolTests : IDisposable
{
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static readonly string[] Options = ["reproduce", "--protocol", "full", "--data", "sbn-toy", "--rows", "m=1,200H-784V,concrete", "--steps", "20", "--eval-samples", "3"];

    [Fact]
    public void EveryCellIsASweepOverThePapersGridAndTheTableReportsTheSettingBestOnValidation()
    {
        string table = _dir.File("full.md");
        var (code, stdout, stderr) = CliTests.Scg([.. Options, "-o", table]);
        Assert.True(code == ScgApp.Ok, stderr);
        Assert.Contains("| 8H-32V | 1 | — | — | 107.3 |", stdout);
        string sweep = Path.Combine(_dir.File("full-runs"), "8H-32V-m1-concrete");
        var manifest = SweepManifest.Read(sweep);
        Assert.Equal(["--lr", "--weight-decay"], manifest.Axes.Select(a => a.Option));
        Assert.Equal(["0.0001", "0.0003", "0.001"], manifest.Axes[0].Values);
        Assert.Equal(["0", "0.01", "0.1", "1"], manifest.Axes[1].Values);
        Assert.Equal(12, manifest.Cells.Length);
        Assert.Single(Directory.GetDirectories(_dir.File("full-runs")));   // the concrete term leaves out nvil

        // a few of the grid's runs finish; the table picks the best final validation bound among them
        foreach (int i in new[] { 0, 5, 11 })
            Assert.Equal(ScgApp.Ok, CliTests.Scg("sweep", "run-cell", sweep, i.ToString(CultureInfo.InvariantCulture)).Code);
        var finished = new[] { 0, 5, 11 }.Select(i => manifest.Cells[i]).Select(c => (Cell: c, Folder: Path.Combine(sweep, c.Folder))).ToList();
        var best = finished.MaxBy(c => MetricsCsv.Read(Path.Combine(c.Folder, "metrics.csv")).Last().ValidBound);
        double testNll = -(double)System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(best.Folder, "done.json")))!["testBound"]!;
        var again = CliTests.Scg([.. Options, "-o", table]);
        Assert.True(again.Code == ScgApp.Ok, again.Err);
        Assert.Contains($"| 8H-32V | 1 | {testNll.ToString("F2", CultureInfo.InvariantCulture)} | {best.Cell.Swept["--lr"]}, {best.Cell.Swept["--weight-decay"]} | 107.3 |", again.Out);
        Assert.Contains("3 of 12 runs finished", File.ReadAllText(table));

        var other = CliTests.Scg([.. Options.Select(a => a == "20" ? "21" : a), "-o", table]);
        Assert.Equal(ScgApp.BadInput, other.Code);
        Assert.Contains("with other settings", other.Err);
    }

    [Fact]
    public void OptionsOfTheBudgetProtocolAreRefused()
    {
        var (code, _, stderr) = CliTests.Scg([.. Options, "--batch-size", "32", "-o", _dir.File("t.md")]);
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains("--batch-size does not apply to --paper concrete --protocol full", stderr);
    }
}
