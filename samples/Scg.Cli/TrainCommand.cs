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
        var outDir = new Option<string?>("--out", "-o") { Description = "Run folder for metrics.csv, checkpoint.scg, curves.svg, samples.png, data.png, reconstructions.png (image data) [default: runs/<time>-<estimator>]" };
        var resume = new Option<string?>("--resume")
        {
            Description = "Continue from a checkpoint (a checkpoint.scg or its run folder; alone, the --out folder's). Model, estimator, data and settings come from the checkpoint; --steps is the new total",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("train", "Train one sigmoid belief network with one estimator; writes metrics, a checkpoint and pictures into a run folder.");
        options.AddTo(command);
        command.Options.Add(estimator);
        command.Options.Add(outDir);
        command.Options.Add(resume);
        command.SetAction(p => ScgApp.Guard(ui, "scg train", () => Run(ui, p, options, estimator, outDir, resume)));
        return command;
    }

    static int Run(Ui ui, ParseResult p, TrainOptions options, Option<string> estimatorOption, Option<string?> outOption, Option<string?> resumeOption)
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
        var plan = TrainOptions.Plan(common, choice, common.Settings.Samples, outDir, $"{choice.Name} m={common.Settings.Samples}");

        Trainer trainer;
        if (checkpoint is not null)
        {
            // options the command line cannot set (and IGR's δ) continue as the checkpoint has them
            plan = plan with
            {
                Options = checkpoint.Header.Options with
                {
                    Arity = plan.Options.Arity, Encoding = plan.Options.Encoding, UniformPrior = plan.Options.UniformPrior, HiddenUnits = plan.Options.HiddenUnits,
                    GaussianParameters = plan.Options.GaussianParameters, BaselineUnits = plan.Options.BaselineUnits,
                },
                Settings = plan.Settings with { IgrDelta = checkpoint.Header.IgrDelta },
            };
            try { checkpoint.RequireSameModel(plan.Header); }
            catch (InvalidDataException e) { throw new UsageException(e.Message + " Resume it with matching options, or start a new run with another --out."); }
            RequireSameSettings(checkpoint, plan.Header);
            plan = Resources.FitMemory(plan);
            trainer = checkpoint.CreateTrainer(Seeds.For(plan.Seed, Seeds.Step, checkpoint.Header.Step));
        }
        else
        {
            if (File.Exists(Path.Combine(outDir, Experiment.CheckpointFile)))
                throw new UsageException($"'{outDir}' already holds a run ({Experiment.CheckpointFile}); continue it with --resume, or choose another --out.");
            plan = Resources.FitMemory(plan);
            trainer = Experiment.NewTrainer(plan);
        }
        Warnings.Temperatures(ui, "scg train", plan);

        // Everything is valid: from here on files are written.
        Directory.CreateDirectory(outDir);
        if (checkpoint is null) File.Delete(Path.Combine(outDir, Experiment.MetricsFile));
        ui.Line($"train: {Experiment.Describe(plan)}, {plan.Label}, {plan.Steps} steps of {plan.Settings.BatchSize} (run folder {outDir})" +
            (checkpoint is null ? "" : $", resuming at step {checkpoint.Header.Step}"));
        RunResult result;
        if (trainer.StepCount >= plan.Steps)
        {
            ui.Line($"the checkpoint is at step {trainer.StepCount}, not before --steps {plan.Steps}: evaluating only.");
            result = new RunResult { Plan = plan, Trainer = trainer, Rows = [], FinalTrainBound = double.NaN, StepsPerSecond = double.NaN };
        }
        else
        {
            result = Experiment.Train(ui, plan, trainer);
        }
        Experiment.Evaluate(ui, result);

        var history = MetricsCsv.Read(Path.Combine(outDir, Experiment.MetricsFile));
        double? truth = Experiment.TrueNll(plan);
        Experiment.WriteCurves(Path.Combine(outDir, "curves.svg"), $"{Experiment.Describe(plan)}: {plan.Label}", [(plan.Label, history)],
            truth is double t ? -t : null, "true log-likelihood");
        Experiment.WriteSampleGrid(Path.Combine(outDir, "samples.png"), trainer.Model, plan.Data.Test, plan.Seed);
        Experiment.WriteDataGrid(Path.Combine(outDir, "data.png"), plan.Data.Test);
        bool reconstructions = Experiment.WriteReconstructionGrid(Path.Combine(outDir, Experiment.ReconstructionsFile), trainer.Model, plan.Data.Test, plan.Seed);
        var summary = Report.Summary([result], truth, gradientDraws: 0);
        Report.Print(ui, summary);
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.md"), summary.Markdown());
        ui.Line($"wrote {outDir}/: {Experiment.MetricsFile}, {Experiment.CheckpointFile}, curves.svg, samples.png, data.png, " +
            (reconstructions ? $"{Experiment.ReconstructionsFile}, " : "") + "summary.md");
        return ScgApp.Ok;
    }

    /// <summary>The files a run writes into its folder.</summary>
    public static readonly string[] RunFiles =
        [Experiment.MetricsFile, Experiment.CheckpointFile, "curves.svg", "samples.png", "data.png", Experiment.ReconstructionsFile, "summary.md"];

    internal static Checkpoint ReadCheckpoint(string path)
    {
        try { return Checkpoint.Read(path); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException(e.Message);
        }
    }

    static void RequireSameSettings(Checkpoint checkpoint, CheckpointHeader wanted)
    {
        var h = checkpoint.Header;
        var differences = new List<string>();
        if (h.PosteriorTemperature != wanted.PosteriorTemperature) differences.Add($"--temperature {h.PosteriorTemperature}");
        if (h.PriorTemperature != wanted.PriorTemperature) differences.Add($"--prior-temperature {h.PriorTemperature}");
        if (h.LearningRate != wanted.LearningRate) differences.Add($"--lr {h.LearningRate.ToString(CultureInfo.InvariantCulture)}");
        if (h.WeightDecay != wanted.WeightDecay) differences.Add($"--weight-decay {h.WeightDecay.ToString(CultureInfo.InvariantCulture)}");
        if (h.BatchSize != wanted.BatchSize) differences.Add($"--batch-size {h.BatchSize}");
        if (h.Seed != wanted.Seed) differences.Add($"--seed {h.Seed}");
        if (differences.Count > 0)
            throw new UsageException($"checkpoint '{checkpoint.Path}' was trained with {string.Join(", ", differences)}; a resumed run keeps its checkpoint's settings (leave these options out, or start a new run with another --out).");
    }
}
