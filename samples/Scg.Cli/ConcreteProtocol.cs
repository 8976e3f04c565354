using System.Globalization;
using System.Text;
using Scg.Models.Reporting;

namespace Scg.Cli;

/// <summary>
/// <c>scg reproduce --paper concrete --protocol full</c>: the Concrete paper's own protocol for every cell of its
/// tables (appendix D): 10^7 steps of batch 64, the learning rate × weight decay grid, each setting chosen on the
/// validation bound, and test L_50000 (L_100 for structured prediction). It is far beyond one machine, so every
/// (cell, estimator) is written as a sweep over the grid to run where there is room (<c>scg sweep resume</c>, locally
/// or on Slurm); rerun, the command tables what has finished.
/// </summary>
static class ConcreteProtocol
{
    /// <summary>Appendix D's grid: learning rates {1e-4, 3e-4, 1e-3}, weight decay {0, 1e-2, 1e-1, 1}.</summary>
    public const string LearningRates = "0.0001,0.0003,0.001", WeightDecays = "0,0.01,0.1,1";
    public const int PaperSteps = 10_000_000, PaperEvalSamples = 50_000, PaperStructuredEvalSamples = 100;

    /// <summary>The sweep options of one estimator on one cell: the train options of the cell, and the grid.</summary>
    public static string[] SweepArgs(ReproduceCommand.Cell cell, string estimator, string data, int steps, int k, ulong seed, string? dataDir, string[] launcher) =>
        ["--data", data, "--model", cell.Model, "--samples", cell.M.ToString(CultureInfo.InvariantCulture), "--estimator", estimator,
            "--lr", LearningRates, "--weight-decay", WeightDecays, "--steps", steps.ToString(CultureInfo.InvariantCulture),
            "--eval-samples", k.ToString(CultureInfo.InvariantCulture), "--batch-size", "64", "--seed", seed.ToString(CultureInfo.InvariantCulture),
            .. dataDir is null ? [] : (string[])["--data-dir", dataDir], .. launcher];

    public static int Run(Ui ui, IReadOnlyList<ReproduceCommand.Cell> cells, bool[] estimators, string data, string? dataDir, int steps, int k, int kSp,
        ulong seed, string[] launcher, string outFile)
    {
        OutputLocation.RequireFile("--out", outFile);
        string runsDir = Path.Combine(Path.GetDirectoryName(outFile) ?? "", Path.GetFileNameWithoutExtension(outFile) + "-runs");
        if (File.Exists(outFile) && !Directory.Exists(runsDir))
            throw new UsageException($"--out '{outFile}' already exists and is not a reproduction this command can continue (it has no {Path.GetFileName(runsDir)}/ beside it): expected a new file name.");
        var sweeps = new List<(ReproduceCommand.Cell Cell, string Estimator, string Folder, SweepManifest Manifest)>();
        foreach (var cell in cells)
            foreach (int e in new[] { 0, 1 }.Where(e => estimators[e]))
            {
                string estimator = e == 0 ? "concrete" : cell.M == 1 ? "nvil" : "vimco";
                string folder = Path.Combine(runsDir, $"{cell.Model}-m{cell.M}-{estimator}");
                int evalSamples = cell.Task == ReproduceCommand.Task.Density ? k : kSp;
                // train's checks try the first sweep's cells (the grid); the others' models and m are the tables' own
                var manifest = ReproductionSweeps.Ensure(ui, Path.GetFileName(folder), folder,
                    SweepArgs(cell, estimator, data, steps, evalSamples, seed, dataDir, launcher), check: sweeps.Count == 0);
                sweeps.Add((cell, estimator, folder, manifest));
            }
        string markdown = Write(outFile, sweeps, data, steps, k, kSp);
        ui.Line(markdown);
        int runs = sweeps.Sum(s => s.Manifest.Cells.Length);
        ui.Note($"reproduce --protocol full: {sweeps.Count} sweeps of {sweeps[0].Manifest.Cells.Length} settings ({runs} runs) in {runsDir}/; run each with scg sweep resume DIR " +
            $"(its launcher: {sweeps[0].Manifest.Launcher.Kind}), e.g. scg sweep resume {Shell.Quote(sweeps[0].Folder)}; rerun this command to table what has finished.");
        return ScgApp.Ok;
    }

