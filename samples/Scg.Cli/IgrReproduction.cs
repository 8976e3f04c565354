using System.Globalization;
using System.Text;
using Scg.Models.Data;
using Scg.Models.Reporting;
using Scg.Stochastic.Graph;

namespace Scg.Cli;

/// <summary>
/// <c>scg reproduce --paper igr</c>: the IGR paper's discrete VAE on MNIST (its Table 1, MNIST column, and Figure 4)
/// and its structured prediction (Table 3). Every row is a sweep over the seeds in its own folder beside the table
/// (<c>runs/reproduce-igr-runs/igr-0.5</c>, …), whose cells are ordinary training runs; a stopped reproduction
/// continues from their checkpoints, and <c>scg sweep</c> with the same options runs a row on a cluster.
/// </summary>
static class IgrReproduction
{
    public enum Table { Vae, Structured }

    /// <summary>One row of the paper's tables: its estimator at its temperature, and the paper's number.</summary>
    public sealed record Row(string Name, Table Table, string Estimator, string Temperature, double Paper)
    {
        public string Label => $"{(Estimator == "igr" ? "IGR" : "GS")}({Temperature})";
    }

    /// <summary>The paper's rows: test ELBO ×100 of Table 1 (MNIST), and the test NLL of Table 3.</summary>
    public static readonly IReadOnlyList<Row> Rows =
    [
        new("igr-0.5", Table.Vae, "igr", "0.5", -100.4), new("gs-0.67", Table.Vae, "concrete", "0.67", -121.9),
        new("igr-0.1", Table.Vae, "igr", "0.1", -126.4), new("gs-0.25", Table.Vae, "concrete", "0.25", -135.7),
        new("sp-igr-0.5", Table.Structured, "igr", "0.5", 62.84), new("sp-gs-0.67", Table.Structured, "concrete", "0.67", 64.68),
        new("sp-igr-0.1", Table.Structured, "igr", "0.1", 67.26), new("sp-gs-0.25", Table.Structured, "concrete", "0.25", 69.28),
    ];

    /// <summary>100 epochs of the 50,000 training images at batch 64, as the paper trains.</summary>
    public const int PaperSteps = 78_125;
    public const int DefaultEvalSamples = 100;
    public const string DefaultSeeds = "1,2,3";
    /// <summary>The VAE's data as the paper describes it; <c>--binarization threshold</c> is its structured-prediction code's.</summary>
    public const string PaperBinarization = "dynamic";

    /// <summary>
    /// The sweep options of a row (appendix D.1): 30 ten-way one-hot latents, dense ReLU networks 784-512-256 and
    /// back, a uniform prior (IGR's Gaussian fitted to it at the training τ, Eq. 20, and its KL in closed form, Eq. 19;
    /// GS's relaxed prior at the same τ, Eq. 10), <paramref name="binarization"/> (the paper's: dynamic), batch 64, lr 1e-3. Structured prediction uses
    /// the Concrete paper's 392V-240H-240H-392V with binary nodes and the same optimizer. Output biases start at zero, as
    /// the paper's networks do: started at the data's base rate, the GS model with ReLU networks stays at the
    /// base-rate solution (its encoder unused) for the whole run. The VAE's decoder reads the log of each relaxed
    /// sample (the ExpConcrete draw; IGR's log-softmax++), as the paper's code does: fed the point on the simplex, GS
    /// at τ = 0.67 ends 18 nats lower (−148.8 against −130.4), since the saturated coordinates hide what its KL pays for.
    /// <paramref name="igrScale"/> "unit" holds the IGR rows' σ at 1, as the paper's structured-prediction code does;
    /// <paramref name="spOptimizer"/> "code" trains the structured rows as that code does (<see cref="Optimizer"/>);
    /// <paramref name="igrOutput"/> "gaussian-log" feeds the VAE's IGR decoders as the paper's VAE code does.
    /// </summary>
    public static string[] SweepArgs(Row row, string data, string binarization, string igrScale, string igrPrior, string igrOutput, string spOptimizer, int steps, int k, string seeds, string? dataDir)
    {
        string Inv(int v) => v.ToString(CultureInfo.InvariantCulture);
        string[] model = row.Table == Table.Vae
            ? ["--model", "30H~256~512~784V", "--activation", "relu", "--arity", "10", "--encoding", "onehot", "--prior", "uniform", "--relaxed-output", row.Estimator == "igr" ? igrOutput : "log"]
            : ["--model", "392V-240H-240H-392V"];
        string[] relaxation = row.Estimator == "igr"
            ? ["--temperature", row.Temperature, .. row.Table == Table.Vae ? (string[])["--kl", "analytic"] : [], .. igrScale == "unit" ? (string[])["--igr-scale", "unit"] : [],
               .. row.Table == Table.Vae && igrPrior != "fit" ? (string[])["--igr-prior", igrPrior] : []]
            : ["--temperature", row.Temperature, "--prior-temperature", row.Temperature];
        return ["--data", data, "--binarization", binarization, .. model, .. Optimizer(row, spOptimizer), "--steps", Inv(steps),
            "--eval-every", Inv(Math.Max(1, steps / 100)), "--eval-samples", Inv(k), "--grad-draws", "10", "--output-bias", "zero", "--seed", seeds,
            "--estimator", row.Estimator, .. relaxation, .. dataDir is null ? [] : (string[])["--data-dir", dataDir]];
    }

