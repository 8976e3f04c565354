using System.Globalization;
using Scg.Models.Sbn;
using System.Text;
using Scg.Models.Reporting;

namespace Scg.Cli;

/// <summary>
/// <c>scg sweep report</c>: the finished cells grouped over --seed, as a markdown table (stdout and report.md), a CSV
/// (report.csv) and the mean ± std curves per group (report.png and .svg). It reads only files that finished cells wrote, so it can
/// run while other cells are still training.
/// </summary>
static class SweepReport
{
    public const string Markdown = "report.md", Csv = "report.csv", PlotStem = "report";
    const string SeedOption = "--seed";

    /// <summary>The cells of one setting of the swept options other than --seed; Label is that setting's values.</summary>
    sealed record Group(string Label, Dictionary<string, string> Settings, List<SweepCell> Cells, List<(CellDone Done, List<MetricsRow> Rows)> Finished);

    public static int Write(Ui ui, string sweep)
    {
        var manifest = SweepManifest.Read(sweep);
        var axes = manifest.Axes.Where(a => a.Option != SeedOption).Select(a => a.Option).ToArray();
        var groups = new List<Group>();
        foreach (var cell in manifest.Cells)
        {
            var settings = axes.ToDictionary(a => a, a => cell.Swept[a]);
            var group = groups.FirstOrDefault(g => axes.All(a => g.Settings[a] == settings[a]));
            if (group is null)
            {
                group = new Group(axes.Length == 0 ? "all cells" : string.Join(", ", axes.Select(a => settings[a])), settings, [], []);
                groups.Add(group);
            }
            group.Cells.Add(cell);
            string folder = CellFiles.Folder(sweep, cell);
            if (CellFiles.Read<CellDone>(folder, CellFiles.Done) is { } done)
                group.Finished.Add((done, MetricsCsv.Read(Path.Combine(folder, Experiment.MetricsFile))));
        }

        var ks = groups.SelectMany(g => g.Finished).Select(f => f.Done.TestSamples).Distinct().ToList();
        string testHeader = ks.Count == 1 ? $"test L_{ks[0]}" : "test L_k";
        var table = new TextTable([.. axes, "n", "cells", $"{testHeader} (mean ± std)", "final train bound (mean ± std)"])
        {
            Caption = $"Grouped over {SeedOption}: n finished cells of the group's cells (unfinished ones are left out). {testHeader}: the bound on the discrete graph over the test split, " +
                "as each run's summary.md gives it; final train bound: the training objective's mean over the run's last logging interval (the relaxed bound for concrete and igr, the discrete L_m for the others). std is the sample standard deviation (— for n < 2). Higher is better.",
        };
        var csv = new StringBuilder();
        csv.AppendJoin(',', [.. axes.Select(a => a.TrimStart('-')), "n", "cells", "test_samples", "test_mean", "test_std", "train_mean", "train_std"]).Append('\n');
        foreach (var g in groups)
        {
            var (testMean, testStd) = MeanStd(g.Finished.Select(f => f.Done.TestBound).ToList());
            var (trainMean, trainStd) = MeanStd(g.Finished.Select(f => f.Done.TrainBound).ToList());
            string n = g.Finished.Count.ToString(CultureInfo.InvariantCulture), cells = g.Cells.Count.ToString(CultureInfo.InvariantCulture);
            table.Add([.. axes.Select(a => g.Settings[a]), n, cells, PlusMinus(testMean, testStd), PlusMinus(trainMean, trainStd)]);
            string k = g.Finished.Count > 0 && g.Finished.All(f => f.Done.TestSamples == g.Finished[0].Done.TestSamples) ? g.Finished[0].Done.TestSamples.ToString(CultureInfo.InvariantCulture) : "";
            csv.AppendJoin(',', [.. axes.Select(a => CsvCell(g.Settings[a])), n, cells, k, Number(testMean), Number(testStd), Number(trainMean), Number(trainStd)]).Append('\n');
        }

        string markdown = $"# Sweep {Path.GetFileName(Path.GetFullPath(sweep))}\n\n{table.Markdown()}\n![mean curves per group]({PlotStem}.png)\n";
        AtomicFile.WriteAllText(Path.Combine(sweep, Markdown), markdown);
        AtomicFile.WriteAllText(Path.Combine(sweep, Csv), csv.ToString());
        Plots.WriteCurves(Path.Combine(sweep, PlotStem), $"sweep {Path.GetFileName(Path.GetFullPath(sweep))}: mean ± std over finished seeds" + (axes.Length == 0 ? "" : $" ({string.Join(", ", axes)})"),
            groups.Where(g => g.Finished.Count > 0)
                .Select(g => new CurveGroup(new RunGroup<MetricsRow>(g.Label, g.Finished.Select(f => (IReadOnlyList<MetricsRow>)f.Rows).ToList()), TrainBound(g.Cells[0])))
                .ToList(), Experiment.ValidSamples);
        Report.Print(ui, table);
        int finished = groups.Sum(g => g.Finished.Count);
        ui.Note($"sweep report: {finished} of {manifest.Cells.Length} cells finished; wrote {Path.Combine(sweep, Markdown)}, {Csv}, {PlotStem}.png and .svg");
        return ScgApp.Ok;
    }

    /// <summary>What a cell's training column holds, from its estimator and m (every cell's arguments name both).</summary>
    static string TrainBound(SweepCell cell)
    {
        string Arg(string name) => cell.Args[Array.IndexOf(cell.Args, name) + 1];
        return Experiment.TrainBound(EstimatorChoice.Parse(Arg("--estimator")), int.Parse(Arg("--samples"), CultureInfo.InvariantCulture));
    }

    /// <summary>Mean and sample standard deviation; NaN where they are undefined (no value; fewer than two for the spread).</summary>
    internal static (double Mean, double Std) MeanStd(List<double> values)
    {
        if (values.Count == 0) return (double.NaN, double.NaN);
        double mean = values.Average();
        if (values.Count < 2) return (mean, double.NaN);
        return (mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)));
    }

    internal static string PlusMinus(double mean, double std, string format = "F3") =>
        double.IsNaN(mean) ? "—" : $"{Experiment.Num(mean, format)} ± {Experiment.Num(std, format)}";

    /// <summary>A CSV number: round-trip digits, empty where there is no value.</summary>
    static string Number(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    static string CsvCell(string text) => text.IndexOfAny([',', '"', '\n']) < 0 ? text : "\"" + text.Replace("\"", "\"\"") + "\"";
}
