using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Scg.Models.Data;
using Scg.Models.Reporting;
using Scg.Models.Sbn;
using Scg.Stochastic.Estimators;

namespace Scg.Cli;

/// <summary>
/// The Concrete paper's Table 1 (density estimation) and Figure 4 (structured prediction) at a chosen budget:
/// every (model, m) cell is trained with Concrete and with VIMCO (NVIL when m = 1) and evaluated on the test split.
/// </summary>
static class ReproduceCommand
{
    enum Task { Density, Structured }

    sealed record Cell(Task Task, string PaperModel, string Model, int M);

    sealed class Outcome
    {
        public double Concrete = double.NaN, Score = double.NaN, ConcreteSeconds, ScoreSeconds;
        public string? ConcreteNote, ScoreNote;
    }

    public static Command Create(Ui ui)
    {
        var data = new Option<string>("--data") { Description = $"Data set: mnist (the paper's), fashion-mnist, or sbn-toy (a CI-sized stand-in: layer widths shrink to 8H and 32V/16V)", DefaultValueFactory = _ => "mnist" };
        var steps = new Option<int>("--steps") { Description = "Training steps per run (the paper: 10^7)", DefaultValueFactory = _ => 10_000 };
        var rows = new Option<string?>("--rows")
        {
            Description = "Which cells to run: comma-separated terms, kept when they match every kind of term given — a paper model (200H~784V, 392V-240H-240H-392V, …), m=1|5|50, density|structured, concrete|vimco [default: all]",
        };
        var evalSamples = new Option<int>("--eval-samples") { Description = "k of the density test bound L_k (the paper: 50000)", DefaultValueFactory = _ => 1000 };
        var spEvalSamples = new Option<int>("--sp-eval-samples") { Description = "k of the structured-prediction test bound L_k^SP (the paper: 100)", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size") { Description = "Data points per minibatch", DefaultValueFactory = _ => 64 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of every random choice", DefaultValueFactory = _ => 1UL };
        var outFile = new Option<string>("--out", "-o") { Description = "New markdown file for the table (rewritten after every run, so partial results survive)", DefaultValueFactory = _ => Path.Combine("runs", "reproduce.md") };
        var dataDir = TrainOptions.DataDirOption();
        var binarization = TrainOptions.BinarizationOption();
        var command = new Command("reproduce",
            "Re-run the Concrete paper's Table 1 (MNIST density estimation: 4 models × m ∈ {1,5,50}, Concrete vs VIMCO/NVIL) and its structured-prediction " +
            "results (Figure 4) at a given budget; writes a markdown table with our numbers next to the paper's.");
        foreach (Option o in (Option[])[data, dataDir, binarization, steps, rows, evalSamples, spEvalSamples, batch, seed, outFile]) command.Options.Add(o);
        command.SetAction(p => ScgApp.Guard(ui, "scg reproduce", () => Run(ui, p.GetValue(data)!, p.GetValue(binarization)!, p.GetValue(steps), p.GetValue(rows),
            p.GetValue(evalSamples), p.GetValue(spEvalSamples), p.GetValue(batch), p.GetValue(seed), p.GetValue(outFile)!, p.GetValue(dataDir))));
        return command;
    }

