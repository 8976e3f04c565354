using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Scg.Models.Data;
using Scg.Models.Reporting;

namespace Scg.Cli;

static class CompareCommand
{
    public const string DefaultEstimators = "concrete,nvil,vimco:5";

    public static Command CreateCompare(Ui ui)
    {
        var options = new TrainOptions();
        var estimators = new Option<string>("--estimators")
        {
            Description = "Comma-separated estimators, each optionally with its own m as name:m (vimco needs m ≥ 2)",
            DefaultValueFactory = _ => DefaultEstimators,
        };
        var draws = new Option<int>("--grad-draws") { Description = "Gradient draws on one fixed batch at every validation pass, for the gradient-variance column and diagnostics.png (0 = skip)", DefaultValueFactory = _ => 50 };
        var outDir = new Option<string?>("--out", "-o") { Description = "New or empty folder for one run folder per estimator, curves.png/.svg, diagnostics.png/.svg and summary.md [default: runs/compare-<time>]" };
        var command = new Command("compare", "Train one model with several estimators (same seed and budget) and compare them side by side.");
        options.AddTo(command);
        command.Options.Add(estimators);
        command.Options.Add(draws);
        command.Options.Add(outDir);
        command.SetAction(p => ScgApp.Guard(ui, "scg compare", () =>
        {
            var common = options.Validate(p);
            string dir = p.GetValue(outDir) ?? Path.Combine("runs", "compare-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            return Run(ui, common, p.GetValue(estimators)!, p.GetValue(draws), dir, "compare");
        }));
        return command;
    }

    public const int DemoSteps = 6000;

    /// <summary>The demo command and its action (the root command runs the same action with the defaults).</summary>
    public static (Command Command, Func<ParseResult, int> Action) CreateDemo(Ui ui)
    {
        var steps = new Option<int>("--steps") { Description = "Training steps per estimator", DefaultValueFactory = _ => DemoSteps };
        var seed = new Option<ulong>("--seed") { Description = "Seed of every random choice", DefaultValueFactory = _ => 1UL };
        var evalSamples = new Option<int>("--eval-samples") { Description = "k of the final test bound L_k", DefaultValueFactory = _ => 1000 };
        var draws = new Option<int>("--grad-draws") { Description = "Gradient draws for the gradient-variance column", DefaultValueFactory = _ => 50 };
        var outDir = new Option<string>("--out", "-o") { Description = "Output folder: new, empty, or an earlier demo's, which is replaced", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var command = new Command("demo",
            $"The default command: on the embedded sbn-toy data, train the SBN {ToySbn.Spec} with concrete, nvil and vimco (m = 5), print the comparison " +
            "(bound, true NLL, gradient variance, speed) and write curves and sample grids. Well under a minute on 2 cores.");
        foreach (Option o in (Option[])[steps, seed, evalSamples, draws, outDir]) command.Options.Add(o);
        Func<ParseResult, int> action = p =>
        {
            int s = p.GetValue(steps), k = p.GetValue(evalSamples), d = p.GetValue(draws);
            if (s < 1) throw new UsageException($"--steps must be ≥ 1, got {s}.");
            TrainOptions.ValidateEvalSamples("--eval-samples", k);
            if (d is < 0 or 1) throw new UsageException($"--grad-draws must be 0 (skip) or ≥ 2, got {d}.");
            var data = TrainOptions.LoadData(ToySbn.Name, Binarization.Fixed);
            var common = new TrainOptions.Common(ToySbn.Name, data, TrainOptions.ParseSpec(ToySbn.Spec), new Models.Sbn.SbnOptions(), new Models.Sbn.NodeSettings(),
                new Models.Sbn.TrainSettings { LearningRate = 3e-3 }, s, p.GetValue(seed), k, Math.Max(1, s / 10));
            return Run(ui, common, DefaultEstimators, d, p.GetValue(outDir)!, "demo",
                $"demo: {ToySbn.Spec} on the embedded sbn-toy data ({data.Train.Rows} train / {data.Test.Rows} test rows of {data.Train.Features} bits, " +
                $"drawn from a fixed SBN whose exact NLL is known); {s} steps of 64 per estimator, Adam lr 3e-3.");
        };
        command.SetAction(p => ScgApp.Guard(ui, "scg demo", () => action(p)));
        return (command, action);
    }

    /// <summary>Parses "concrete,nvil,vimco:5" into (estimator, m) pairs; a name without :m gets <paramref name="defaultSamples"/>.</summary>
    public static List<(Models.Sbn.EstimatorChoice Choice, int Samples)> ParseEstimators(string text, int defaultSamples)
    {
        var list = new List<(Models.Sbn.EstimatorChoice, int)>();
        foreach (string item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = item.Split(':');
            int m = defaultSamples;
            if (parts.Length > 2 || (parts.Length == 2 && (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out m) || m < 1)))
                throw new UsageException($"--estimators: '{item}' is not an estimator or estimator:m with m ≥ 1 (e.g. concrete,nvil,vimco:5).");
            var choice = TrainOptions.ParseEstimator(parts[0]);
            if (list.Any(e => e.Item1.Name == choice.Name && e.Item2 == m))
                throw new UsageException($"--estimators lists {choice.Name} with m = {m} twice.");
            list.Add((choice, m));
        }
        if (list.Count == 0) throw new UsageException("--estimators is empty; expected e.g. concrete,nvil,vimco:5.");
        return list;
    }

    /// <summary>
    /// --out of compare must be a new or empty folder: a comparison is written whole and cannot be resumed, and files of
    /// another one beside it would mix two runs. The demo's folder may also hold the demo's own files and folders (an
    /// earlier demo, finished or not), which it replaces.
    /// </summary>
    static void RequireOutFolder(string outDir, string what, List<RunPlan> plans)
    {
        string[] top = [Experiment.CurvesFigure + ".png", Experiment.CurvesFigure + ".svg", Experiment.DiagnosticsFigure + ".png", Experiment.DiagnosticsFigure + ".svg", SummaryFile];
        var files = new List<string>(top);
        foreach (var plan in plans)
            files.AddRange(((string[])[Experiment.MetricsFile, Experiment.CheckpointFile, Experiment.GradientsFile, Experiment.ImagesFigure + ".png", Experiment.ImagesFigure + ".svg"]).Select(f => $"{Path.GetFileName(plan.OutDir)}/{f}"));
        string full = OutputLocation.RequireFolder("--out", outDir, files);
        if (!Directory.Exists(full)) return;
        var present = Directory.EnumerateFileSystemEntries(full).Select(e => Path.GetFileName(e)).Where(f => f != RunFolderLock.FileName).Order(StringComparer.Ordinal).ToList();   // the lock file of an earlier run is not its output
        var own = top.Concat(plans.Select(p => Path.GetFileName(p.OutDir!))).ToHashSet();
        if (present.Count == 0 || (what == "demo" && present.All(own.Contains))) return;
        string listed = string.Join(", ", present.Take(4)) + (present.Count > 4 ? $" and {present.Count - 4} more" : "");
        throw new UsageException(what == "demo"
            ? $"--out '{outDir}' holds files that are not an earlier demo ({listed}); the demo replaces only its own folder: expected a new, empty or earlier demo folder (choose another --out)."
            : $"--out '{outDir}' already holds files ({listed}); compare writes a whole folder and cannot resume one: expected a new or empty folder (choose another --out, e.g. '{Path.TrimEndingDirectorySeparator(outDir)}-2').");
    }

    const string SummaryFile = "summary.md";

    /// <summary>Trains and compares the estimators; <paramref name="intro"/> is printed once everything is validated.</summary>
    static int Run(Ui ui, TrainOptions.Common common, string estimators, int draws, string outDir, string what, string? intro = null)
    {
        if (draws is < 0 or 1) throw new UsageException($"--grad-draws must be 0 (skip) or ≥ 2, got {draws}.");
        var plans = ParseEstimators(estimators, common.Settings.Samples)
            .Select(e => TrainOptions.Plan(common, e.Choice, e.Samples, Path.Combine(outDir, $"{e.Choice.Name}-m{e.Samples}"), $"{e.Choice.Name} m={e.Samples}") with { GradientDraws = draws })
            .ToList();
        RequireOutFolder(outDir, what, plans);
        plans = Resources.FitMemory(plans, draws);
        foreach (var plan in plans) Warnings.Temperatures(ui, $"scg {what}", plan);

        // Everything is valid: from here on files are written (the demo replaces an earlier demo in the same folder).
        using var folderLock = RunFolderLock.Acquire(outDir);
        if (intro is not null) ui.Note(intro);
        var clock = Stopwatch.StartNew();
        var results = new List<RunResult>();
        bool images = false;
        foreach (var estimatorPlan in plans)
        {
            var plan = estimatorPlan with { ResumeCommand = Shell.Join([Shell.Program, "train", "--resume", estimatorPlan.OutDir!]) + $" (this estimator's run alone; {what} starts over)" };
            using var runLock = RunFolderLock.Acquire(plan.OutDir!);
            foreach (string f in (string[])[Experiment.MetricsFile, Experiment.CheckpointFile, Experiment.GradientsFile]) File.Delete(Path.Combine(plan.OutDir!, f));
            var result = Experiment.Train(ui, plan, Experiment.NewTrainer(plan));
            Experiment.Evaluate(ui, result);
            if (draws > 0) result.GradientVariance = result.Gradients[^1].Variance;   // recorded at the last step
            images = Experiment.WriteImages(plan.OutDir!, $"{Experiment.Describe(plan)}: {plan.Label}", result.Trainer, plan.Data.Test, plan.Seed);
            results.Add(result);
        }
        var first = plans[0];
        double? truth = Experiment.TrueNll(first);
        Experiment.WriteCurves(outDir, $"{Experiment.Describe(first)}: bounds per estimator",
            results.Select(r => Experiment.Curves(r.Plan, r.Rows)).ToList(), truth is double t ? -t : null, "true log-likelihood");
        Experiment.WriteDiagnostics(outDir, $"{Experiment.Describe(first)}: gradient of each estimator", results);
        var table = Report.Summary(results, truth, draws);
        Report.Print(ui, table);
        string header = $"# scg {what}: {Experiment.Describe(first)}\n\n{first.Steps} steps of batch {first.Settings.BatchSize} per estimator, seed {first.Seed}, " +
            $"Adam lr {first.Settings.LearningRate.ToString(CultureInfo.InvariantCulture)}, λ1 {first.Nodes.PosteriorTemperature}, λ2 {first.Nodes.PriorTemperature}; " +
            $"{clock.Elapsed.TotalSeconds:F0} s in all.\n\n";
        AtomicFile.WriteAllText(Path.Combine(outDir, SummaryFile), header + table.Markdown());
        ui.Note($"wrote {outDir}/: curves.png/.svg (bounds per step, one line per estimator), " + (draws > 0 ? "diagnostics.png/.svg, " : "") +
            $"summary.md, and per estimator {string.Join(", ", plans.Select(p => Path.GetFileName(p.OutDir!)))}/ with metrics.csv, checkpoint.scg" +
            (draws > 0 ? $", {Experiment.GradientsFile}" : "") + (images ? " and images.png/.svg" : "") + $"  ({clock.Elapsed.TotalSeconds:F1} s)");
        return ScgApp.Ok;
    }
}