    /// <summary>
    /// The optimizer options of a row: Adam at lr 1e-3 and batch 64, as the paper's text gives for the VAE; with
    /// <paramref name="spOptimizer"/> "code" the structured rows take batch 100 and lr 1e-3 / (1 + 1e-3·t) down to 1e-4,
    /// as the paper's structured-prediction code trains (its weight decay of 1e-3 enters only that schedule).
    /// </summary>
    static string[] Optimizer(Row row, string spOptimizer) => row.Table == Table.Structured && spOptimizer == "code"
        ? ["--lr", "0.001", "--batch-size", "100", "--lr-decay", "0.001", "--lr-min", "0.0001"]
        : ["--lr", "0.001", "--batch-size", "64"];

    public static int Run(Ui ui, string data, string? dataDir, string binarizationText, string igrScale, string igrPrior, string igrOutput, string spOptimizer, int steps, string? filter, int k, string seeds, int jobs, string outFile)
    {
        if (data is not ("mnist" or "fashion-mnist"))
            throw new UsageException($"--paper igr trains on mnist (the paper's) or fashion-mnist; got --data {data}.");
        var binarization = TrainOptions.ParseBinarization(binarizationText, data);
        if (igrScale is not ("learned" or "unit")) throw new UsageException($"--igr-scale must be learned or unit, got '{igrScale}'.");
        if (igrOutput is not ("log" or "gaussian-log")) throw new UsageException($"--igr-output must be log or gaussian-log, got '{igrOutput}'.");
        if (spOptimizer is not ("paper" or "code")) throw new UsageException($"--sp-optimizer must be paper or code, got '{spOptimizer}'.");
        if (steps < 1) throw new UsageException($"--steps must be ≥ 1, got {steps}.");
        if (jobs < 1) throw new UsageException($"--jobs must be ≥ 1, got {jobs}.");
        TrainOptions.ValidateEvalSamples("--eval-samples", k);
        var names = (filter ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (filter is not null && names.Length == 0)
            throw new UsageException($"--rows '{filter}' is empty; expected row names ({string.Join(", ", Rows.Select(r => r.Name))}), vae or structured.");
        foreach (string n in names.Where(n => n is not ("vae" or "structured") && Rows.All(r => r.Name != n)))
            throw new UsageException($"--rows: '{n}' is not a row of the IGR paper's tables; expected {string.Join(", ", Rows.Select(r => r.Name))}, vae or structured.");
        var rows = Rows.Where(r => names.Length == 0 || names.Contains(r.Name) || names.Contains(r.Table == Table.Vae ? "vae" : "structured")).ToList();
        if (igrScale == "unit" && rows.FirstOrDefault(r => r.Table == Table.Vae && r.Estimator == "igr") is { } vaeRow)
            throw new UsageException($"--igr-scale unit holds IGR's σ at 1, but the VAE row {vaeRow.Name} fits its uniform prior's σ0: pass --rows structured (or structured rows by name).");
        if (TrainOptions.ParseIgrPrior("--igr-prior", igrPrior) is not null && !rows.Any(r => r.Table == Table.Vae && r.Estimator == "igr"))
            throw new UsageException($"--igr-prior sets the uniform prior of the VAE's IGR rows (igr-0.5, igr-0.1), and --rows '{filter}' selects none.");
        if (igrOutput != "log" && !rows.Any(r => r.Table == Table.Vae && r.Estimator == "igr"))
            throw new UsageException($"--igr-output sets what the decoders of the VAE's IGR rows (igr-0.5, igr-0.1) read, and --rows '{filter}' selects none.");
        OutputLocation.RequireFile("--out", outFile);
        string runsDir = Path.Combine(Path.GetDirectoryName(outFile) ?? "", Path.GetFileNameWithoutExtension(outFile) + "-runs");
        if (File.Exists(outFile) && !Directory.Exists(runsDir))
            throw new UsageException($"--out '{outFile}' already exists and is not a reproduction this command can continue (it has no {Path.GetFileName(runsDir)}/ beside it): expected a new file name.");

        // Every row's sweep is written (or, when an earlier invocation wrote it, checked) before any cell runs.
        var sweeps = new List<(Row Row, string Folder, SweepManifest Manifest)>();
        foreach (var row in rows)
        {
            string folder = Path.Combine(runsDir, row.Name);
            sweeps.Add((row, folder, ReproductionSweeps.Ensure(ui, row.Name, folder, SweepArgs(row, data, binarizationText, igrScale, igrPrior, igrOutput, spOptimizer, steps, k, seeds, dataDir))));
        }
        int cellsPerRow = sweeps.Max(s => s.Manifest.Cells.Length);
        var pending = Enumerable.Range(0, cellsPerRow)   // seed-major: every row gets its first seed first
            .SelectMany(i => sweeps.Where(s => i < s.Manifest.Cells.Length).Select(s => (Sweep: s.Folder, s.Manifest, Index: i)))
            .Where(c => CellFiles.State(CellFiles.Folder(c.Sweep, c.Manifest.Cells[c.Index])).State != CellState.Done)
            .ToList();
        Write(outFile, sweeps, data, binarization, igrScale, igrPrior, igrOutput, spOptimizer, steps, k);
        ui.Note($"reproduce --paper igr: {sweeps.Sum(s => s.Manifest.Cells.Length)} runs in {runsDir}/, {pending.Count} to run, {jobs} at a time (1 thread each); the table, {outFile}, is rewritten as each run ends");
        int code = pending.Count == 0 ? ScgApp.Ok : LocalLauncher.Run(ui, pending, jobs, ended: () => Write(outFile, sweeps, data, binarization, igrScale, igrPrior, igrOutput, spOptimizer, steps, k));
        string markdown = Write(outFile, sweeps, data, binarization, igrScale, igrPrior, igrOutput, spOptimizer, steps, k);
        ui.Line();
        ui.Line(markdown);
        return code;
    }

    /// <summary>The finished seeds of a row: test relaxed bound, test L_k, vanishing share (%) and minutes, per cell.</summary>
    static List<(double Relaxed, double Bound, double Vanishing, double Minutes)> Finished(string folder, SweepManifest manifest)
    {
        var results = new List<(double, double, double, double)>();
        foreach (var cell in manifest.Cells)
        {
            string dir = CellFiles.Folder(folder, cell);
            if (CellFiles.Read<CellDone>(dir, CellFiles.Done) is not { } done || SweepRunCell.Summary(dir) is not { } summary) continue;
            double Column(string name) => summary.TryGetValue(name, out string? v)
                && double.TryParse(v.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double x) ? x : double.NaN;
            results.Add((Column("test relaxed bound"), done.TestBound, Column("vanishing gradients"), done.Seconds / 60));
        }
        return results;
    }

    static string Write(string outFile, List<(Row Row, string Folder, SweepManifest Manifest)> sweeps, string data, Binarization binarization, string igrScale, string igrPrior, string igrOutput, string spOptimizer, int steps, int k)
    {
        var sb = new StringBuilder("# The IGR paper's MNIST results, re-run\n\n");
        string[] seeds = [.. sweeps[0].Manifest.Cells.Select(c => c.Args[Array.IndexOf(c.Args, "--seed") + 1]).Distinct()];   // every cell's arguments name its seed
        var results = sweeps.ToDictionary(s => s.Folder, s => Finished(s.Folder, s.Manifest));   // each run's files read once
        int cells = sweeps.Sum(s => s.Manifest.Cells.Length), done = results.Values.Sum(r => r.Count);
        sb.Append(FormattableString.Invariant($"Written by `scg reproduce --paper igr` on {DateTime.Now:yyyy-MM-dd HH:mm}: {done} of {cells} runs finished. "));
        sb.Append(FormattableString.Invariant($"Data: **{data}**, {binarization switch
        {
            Binarization.Dynamic => "dynamic binarization of the 50,000 training images (fixed bits for the 10,000 test images)",
            Binarization.Threshold => "every image thresholded at intensity 1/2",
            _ => "fixed bits drawn once for every image",
        }}. "));
        if (igrScale == "unit") sb.Append("IGR's Gaussians have σ held at 1 (only the means are learned). ");
        if (TrainOptions.ParseIgrPrior("--igr-prior", igrPrior) is { } prior)
            sb.Append(FormattableString.Invariant($"The VAE's IGR rows have the uniform prior's Gaussian given, μ0 = {prior.Location:G5} and σ0 = {prior.Scale:G5} in every coordinate{(prior == IgrPriorGaussian.PaperCode ? " (the paper's VAE code's)" : "")}, instead of fitted by Eq. 20. "));
        if (igrOutput == "gaussian-log")
            sb.Append("The VAE's IGR decoders read log softmax(y/τ) over each latent's nine Gaussian coordinates and 0 for the tenth, as the paper's VAE code feeds them, instead of the log of softmax++. ");
        bool codeOptimizer = spOptimizer == "code" && sweeps.Any(s => s.Row.Table == Table.Structured);
        string paperOptimizer = FormattableString.Invariant($"**{steps} steps** of batch 64 ({steps * 64.0 / 50_000:0.##} epochs; the paper: 100), lr 1e-3");
        string codeOptimizerText = FormattableString.Invariant($"**{steps} steps** of batch 100 ({steps * 100.0 / 50_000:0.##} epochs), lr 1e-3 / (1 + 1e-3·t) down to 1e-4, as the paper's structured-prediction code trains");
        sb.Append("Budget per run: ").Append(!codeOptimizer ? paperOptimizer
            : sweeps.Any(s => s.Row.Table == Table.Vae) ? $"{paperOptimizer}; the structured-prediction rows {codeOptimizerText}" : codeOptimizerText);
        sb.Append(FormattableString.Invariant($", seed{(seeds.Length > 1 ? "s" : "")} {string.Join(", ", seeds)}. "));
        sb.Append("mean ± sample standard deviation over the finished seeds (n).\n\n");
        foreach (var table in new[] { Table.Vae, Table.Structured })
        {
            var rows = sweeps.Where(s => s.Row.Table == table).ToList();
            if (rows.Count == 0) continue;
            bool vae = table == Table.Vae;
            sb.Append(vae
                ? "## Discrete VAE, 30 ten-way categorical latents, dense ReLU networks 784-512-256 (Table 1, MNIST; Figure 4)\n\n"
                : "## Structured prediction: bottom half given top half, 392V-240H-240H-392V (Table 3)\n\n");
            var headers = vae
                ? new[] { "model (τ)", "n", "test ELBO (ours)", "test ELBO (paper)", "ours − paper", $"test L_{k} (relaxed model)", "vanishing gradients", "min per run" }
                : new[] { "model (τ)", "n", "test relaxed NLL (ours)", "test NLL (paper)", "ours − paper", $"test NLL −L_{k} (discrete)", "vanishing gradients", "min per run" };
            var text = new TextTable(headers)
            {
                Caption = vae
                    ? $"test ELBO: the relaxed bound each run trained, over the test split at its τ (IGR with its KL in closed form), as the paper reports it (its ×100 scale written out in nats). test L_{k}: the importance-weighted bound on the likelihood of the model trained, over k relaxed draws; the decoder reads log-simplex values, which have no discrete counterpart, so there is no discrete model to score. vanishing gradients: the share of the gradient with respect to the encoder's outputs, through the drawn values, that is exactly 0, averaged over training (Figure 4). Higher ELBO and L_k are better."
                    : $"test relaxed NLL: minus the relaxed bound at the run's τ, one relaxed draw per test row, as the paper's code of December 2019 measures its NLL; test NLL −L_{k}: on the discrete graph (binary nodes), the one that bounds the discrete model's NLL, as its last version measures it. Lower is better.",
            };
            foreach (var (row, folder, manifest) in rows)
            {
                var f = results[folder];
                var (ours, ourStd) = SweepReport.MeanStd(f.Select(r => vae ? r.Relaxed : -r.Relaxed).ToList());
                var (other, otherStd) = SweepReport.MeanStd(f.Select(r => vae ? r.Bound : -r.Bound).ToList());
                text.Add([row.Label, $"{f.Count}/{manifest.Cells.Length}", SweepReport.PlusMinus(ours, ourStd, "F2"), row.Paper.ToString("F2", CultureInfo.InvariantCulture),
                    f.Count == 0 ? "—" : Experiment.Num(ours - row.Paper, "F2"), SweepReport.PlusMinus(other, otherStd, "F2"),
                    f.Count == 0 ? "—" : $"{f.Average(r => r.Vanishing).ToString("F3", CultureInfo.InvariantCulture)}%",
                    f.Count == 0 ? "—" : Experiment.Num(f.Average(r => r.Minutes), "F1")]);
            }
            sb.Append(text.Markdown()).Append('\n');
            var ranked = rows.Where(r => results[r.Folder].Count > 0).ToList();
            if (ranked.Count == rows.Count)
            {
                double Ours(string folder) => results[folder].Average(x => vae ? x.Relaxed : -x.Relaxed);
                string Order(IEnumerable<(Row Row, double Value)> values) => string.Join(vae ? " > " : " < ", (vae ? values.OrderByDescending(v => v.Value) : values.OrderBy(v => v.Value)).Select(v => v.Row.Label));
                string ourOrder = Order(rows.Select(r => (r.Row, Ours(r.Folder)))), paperOrder = Order(rows.Select(r => (r.Row, r.Row.Paper)));
                sb.Append($"Ordering, ours: {ourOrder}; the paper's: {paperOrder}{(ourOrder == paperOrder ? " (the same)" : " (they differ)")}.\n\n");
            }
        }
        string markdown = sb.ToString();
        AtomicFile.WriteAllText(outFile, markdown);
        return markdown;
    }
}