    static int Run(Ui ui, string dataName, string binarizationText, int steps, string? filter, int k, int kSp, int batchSize, ulong seed, string outFile, string? dataDir)
    {
        if (!DataSets.Names.Contains(dataName))
            throw new UsageException($"unknown data set '{dataName}'; expected one of: {string.Join(", ", DataSets.Names)}.");
        var binarization = TrainOptions.ParseBinarization(binarizationText, dataName);
        if (steps < 1) throw new UsageException($"--steps must be ≥ 1, got {steps}.");
        if (batchSize < 1) throw new UsageException($"--batch-size must be ≥ 1, got {batchSize}.");
        TrainOptions.ValidateEvalSamples("--eval-samples", k);
        TrainOptions.ValidateEvalSamples("--sp-eval-samples", kSp);
        bool toy = dataName == ToySbn.Name;
        if (filter is not null && string.IsNullOrWhiteSpace(filter.Replace(',', ' ')))
            throw new UsageException($"--rows '{filter}' is empty; expected comma-separated terms such as m=1,density (leave --rows out to run every cell).");
        var (cellFilter, estimatorFilter) = ParseFilter(filter ?? "");
        var cells = AllCells(toy).Where(cellFilter).ToList();
        if (cells.Count == 0) throw new UsageException($"--rows '{filter}' selects no cell of the tables.");
        OutputLocation.RequireFile("--out", outFile);
        if (File.Exists(outFile))
            throw new UsageException($"--out '{outFile}' already exists; reproduce writes a new table and cannot resume one: expected a new file name (choose another --out, e.g. '{Path.ChangeExtension(outFile, null)}-2.md', or move the old table away).");
        var data = TrainOptions.LoadData(dataName, binarization, dataDir);
        if (batchSize > data.Train.Rows) throw new UsageException($"--batch-size {batchSize} exceeds the {data.Train.Rows} training rows of {dataName}.");
        foreach (var c in cells) TrainOptions.ValidateSpecFitsData(TrainOptions.ParseSpec(c.Model), data);
        double? truth = Experiment.TrueNll(dataName);
        int runs = cells.Count * estimatorFilter.Count(x => x);
        var plans = new Dictionary<(Cell, int), RunPlan>();
        foreach (var cell in cells)
            for (int e = 0; e < 2; e++)
                if (estimatorFilter[e])
                    plans[(cell, e)] = Resources.FitMemory(Plan(cell, e == 0, data, dataName, steps, cell.Task == Task.Density ? k : kSp, batchSize, seed, plans.Count + 1, runs));

        // Everything is valid: from here on the table is written.
        string? folder = Path.GetDirectoryName(Path.GetFullPath(outFile));
        if (folder is not null) Directory.CreateDirectory(folder);
        var clock = Stopwatch.StartNew();
        var outcomes = cells.ToDictionary(c => c, _ => new Outcome());
        string Write(bool finished = false) { string md = Markdown(dataName, binarization, steps, k, kSp, batchSize, seed, cells, outcomes, truth, clock.Elapsed, finished, estimatorFilter); AtomicFile.WriteAllText(outFile, md); return md; }
        Write();
        foreach (var cell in cells)
        {
            for (int e = 0; e < 2; e++)
            {
                if (!estimatorFilter[e]) continue;
                var plan = plans[(cell, e)];
                var sw = Stopwatch.StartNew();
                double nll = double.NaN;
                string? note = null;
                try
                {
                    var result = Experiment.Train(ui, plan, Experiment.NewTrainer(plan));
                    Experiment.Evaluate(ui, result);
                    nll = -result.TestBound;
                }
                catch (TrainingFailedException ex)
                {
                    note = "diverged";
                    ui.Error.WriteLine($"scg reproduce: {ScgApp.OneLine(ex.Message)}");
                }
                var o = outcomes[cell];
                if (e == 0) { o.Concrete = nll; o.ConcreteSeconds = sw.Elapsed.TotalSeconds; o.ConcreteNote = note; }
                else { o.Score = nll; o.ScoreSeconds = sw.Elapsed.TotalSeconds; o.ScoreNote = note; }
                Write();
            }
        }
        string markdown = Write(finished: true);
        ui.Line();
        ui.Line(markdown);
        ui.Line($"wrote {outFile} ({clock.Elapsed.TotalSeconds:F0} s)");
        return ScgApp.Ok;
    }

    static IEnumerable<Cell> AllCells(bool toy)
    {
        foreach (string model in PaperResults.DensityModels)
            foreach (int m in PaperResults.Samples) yield return new Cell(Task.Density, model, toy ? ToyAnalogue(model) : model, m);
        foreach (string model in PaperResults.StructuredModels)
            foreach (int m in PaperResults.Samples) yield return new Cell(Task.Structured, model, toy ? ToyAnalogue(model) : model, m);
    }

