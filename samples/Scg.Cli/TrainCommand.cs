using System.CommandLine;
using System.Globalization;
using Scg.Models.Reporting;
using Scg.Models.Sbn;

namespace Scg.Cli;

static class TrainCommand
{
    public static Command Create(Ui ui)
    {
        var options = new TrainOptions();
        var estimator = new Option<string>("--estimator", "-e")
        {
            Description = $"Gradient estimator: {string.Join(", ", EstimatorChoice.All.Select(e => e.Name))}",
            DefaultValueFactory = _ => "concrete",
        };
        var outDir = new Option<string?>("--out", "-o") { Description = "Run folder for metrics.csv, checkpoint.scg, curves.png/.svg, images.png/.svg (image data) [default: runs/<time>-<estimator>]" };
        var gradDraws = new Option<int>("--grad-draws")
        {
            Description = "Gradient draws on one fixed batch at every validation pass, for gradients.csv, diagnostics.png and the vanishing-gradients column (0 = none; a resumed run is not told this by its checkpoint)",
            DefaultValueFactory = _ => 0,
        };
        var outputBias = new Option<string>("--output-bias")
        {
            Description = "Initial biases of the output layer: base-rate (the logits of the training data's mean, as the Concrete paper starts) or zero (as the IGR paper's networks start); a new run's initialization only",
            DefaultValueFactory = _ => "base-rate",
        };
        var resume = new Option<string?>("--resume")
        {
            Description = "Continue from a checkpoint (a checkpoint.scg or its run folder; alone, the --out folder's), as the run was begun: model, estimator, data, " +
                "settings, --steps, --eval-every and --eval-samples come from the checkpoint. Of these only --steps (a new total), --eval-every and --eval-samples may be changed. " +
                $"A run stopped by SIGINT or SIGTERM (exit codes {ScgApp.Interrupted} and {ScgApp.Terminated}) writes a checkpoint first and prints the command that resumes it",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("train", "Train one sigmoid belief network with one estimator; writes metrics, a checkpoint and pictures into a run folder, " +
            "which is locked while it runs (a second process writing to it is refused).");
        options.AddTo(command);
        command.Options.Add(estimator);
        command.Options.Add(outDir);
        command.Options.Add(resume);
        command.Options.Add(gradDraws);
        command.Options.Add(outputBias);
        command.SetAction(p => ScgApp.Guard(ui, "scg train", () => Run(ui, p, options, estimator, outDir, resume, gradDraws, outputBias)));
        return command;
    }

    static int Run(Ui ui, ParseResult p, TrainOptions options, Option<string> estimatorOption, Option<string?> outOption, Option<string?> resumeOption, Option<int> drawsOption, Option<string> outputBiasOption)
    {
        Checkpoint? checkpoint = null;
        string? outDir = p.GetValue(outOption);
        if (p.GetResult(resumeOption) is not null)
        {
            string path = p.GetValue(resumeOption) ?? outDir
                ?? throw new UsageException("--resume needs a checkpoint: give its path (--resume runs/x) or the run folder with --out.");
            if (Directory.Exists(path)) path = Path.Combine(path, Experiment.CheckpointFile);
            checkpoint = ReadCheckpoint(path);
            outDir ??= Path.GetDirectoryName(Path.GetFullPath(path))!;
        }

        var common = options.Validate(p, checkpoint?.Header);
        string estimatorName = checkpoint is not null && !TrainOptions.IsExplicit(p, estimatorOption) ? checkpoint.Header.Estimator : p.GetValue(estimatorOption)!;
        var choice = TrainOptions.ParseEstimator(estimatorName);
        outDir ??= Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + choice.Name);
        OutputLocation.RequireFolder("--out", outDir, RunFiles);
        int draws = p.GetValue(drawsOption);
        if (draws is < 0 or 1) throw new UsageException($"--grad-draws must be 0 (none) or ≥ 2, got {draws}.");
        string bias = p.GetValue(outputBiasOption)!;
        if (bias is not ("base-rate" or "zero")) throw new UsageException($"--output-bias must be base-rate or zero, got '{bias}'.");
        var plan = TrainOptions.Plan(common, choice, common.Settings.Samples, outDir, $"{choice.Name} m={common.Settings.Samples}") with { GradientDraws = draws, BaseRateBias = bias == "base-rate" };

        Trainer<SigmoidBeliefNet> trainer;
        if (checkpoint is not null)
        {
            // options the command line cannot set continue as the checkpoint has them (IGR's δ came with the node settings)
            plan = plan with
            {
                Options = checkpoint.Header.Options with
                {
                    UniformPrior = plan.Options.UniformPrior, HiddenUnits = plan.Options.HiddenUnits, BaselineUnits = plan.Options.BaselineUnits,
                    Activation = plan.Options.Activation, AnalyticKl = plan.Options.AnalyticKl,
                },
            };
            try { checkpoint.RequireSameModel(plan.Header); }
            catch (InvalidDataException e) { throw new UsageException(e.Message + " Resume it with matching options, or start a new run with another --out."); }
            RequireSameSettings(checkpoint, plan.Header);
            plan = Resources.FitMemory(plan);
            trainer = CreateTrainer(checkpoint, plan.Seed);
        }
        else
        {
            if (File.Exists(Path.Combine(outDir, Experiment.CheckpointFile)))
                throw new UsageException($"'{outDir}' already holds a run ({Experiment.CheckpointFile}); continue it with --resume, or choose another --out.");
            plan = Resources.FitMemory(plan);
            trainer = Experiment.NewTrainer(plan);
        }
        Warnings.Temperatures(ui, "scg train", plan);

        string? dataDir = p.GetValue(options.DataDir);
        plan = plan with { ResumeCommand = Shell.Join([Shell.Program, "train", "--resume", outDir, .. dataDir is null ? [] : (string[])["--data-dir", dataDir]]) };

        // Everything is valid: from here on files are written.
        using var runLock = RunFolderLock.Acquire(outDir);
        if (checkpoint is not null) NoteRunLength(ui, p, options, checkpoint, common);
        if (checkpoint is null) File.Delete(Path.Combine(outDir, Experiment.MetricsFile));
        ui.Note($"train: {Experiment.Describe(plan)}, {plan.Label}, {plan.Steps} steps of {plan.Settings.BatchSize} (run folder {outDir})" +
            (checkpoint is null ? "" : $", resuming at step {checkpoint.Header.Step}"));
        var result = Experiment.Continue(ui, plan, trainer);
        Experiment.Evaluate(ui, result);

        var history = MetricsCsv.Read(Path.Combine(outDir, Experiment.MetricsFile));
        double? truth = Experiment.TrueNll(plan);
        Experiment.WriteCurves(outDir, $"{Experiment.Describe(plan)}: {plan.Label}", [Experiment.Curves(plan, history)],
            truth is double t ? -t : null, "true log-likelihood");
        bool images = Experiment.WriteImages(outDir, $"{Experiment.Describe(plan)}: {plan.Label}", trainer, plan.Data.Test, plan.Seed);
        Experiment.WriteDiagnostics(outDir, $"{Experiment.Describe(plan)}: {plan.Label}", [result]);
        var summary = Report.Summary([result], truth, gradientDraws: 0);
        Report.Print(ui, summary);
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.md"), summary.Markdown());
        ui.Note($"wrote {outDir}/: {Experiment.MetricsFile}, {Experiment.CheckpointFile}, curves.png/.svg, " +
            (images ? "images.png/.svg, " : "") + "summary.md");
        return ScgApp.Ok;
    }