    /// <summary>The finished setting with the best final validation bound, its test NLL and its (lr, weight decay); null before any finished.</summary>
    static (double TestNll, string Lr, string Wd, int Done)? Selected(string folder, SweepManifest manifest)
    {
        (double Valid, double Test, SweepCell Cell)? best = null;
        int done = 0;
        foreach (var cell in manifest.Cells)
        {
            string dir = CellFiles.Folder(folder, cell);
            if (CellFiles.Read<CellDone>(dir, CellFiles.Done) is not { } finished) continue;
            done++;
            double valid = MetricsCsv.Read(Path.Combine(dir, Experiment.MetricsFile)).Select(r => r.ValidBound).LastOrDefault(double.IsFinite, double.NaN);
            if (double.IsFinite(valid) && (best is null || valid > best.Value.Valid)) best = (valid, finished.TestBound, cell);
        }
        return best is { } b ? (-b.Test, b.Cell.Swept["--lr"], b.Cell.Swept["--weight-decay"], done) : null;
    }

    static string Write(string outFile, List<(ReproduceCommand.Cell Cell, string Estimator, string Folder, SweepManifest Manifest)> sweeps, string data, int steps, int k, int kSp)
    {
        var sb = new StringBuilder("# The Concrete paper's MNIST tables, its full protocol\n\n");
        var selected = sweeps.ToDictionary(s => s.Folder, s => Selected(s.Folder, s.Manifest));   // each run's files read once
        int runs = sweeps.Sum(s => s.Manifest.Cells.Length), done = selected.Values.Sum(r => r?.Done ?? 0);
        sb.Append(FormattableString.Invariant($"Written by `scg reproduce --protocol full` on {DateTime.Now:yyyy-MM-dd HH:mm}: {done} of {runs} runs finished. Data: **{data}**. "));
        sb.Append(FormattableString.Invariant($"Every cell and estimator is trained for **{steps} steps** of batch 64 (the paper: 10^7) at each learning rate in {{{LearningRates}}} and weight decay in {{{WeightDecays}}} (appendix D), "));
        sb.Append(FormattableString.Invariant($"and the setting with the best final validation L_10 is reported: test NLL = −L_{k} (structured prediction −L_{kSp}) on the discrete graph. Lower is better; — = no setting finished yet.\n\n"));
        foreach (var task in new[] { ReproduceCommand.Task.Density, ReproduceCommand.Task.Structured })
        {
            var rows = sweeps.Where(s => s.Cell.Task == task).GroupBy(s => s.Cell).ToList();
            if (rows.Count == 0) continue;
            sb.Append(task == ReproduceCommand.Task.Density ? "## Density estimation (Table 1, test NLL)\n\n" : "## Structured prediction (Figure 4, test NLL)\n\n");
            var table = new TextTable(["model", "m", "Concrete (ours)", "lr, wd", "Concrete (paper)", "VIMCO/NVIL (ours)", "lr, wd", "VIMCO/NVIL (paper)", "runs done"]);
            foreach (var row in rows)
            {
                var paper = PaperResults.Cell(row.Key.PaperModel, row.Key.M);
                var concrete = row.FirstOrDefault(s => s.Estimator == "concrete");
                var score = row.FirstOrDefault(s => s.Estimator != "concrete");
                var c = concrete.Folder is null ? null : selected[concrete.Folder];
                var v = score.Folder is null ? null : selected[score.Folder];
                string Nll((double TestNll, string Lr, string Wd, int Done)? r) => r is { } x ? Experiment.Num(x.TestNll) : "—";
                string Setting((double TestNll, string Lr, string Wd, int Done)? r) => r is { } x ? $"{x.Lr}, {x.Wd}" : "—";
                table.Add([row.Key.Model, row.Key.M.ToString(CultureInfo.InvariantCulture), Nll(c), Setting(c), paper.ConcreteTest.ToString("F1", CultureInfo.InvariantCulture),
                    Nll(v), Setting(v), paper.VimcoTest.ToString("F1", CultureInfo.InvariantCulture) + (row.Key.M == 1 ? " (NVIL)" : ""),
                    $"{(c?.Done ?? 0) + (v?.Done ?? 0)} of {row.Sum(s => s.Manifest.Cells.Length)}"]);
            }
            sb.Append(table.Markdown()).Append('\n');
        }
        string markdown = sb.ToString();
        AtomicFile.WriteAllText(outFile, markdown);
        return markdown;
    }
}