    /// <summary>The paper's model with widths for the 32-bit sbn-toy rows: 784V → 32V, 392V → 16V, every latent layer → 8H.</summary>
    internal static string ToyAnalogue(string paperModel)
    {
        var spec = LayerSpec.Parse(paperModel);
        var sb = new StringBuilder();
        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            sb.Append(l.Visible ? (l.Units == 784 ? "32V" : "16V") : "8H");
            if (i < spec.Connections.Count) sb.Append(spec.Connections[i] == Connection.Linear ? '-' : '~');
        }
        return sb.ToString();
    }

    /// <summary>The paper's hyperparameters (appendix D.5) for Concrete; score-function runs use lr 3e-4 without weight decay.</summary>
    static RunPlan Plan(Cell cell, bool concrete, DataSplits data, string dataName, int steps, int k, int batchSize, ulong seed, int run, int runs)
    {
        var spec = LayerSpec.Parse(cell.Model);
        var choice = EstimatorChoice.Parse(concrete ? "concrete" : cell.M == 1 ? "nvil" : "vimco");
        bool linear = spec.Connections.All(c => c == Connection.Linear);
        (double lr, double wd) = !concrete ? (3e-4, 0) : cell.Task == Task.Structured ? (3e-4, 1e-3) : linear ? (3e-4, 0) : (1e-4, 0);
        return new RunPlan
        {
            DataName = dataName, Data = data, Spec = spec,
            Options = new SbnOptions { GaussianParameters = choice.GaussianParameters, BaselineUnits = choice.NeedsBaseline ? 100 : 0 },
            Choice = choice,
            Settings = new TrainSettings
            {
                Samples = cell.M, BatchSize = batchSize, LearningRate = lr, WeightDecay = wd,
                PosteriorTemperature = TemperatureSchedule.Constant(2.0 / 3), PriorTemperature = TemperatureSchedule.Constant(0.5),
            },
            Steps = steps, Seed = seed, EvalSamples = k, EvalEvery = Math.Max(1, steps / 10), OutDir = null,
            Label = $"[{run}/{runs}] {cell.Model} m={cell.M} {choice.Name}",
        };
    }

    static (Func<Cell, bool> Cells, bool[] Estimators) ParseFilter(string text)
    {
        var models = new List<string>();
        var ms = new List<int>();
        var tasks = new List<Task>();
        var estimators = new List<int>();
        foreach (string term in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (term.StartsWith("m=", StringComparison.Ordinal) && int.TryParse(term[2..], NumberStyles.None, CultureInfo.InvariantCulture, out int m) && PaperResults.Samples.Contains(m)) ms.Add(m);
            else if (term == "density") tasks.Add(Task.Density);
            else if (term == "structured") tasks.Add(Task.Structured);
            else if (term == "concrete") estimators.Add(0);
            else if (term is "vimco" or "nvil") estimators.Add(1);
            else if (PaperResults.DensityModels.Contains(term) || PaperResults.StructuredModels.Contains(term)
                || PaperResults.DensityModels.Concat(PaperResults.StructuredModels).Any(p => ToyAnalogue(p) == term)) models.Add(term);
            else
                throw new UsageException($"--rows: '{term}' is not a term of the tables; expected a model ({string.Join(", ", PaperResults.DensityModels.Concat(PaperResults.StructuredModels))}), m=1|5|50, density, structured, concrete or vimco.");
        }
        bool[] chosen = estimators.Count == 0 ? [true, true] : [estimators.Contains(0), estimators.Contains(1)];
        return (c => (models.Count == 0 || models.Contains(c.PaperModel) || models.Contains(c.Model))
            && (ms.Count == 0 || ms.Contains(c.M)) && (tasks.Count == 0 || tasks.Contains(c.Task)), chosen);
    }

    static string Markdown(string dataName, Binarization binarization, int steps, int k, int kSp, int batchSize, ulong seed, List<Cell> cells,
        Dictionary<Cell, Outcome> outcomes, double? truth, TimeSpan elapsed, bool finished, bool[] estimators)
    {
        bool toy = dataName == ToySbn.Name;
        var sb = new StringBuilder();
        sb.Append("# The Concrete paper's MNIST results, re-run at a small budget\n\n");
        sb.Append(FormattableString.Invariant($"Written by `scg reproduce` on {DateTime.Now:yyyy-MM-dd HH:mm} ({Environment.ProcessorCount} cores, {elapsed.TotalMinutes:F1} min{(finished ? " in all" : " so far, still running")}). "));
        string bits = binarization == Binarization.Dynamic ? "dynamic binarization of the training images (fixed bits for validation and test)" : "fixed binarization";
        sb.Append(FormattableString.Invariant($"Data: **{dataName}**{(toy ? " (the embedded stand-in: every model is shrunk to its sbn-toy analogue, so our numbers are NOT comparable with the paper's MNIST numbers, which are shown for reference)" : (dataName == "fashion-mnist" ? " (the paper's numbers are for MNIST: not comparable)" : "") + $", {bits}, 50,000/10,000/10,000")}. "));
        sb.Append(FormattableString.Invariant($"Budget per run: **{steps} steps** of batch {batchSize} (the paper: 10^7 steps), seed {seed}, no early stopping. "));
        sb.Append(FormattableString.Invariant($"Test NLL = -L_k on the discrete graph over the whole test split, k = {k} for density estimation (the paper: 50,000) and k = {kSp} for structured prediction (the paper: 100). "));
        sb.Append("Concrete: λ1 = 2/3, λ2 = 1/2, and the paper's learning rate and weight decay (appendix D.5: 3e-4 linear, 1e-4 non-linear, 3e-4 with weight decay 1e-3 for structured prediction); ");
        sb.Append("VIMCO (NVIL when m = 1): lr 3e-4, no weight decay. Lower is better; — = not run.\n\n");

        foreach (var task in new[] { Task.Density, Task.Structured })
        {
            var rows = cells.Where(c => c.Task == task).ToList();
            if (rows.Count == 0) continue;
            sb.Append(task == Task.Density ? "## Density estimation (Table 1, test NLL)\n\n" : "## Structured prediction: bottom half given top half (Figure 4, test NLL)\n\n");
            var headers = new List<string> { "model", "m", "Concrete (ours)", "Concrete (paper)", "VIMCO/NVIL (ours)", "VIMCO/NVIL (paper)" };
            if (toy && task == Task.Density && truth is not null) headers.Add("true NLL");
            headers.Add("time (s)");
            var table = new TextTable([.. headers]);
            foreach (var c in rows)
            {
                var o = outcomes[c];
                var paper = PaperResults.Cell(c.PaperModel, c.M);
                var cellsText = new List<string>
                {
                    toy ? $"{c.Model} (for {c.PaperModel})" : c.Model, c.M.ToString(CultureInfo.InvariantCulture),
                    estimators[0] ? o.ConcreteNote ?? Experiment.Num(o.Concrete) : "—", paper.ConcreteTest.ToString("F1", CultureInfo.InvariantCulture),
                    estimators[1] ? o.ScoreNote ?? Experiment.Num(o.Score) : "—", paper.VimcoTest.ToString("F1", CultureInfo.InvariantCulture) + (c.M == 1 ? " (NVIL)" : ""),
                };
                if (toy && task == Task.Density && truth is double t) cellsText.Add(Experiment.Num(t));
                cellsText.Add(Experiment.Num(o.ConcreteSeconds + o.ScoreSeconds, "F1"));
                table.Add([.. cellsText]);
            }
            sb.Append(table.Markdown()).Append('\n');
        }
        return sb.ToString();
    }
}