    /// <summary>The files a run writes into its folder.</summary>
    public static readonly string[] RunFiles =
        [Experiment.MetricsFile, Experiment.CheckpointFile, Experiment.CurvesFigure + ".png", Experiment.CurvesFigure + ".svg",
            Experiment.ImagesFigure + ".png", Experiment.ImagesFigure + ".svg", "summary.md"];

    internal static Checkpoint ReadCheckpoint(string path)
    {
        try { return Checkpoint.Read(path); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException(e.Message);
        }
    }

    /// <summary>A trainer in the checkpoint's state; a checkpoint whose tensors do not fit its model is bad input.</summary>
    internal static Trainer<SigmoidBeliefNet> CreateTrainer(Checkpoint checkpoint, ulong seed)
    {
        try { return checkpoint.CreateTrainer(Seeds.For(seed, Seeds.Step, checkpoint.Header.Step)); }
        catch (InvalidDataException e) { throw new UsageException(e.Message); }
    }

    /// <summary>Says where the resumed run's length comes from: what the command line changes, or that the checkpoint predates its record.</summary>
    static void NoteRunLength(Ui ui, ParseResult p, TrainOptions options, Checkpoint checkpoint, TrainOptions.Common common)
    {
        if (checkpoint.Header.Schedule is not { } s)
        {
            ui.Note($"checkpoint '{checkpoint.Path}' does not record its run's length (an older scg wrote it): --steps {common.Steps}, " +
                $"--eval-every {common.EvalEvery} and --eval-samples {common.EvalSamples} come from the command line.");
            return;
        }
        foreach (var (option, was, now) in (ReadOnlySpan<(Option<int>, int, int)>)[(options.Steps, s.Steps, common.Steps), (options.EvalEvery, s.EvalEvery, common.EvalEvery), (options.EvalSamples, s.EvalSamples, common.EvalSamples)])
            if (TrainOptions.IsExplicit(p, option) && was != now)
                ui.Note($"resume: {option.Name} {now} replaces the run's {was}.");
    }

    internal static void RequireSameSettings(Checkpoint checkpoint, CheckpointHeader wanted)
    {
        var h = checkpoint.Header;
        var differences = new List<string>();
        if (h.PosteriorTemperature != wanted.PosteriorTemperature) differences.Add($"--temperature {h.PosteriorTemperature}");
        if (h.PriorTemperature != wanted.PriorTemperature) differences.Add($"--prior-temperature {h.PriorTemperature}");
        if (h.LearningRate != wanted.LearningRate) differences.Add($"--lr {h.LearningRate.ToString(CultureInfo.InvariantCulture)}");
        if (h.WeightDecay != wanted.WeightDecay) differences.Add($"--weight-decay {h.WeightDecay.ToString(CultureInfo.InvariantCulture)}");
        if (h.LearningRateDecay != wanted.LearningRateDecay) differences.Add($"--lr-decay {h.LearningRateDecay.ToString(CultureInfo.InvariantCulture)}");
        if (h.MinimumLearningRate != wanted.MinimumLearningRate) differences.Add($"--lr-min {h.MinimumLearningRate.ToString(CultureInfo.InvariantCulture)}");
        if (h.BatchSize != wanted.BatchSize) differences.Add($"--batch-size {h.BatchSize}");
        if (h.Seed != wanted.Seed) differences.Add($"--seed {h.Seed}");
        if (differences.Count > 0)
            throw new UsageException($"checkpoint '{checkpoint.Path}' was trained with {string.Join(", ", differences)}; a resumed run keeps its checkpoint's settings (leave these options out, or start a new run with another --out).");
    }
}
