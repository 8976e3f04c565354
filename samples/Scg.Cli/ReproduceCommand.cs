using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
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
    internal enum Task { Density, Structured }

    /// <summary>A cell of the paper's tables: its task, the paper's model, the model trained (the sbn-toy analogue on toy data) and m.</summary>
    internal sealed record Cell(Task Task, string PaperModel, string Model, int M);

    sealed class Outcome
    {
        public double Concrete = double.NaN, Score = double.NaN, ConcreteSeconds, ScoreSeconds;
        public string? ConcreteNote, ScoreNote;
    }

    public static Command Create(Ui ui)
    {
        var data = new Option<string>("--data") { Description = $"Data set: mnist (the paper's), fashion-mnist, or sbn-toy (a CI-sized stand-in: layer widths shrink to 8H and 32V/16V)", DefaultValueFactory = _ => "mnist" };
        var paper = new Option<string>("--paper") { Description = "Which paper's tables: concrete (Table 1 and Figure 4 of Maddison et al.) or igr (Tables 1 and 3 and Figure 4 of Potapczynski et al.: the discrete VAE and structured prediction)", DefaultValueFactory = _ => "concrete" };
        var steps = new Option<int?>("--steps") { Description = $"Training steps per run [default: 10000 for concrete (the paper: 10^7), {ConcreteProtocol.PaperSteps} with --protocol full; {IgrReproduction.PaperSteps} for igr, the paper's 100 epochs]" };
        var seeds = new Option<string>("--seeds") { Description = "igr: the seeds every row runs, a comma list (the table gives mean ± std over them)", DefaultValueFactory = _ => IgrReproduction.DefaultSeeds };
        var protocol = new Option<string>("--protocol")
        {
            Description = $"concrete: budget (train every cell once at --steps, here) or full (the paper's own protocol: {ConcreteProtocol.PaperSteps} steps, the learning rate × weight decay grid of appendix D chosen on validation, L_{ConcreteProtocol.PaperEvalSamples}; written as one sweep per cell and estimator, to run with scg sweep resume, e.g. on Slurm; rerun to table what has finished)",
            DefaultValueFactory = _ => "budget",
        };
        var sweepOptions = new Option<string?>("--sweep-options") { Description = "--protocol full: scg sweep options for its sweeps, e.g. \"--launcher slurm --time 48:00:00 --mem 2G --requeue\"" };
        var jobs = new Option<int>("--jobs") { Description = "igr: runs at a time, one thread each (by default, the cores)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var rows = new Option<string?>("--rows")
        {
            Description = "Which cells to run: comma-separated terms, kept when they match every kind of term given — a paper model (200H~784V, 392V-240H-240H-392V, …), m=1|5|50, density|structured, concrete|vimco; for igr, row names (igr-0.5, gs-0.67, igr-0.1, gs-0.25, sp-igr-0.5, …), vae or structured [default: all]",
        };
        var evalSamples = new Option<int?>("--eval-samples") { Description = $"k of the density test bound L_k [default: 1000 for concrete, {ConcreteProtocol.PaperEvalSamples} (the paper's) with --protocol full; {IgrReproduction.DefaultEvalSamples} for igr]" };
        var spEvalSamples = new Option<int>("--sp-eval-samples") { Description = "k of the structured-prediction test bound L_k^SP (the paper: 100)", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size") { Description = "Data points per minibatch", DefaultValueFactory = _ => 64 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of every random choice", DefaultValueFactory = _ => 1UL };
        var outFile = new Option<string?>("--out", "-o") { Description = "New markdown file for the table (rewritten after every run, so partial results survive; the runs go in <name>-runs/ beside it) [default: runs/reproduce.md; runs/reproduce-full.md with --protocol full; runs/reproduce-igr.md for igr]" };
        var dataDir = TrainOptions.DataDirOption();
        var binarization = TrainOptions.BinarizationOption();
        var igrScale = new Option<string>("--igr-scale")
        {
            Description = "igr: the scale of the IGR rows' Gaussians: learned (as the paper's text describes) or unit (σ held at 1, as its structured-prediction code does; structured rows only, since the VAE's uniform prior fits σ0)",
            DefaultValueFactory = _ => "learned",
        };
        var spOptimizer = new Option<string>("--sp-optimizer")
        {
            Description = "igr: how the structured-prediction rows train: paper (batch 64, constant lr 1e-3, as the VAE) or code (as the paper's structured-prediction code: batch 100, lr 1e-3 / (1 + 1e-3·t) down to 1e-4)",
            DefaultValueFactory = _ => "paper",
        };
        var igrPrior = new Option<string>("--igr-prior")
        {
            Description = "igr: the Gaussian of the VAE's IGR rows' uniform prior: fit (by Eq. 20 at each row's τ, as the paper's text describes), code (μ0 = log(1/8), σ0 = e − 1 at both τ, as the paper's VAE code has it) or MU,SIGMA",
            DefaultValueFactory = _ => "fit",
        };
        var igrOutput = new Option<string>("--igr-output")
        {
            Description = "igr: what the decoders of the VAE's IGR rows read: log (the log of softmax++, as the paper's text describes IGR) or gaussian-log (log softmax(y/τ) over the nine Gaussian coordinates and 0 for the tenth, as the paper's VAE code feeds them)",
            DefaultValueFactory = _ => "log",
        };
        var command = new Command("reproduce",
            "Re-run a paper's tables at a given budget and write a markdown table with our numbers next to the paper's: the Concrete paper's Table 1 (MNIST density estimation: 4 models × m ∈ {1,5,50}, " +
            "Concrete vs VIMCO/NVIL) and structured prediction (Figure 4), or (--paper igr) the IGR paper's discrete VAE (Table 1, Figure 4) and structured prediction (Table 3) over several seeds.");
        foreach (Option o in (Option[])[paper, protocol, data, dataDir, binarization, igrScale, igrPrior, igrOutput, spOptimizer, steps, rows, evalSamples, spEvalSamples, batch, seed, seeds, jobs, sweepOptions, outFile]) command.Options.Add(o);
        command.SetAction(p => ScgApp.Guard(ui, "scg reproduce", () =>
        {
            string name = p.GetValue(paper)!;
            bool full = p.GetValue(protocol) switch
            {
                "budget" => false,
                "full" => true,
                var unknown => throw new UsageException($"--protocol must be budget or full, got '{unknown}'."),
            };
            Option[] other = name == "igr" ? [spEvalSamples, batch, seed, protocol, sweepOptions] : full ? [seeds, jobs, binarization, igrScale, igrPrior, igrOutput, spOptimizer, batch] : [seeds, jobs, igrScale, igrPrior, igrOutput, spOptimizer, sweepOptions];
            if (other.FirstOrDefault(o => TrainOptions.IsExplicit(p, o)) is { } given)
                throw new UsageException($"{given.Name} does not apply to --paper {name}{(full ? " --protocol full" : "")}{(name == "igr" ? " (its rows fix the batch as the paper does; seeds are --seeds)" : "")}.");
            return full ? Full(p) : Reproduce(p, name);
        }));
        int Full(ParseResult p)
        {
            string dataName = p.GetValue(data)!;
            if (!DataSets.Names.Contains(dataName))
                throw new UsageException($"unknown data set '{dataName}'; expected one of: {string.Join(", ", DataSets.Names)}.");
            int steps_ = p.GetValue(steps) ?? ConcreteProtocol.PaperSteps, k = p.GetValue(evalSamples) ?? ConcreteProtocol.PaperEvalSamples, kSp = p.GetValue(spEvalSamples);
            if (steps_ < 1) throw new UsageException($"--steps must be ≥ 1, got {steps_}.");
            TrainOptions.ValidateEvalSamples("--eval-samples", k);
            TrainOptions.ValidateEvalSamples("--sp-eval-samples", kSp);
            string? filter = p.GetValue(rows);
            if (filter is not null && string.IsNullOrWhiteSpace(filter.Replace(',', ' ')))
                throw new UsageException($"--rows '{filter}' is empty; expected comma-separated terms such as m=1,density (leave --rows out to run every cell).");
            var (cellFilter, estimatorFilter) = ParseFilter(filter ?? "");
            var cells = AllCells(dataName == ToySbn.Name).Where(cellFilter).ToList();
            if (cells.Count == 0) throw new UsageException($"--rows '{filter}' selects no cell of the tables.");
            string[] launcher = (p.GetValue(sweepOptions) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return ConcreteProtocol.Run(ui, cells, estimatorFilter, dataName, p.GetValue(dataDir), steps_, k, kSp, p.GetValue(seed), launcher,
                p.GetValue(outFile) ?? Path.Combine("runs", "reproduce-full.md"));
        }
        int Reproduce(ParseResult p, string name) => name switch
        {
            "concrete" => Run(ui, p.GetValue(data)!, p.GetValue(binarization)!, p.GetValue(steps) ?? 10_000, p.GetValue(rows),
                p.GetValue(evalSamples) ?? 1000, p.GetValue(spEvalSamples), p.GetValue(batch), p.GetValue(seed), p.GetValue(outFile) ?? Path.Combine("runs", "reproduce.md"), p.GetValue(dataDir)),
            "igr" => IgrReproduction.Run(ui, p.GetValue(data)!, p.GetValue(dataDir),
                TrainOptions.IsExplicit(p, binarization) ? p.GetValue(binarization)! : IgrReproduction.PaperBinarization, p.GetValue(igrScale)!, p.GetValue(igrPrior)!, p.GetValue(igrOutput)!, p.GetValue(spOptimizer)!,
                p.GetValue(steps) ?? IgrReproduction.PaperSteps, p.GetValue(rows),
                p.GetValue(evalSamples) ?? IgrReproduction.DefaultEvalSamples, p.GetValue(seeds)!, p.GetValue(jobs), p.GetValue(outFile) ?? Path.Combine("runs", "reproduce-igr.md")),
            var other => throw new UsageException($"--paper must be concrete or igr, got '{other}'."),
        };
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
        if (File.Exists(outFile) && !Directory.Exists(CellsFolder(outFile)))
            throw new UsageException($"--out '{outFile}' already exists and is not a reproduction this command can continue (it has no {Path.GetFileName(CellsFolder(outFile))}/ beside it): expected a new file name (choose another --out, e.g. '{Path.ChangeExtension(outFile, null)}-2.md', or move the old file away).");
        var data = TrainOptions.LoadData(dataName, binarization, dataDir);
        if (batchSize > data.Train.Rows) throw new UsageException($"--batch-size {batchSize} exceeds the {data.Train.Rows} training rows of {dataName}.");
        foreach (var c in cells) TrainOptions.ValidateSpecFitsData(TrainOptions.ParseSpec(c.Model), data);
        double? truth = Experiment.TrueNll(dataName);

        string cellsDir = CellsFolder(outFile);
        var selected = cells.SelectMany(c => new[] { 0, 1 }.Where(e => estimatorFilter[e]).Select(e => (Cell: c, Estimator: e))).ToList();
        var runs = selected.Select((r, i) =>
        {
            var plan = Resources.FitMemory(Plan(r.Cell, r.Estimator == 0, data, dataName, steps, r.Cell.Task == Task.Density ? k : kSp, batchSize, seed, i + 1, selected.Count));
            return (r.Cell, r.Estimator, Plan: plan with { OutDir = Path.Combine(cellsDir, $"{r.Cell.Model}-m{r.Cell.M}-{plan.Choice.Name}"), ResumeCommand = ui.CommandLine });
        }).ToList();
        // A rerun with the same --out continues: every run found there is checked before anything is written.
        var earlier = runs.ToDictionary(r => r.Plan, r => Earlier(r.Plan));

        // Everything is valid: from here on the table is written.
        string? folder = Path.GetDirectoryName(Path.GetFullPath(outFile));
        if (folder is not null) Directory.CreateDirectory(folder);
        using var folderLock = RunFolderLock.Acquire(cellsDir);
        var outcomes = cells.ToDictionary(c => c, _ => new Outcome());
        int done = 0;
        string Write(string status)
        {
            double minutes = outcomes.Values.Sum(o => o.ConcreteSeconds + o.ScoreSeconds) / 60;
            string md = Markdown(dataName, binarization, steps, k, kSp, batchSize, seed, cells, outcomes, truth,
                FormattableString.Invariant($"{minutes:F1} min of run time{(status.Length > 0 ? ", " + status : " in all")}"), estimatorFilter);
            AtomicFile.WriteAllText(outFile, md);
            return md;
        }
        string Running() => $"{done} of {runs.Count} runs done when this was written; if no scg process is working on it, rerun the same command to continue";
        void Record(Cell cell, int e, CellResult r)
        {
            var o = outcomes[cell];
            if (e == 0) { o.Concrete = r.TestNll ?? double.NaN; o.ConcreteSeconds = r.Seconds; o.ConcreteNote = r.Note; }
            else { o.Score = r.TestNll ?? double.NaN; o.ScoreSeconds = r.Seconds; o.ScoreNote = r.Note; }
            done++;
        }
        foreach (var (cell, e, plan) in runs)
            if (earlier[plan].Result is { } finished)
            {
                Record(cell, e, finished);
                ui.Note($"{plan.Label}: finished in an earlier run ({plan.OutDir}).");
            }
        Write(Running());
        foreach (var (cell, e, plan) in runs)
        {
            var (checkpoint, result) = earlier[plan];
            if (result is not null) continue;
            using var runLock = RunFolderLock.Acquire(plan.OutDir!);
            var sw = Stopwatch.StartNew();
            double nll = double.NaN;
            string? note = null;
            try
            {
                var trainer = checkpoint is null ? Experiment.NewTrainer(plan) : TrainCommand.CreateTrainer(checkpoint, plan.Seed);
                if (checkpoint is not null) ui.Note($"{plan.Label}: resuming at step {checkpoint.Header.Step} ({plan.OutDir}).");
                var run = Experiment.Continue(ui, plan, trainer);
                Experiment.Evaluate(ui, run);
                nll = -run.TestBound;
            }
            catch (TrainingFailedException ex)
            {
                note = "diverged";
                ui.Error.WriteLine($"scg reproduce: {ScgApp.OneLine(ex.Message)}");
            }
            catch (RunInterruptedException)
            {
                Write($"stopped by {ui.Stop.Requested} after {done} of {runs.Count} runs; rerun the same command to continue");
                throw;
            }
            var cellResult = new CellResult { Steps = plan.Steps, EvalSamples = plan.EvalSamples, TestNll = double.IsNaN(nll) ? null : nll, Note = note, Seconds = sw.Elapsed.TotalSeconds };
            AtomicFile.WriteAllText(Path.Combine(plan.OutDir!, ResultFile), JsonSerializer.Serialize(cellResult));
            Record(cell, e, cellResult);
            Write(Running());
        }
        string markdown = Write("");
        ui.Line();
        ui.Line(markdown);
        ui.Note($"wrote {outFile} and the runs in {cellsDir}/");
        return ScgApp.Ok;
    }

    /// <summary>Where the runs of a reproduction live: runs/reproduce.md keeps them in runs/reproduce-runs/.</summary>
    static string CellsFolder(string outFile) => Path.Combine(Path.GetDirectoryName(outFile) ?? "", Path.GetFileNameWithoutExtension(outFile) + "-runs");

    const string ResultFile = "result.json";

    /// <summary>A finished run of a reproduction: its test NLL (null when it diverged) and the seconds its last session took.</summary>
    sealed record CellResult
    {
        public int Steps { get; init; }
        public int EvalSamples { get; init; }
        public double? TestNll { get; init; }
        public string? Note { get; init; }
        public double Seconds { get; init; }
    }

    /// <summary>
    /// What an earlier invocation left of a run: nothing, a checkpoint to resume, or (with its checkpoint) a result of
    /// the same budget. A run of other settings, or further than --steps, is bad input.
    /// </summary>
    static (Checkpoint? Checkpoint, CellResult? Result) Earlier(RunPlan plan)
    {
        if (!File.Exists(plan.CheckpointPath)) return (null, null);
        var checkpoint = TrainCommand.ReadCheckpoint(plan.CheckpointPath);
        const string hint = " Rerun with the options it was begun with, or choose another --out.";
        try { checkpoint.RequireSameModel(plan.Header); }
        catch (InvalidDataException e) { throw new UsageException(e.Message + hint); }
        TrainCommand.RequireSameSettings(checkpoint, plan.Header);
        if (checkpoint.Header.Step > plan.Steps)
            throw new UsageException($"checkpoint '{checkpoint.Path}' is at step {checkpoint.Header.Step}, past --steps {plan.Steps}.{hint}");
        string resultPath = Path.Combine(plan.OutDir!, ResultFile);
        if (!File.Exists(resultPath)) return (checkpoint, null);
        CellResult? result;
        try { result = JsonSerializer.Deserialize<CellResult>(File.ReadAllText(resultPath)); }
        catch (JsonException e) { throw new UsageException($"'{resultPath}' is not a run's result: {e.Message} Delete it to evaluate the run again."); }
        return result is not null && result.Steps == plan.Steps && result.EvalSamples == plan.EvalSamples ? (checkpoint, result) : (checkpoint, null);
    }

    internal static IEnumerable<Cell> AllCells(bool toy)
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
    /// <summary>The paper's node settings: binary nodes on the corners, λ1 = 2/3 and λ2 = 1/2.</summary>
    static readonly NodeSettings Nodes = new();

    static RunPlan Plan(Cell cell, bool concrete, DataSplits data, string dataName, int steps, int k, int batchSize, ulong seed, int run, int runs)
    {
        var spec = LayerSpec.Parse(cell.Model);
        var choice = EstimatorChoice.Parse(concrete ? "concrete" : cell.M == 1 ? "nvil" : "vimco");
        bool linear = spec.Connections.All(c => c == Connection.Linear);
        (double lr, double wd) = !concrete ? (3e-4, 0) : cell.Task == Task.Structured ? (3e-4, 1e-3) : linear ? (3e-4, 0) : (1e-4, 0);
        return new RunPlan
        {
            DataName = dataName, Data = data, Spec = spec,
            Options = new SbnOptions { BaselineUnits = choice.NeedsBaseline ? 100 : 0 },
            Nodes = Nodes, Family = choice.Family(Nodes),
            Choice = choice,
            Settings = new TrainSettings { Samples = cell.M, BatchSize = batchSize, LearningRate = lr, WeightDecay = wd },
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
        Dictionary<Cell, Outcome> outcomes, double? truth, string status, bool[] estimators)
    {
        bool toy = dataName == ToySbn.Name;
        var sb = new StringBuilder();
        sb.Append("# The Concrete paper's MNIST results, re-run at a small budget\n\n");
        sb.Append(FormattableString.Invariant($"Written by `scg reproduce` on {DateTime.Now:yyyy-MM-dd HH:mm} ({Environment.ProcessorCount} cores; {status}). "));
        string bits = binarization switch
        {
            Binarization.Dynamic => "dynamic binarization of the training images (fixed bits for validation and test)",
            Binarization.Threshold => "every image thresholded at intensity 1/2",
            _ => "fixed binarization",
        };
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
