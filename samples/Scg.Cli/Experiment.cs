using System.Diagnostics;
using System.Globalization;
using Scg.Autodiff;
using Scg.Models;
using Scg.Models.Data;
using Scg.Models.Reporting;
using Scg.Models.Sbn;
using Scg.Stochastic.Diagnostics;
using Scg.Stochastic.Graph;

namespace Scg.Cli;

/// <summary>
/// Independent random streams of one run, each derived from (seed, purpose, index): the model's initialization,
/// every training step, every epoch's shuffle, every evaluation. Nothing depends on how many draws came before, so
/// a run resumed at step t draws exactly what the uninterrupted run drew from step t on.
/// </summary>
static class Seeds
{
    public const ulong Init = 1, Step = 2, Shuffle = 3, Valid = 4, Test = 5, Gradient = 6, Samples = 7, Binarize = 8, Reconstructions = 9, GradientBatch = 10, RelaxedTest = 11;

    public static Rng For(ulong seed, ulong purpose, long index = 0) => new(Mix(Mix(seed, purpose), (ulong)index));

    static ulong Mix(ulong a, ulong b)
    {
        ulong z = a + 0x9E3779B97F4A7C15UL * (b + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>Everything one training run needs, validated.</summary>
sealed record RunPlan
{
    public required string DataName { get; init; }
    public required DataSplits Data { get; init; }
    public required LayerSpec Spec { get; init; }
    public required SbnOptions Options { get; init; }
    /// <summary>What the node family is built from (recorded in the checkpoint).</summary>
    public required NodeSettings Nodes { get; init; }
    /// <summary>The family every latent layer is drawn from, built once from <see cref="Choice"/> and <see cref="Nodes"/>.</summary>
    public required NodeFamily<float> Family { get; init; }
    public required EstimatorChoice Choice { get; init; }
    public required TrainSettings Settings { get; init; }
    public required int Steps { get; init; }
    public required ulong Seed { get; init; }
    public required int EvalSamples { get; init; }
    /// <summary>Steps between validation passes and checkpoints.</summary>
    public required int EvalEvery { get; init; }
    /// <summary>Run folder (metrics.csv, checkpoint.scg, pictures), or null to write nothing.</summary>
    public string? OutDir { get; init; }
    /// <summary>Name in tables and progress lines, e.g. "vimco m=5".</summary>
    public required string Label { get; init; }
    /// <summary>The command that continues this run after it was stopped (null: a stopped run is not resumed).</summary>
    public string? ResumeCommand { get; init; }
    /// <summary>The output layer's biases start at the logits of the training data's mean (Concrete paper D.3), else at 0.</summary>
    public bool BaseRateBias { get; init; } = true;
    /// <summary>Gradient draws for the gradient statistics recorded at every validation pass (0 = none).</summary>
    public int GradientDraws { get; init; }
    /// <summary>Rows (data rows × samples) an evaluation holds in memory at once (<see cref="Evaluation.Bound"/>'s maxRows).</summary>
    public int EvalRows { get; init; } = Evaluation.DefaultMaxRows;

    public int Features => Data.Train.Features;
    /// <summary>How the training split is binarized (valid and test always hold the fixed bits).</summary>
    public Binarization Binarization => Data.Train.Binarization;
    public string CheckpointPath => Path.Combine(OutDir!, Experiment.CheckpointFile);
    public RunSchedule Schedule => new() { Steps = Steps, EvalEvery = EvalEvery, EvalSamples = EvalSamples };
    public CheckpointHeader Header => CheckpointHeader.Of(Spec, Options, Choice.Name, Nodes, Settings, DataName, Seed, binarization: Binarization) with { Schedule = Schedule };
}

/// <summary>
/// The run diverged numerically (a non-finite bound or parameter, or values a distribution rejects), in a training
/// step or in validation: the settings, not the program, are at fault (exit code 2). The message names the step, the
/// quantity and the last good checkpoint, which is kept.
/// </summary>
sealed class TrainingFailedException(string message, Exception? inner = null) : UsageException(message, inner);

/// <summary>What a run measured.</summary>
sealed class RunResult
{
    public required RunPlan Plan { get; init; }
    public required Trainer<SigmoidBeliefNet> Trainer { get; init; }
    public required List<MetricsRow> Rows { get; init; }
    /// <summary>Mean training bound over the last logging interval.</summary>
    public double FinalTrainBound { get; init; }
    /// <summary>Training steps per second of this session (steps only, no evaluation).</summary>
    public double StepsPerSecond { get; init; }
    public double TestBound { get; set; } = double.NaN;
    public int TestSamples { get; set; }
    public double? ExactModelNll { get; set; }
    /// <summary>The relaxed bound the run trained, over the test split (relaxed estimators only): the IGR paper's test ELBO.</summary>
    public double? RelaxedTestBound { get; set; }
    public double? GradientVariance { get; set; }
    /// <summary>Gradient statistics at every validation pass (with <see cref="RunPlan.GradientDraws"/> &gt; 0).</summary>
    public List<GradientRow> Gradients { get; init; } = [];
}

static class Experiment
{
    public const string CheckpointFile = "checkpoint.scg";
    public const string MetricsFile = "metrics.csv";
    public const string GradientsFile = "gradients.csv";
    /// <summary>Figures, each written as .png and .svg.</summary>
    public const string CurvesFigure = "curves", DiagnosticsFigure = "diagnostics", ImagesFigure = "images";
    const int ValidRows = 2000, ImagesPerRow = 12;
    public const int ValidSamples = 10;

    public static SigmoidBeliefNet NewModel(RunPlan plan)
    {
        var baseRate = plan.BaseRateBias ? plan.Data.BaseRate.AsSpan(plan.Spec.IsConditional ? plan.Spec.Layers[0].Units : 0) : default;
        return new SigmoidBeliefNet(plan.Spec, plan.Options, plan.Family, Seeds.For(plan.Seed, Seeds.Init), baseRate);
    }

    public static Trainer<SigmoidBeliefNet> NewTrainer(RunPlan plan) => new(NewModel(plan), plan.Choice.Create(plan.Settings.Samples), plan.Settings, Seeds.For(plan.Seed, Seeds.Step));

    /// <summary>
    /// Opens the run's metrics.csv for appending after the trainer's step: rows logged after it (by a run stopped before
    /// its next checkpoint) and an unfinished last line are dropped, each with a note.
    /// </summary>
    public static MetricsCsv OpenMetrics(Ui ui, RunPlan plan, long step)
    {
        try { return MetricsCsv.Open(Path.Combine(plan.OutDir!, MetricsFile), step, ui.Note); }
        catch (InvalidDataException e)
        {
            throw new UsageException($"{e.Message} Repair or delete it to resume: the checkpoint alone resumes the run, with a metrics file that starts at step {step}.");
        }
    }

    /// <summary>Writes the trainer's state to the run's checkpoint, atomically (the fault-injection tests may pause halfway).</summary>
    static void SaveCheckpoint(Ui ui, RunPlan plan, Trainer<SigmoidBeliefNet> trainer)
    {
        var header = plan.Header with { Step = trainer.StepCount };
        AtomicFile.Write(plan.CheckpointPath, file => Checkpoint.Write(FaultInjection.CheckpointStream(ui, file, trainer.StepCount), trainer, header));
    }

    /// <summary>How a run stopped at <paramref name="step"/> continues: its checkpoint and the resume command.</summary>
    static string Saved(RunPlan plan, long step) => plan.OutDir is null
        ? "nothing was saved."
        : $"checkpoint '{plan.CheckpointPath}' holds step {step} of {plan.Steps}." + (plan.ResumeCommand is null ? "" : $" Resume with: {plan.ResumeCommand}");

    /// <summary>
    /// Trains until <see cref="RunPlan.Steps"/> steps are done (from the trainer's current step), logging metrics,
    /// validating and checkpointing every <see cref="RunPlan.EvalEvery"/> steps and at the end. A diverged step or
    /// validation (e.g. a non-finite bound or parameter) throws <see cref="TrainingFailedException"/>, with the last good
    /// checkpoint left in place. A caught SIGINT or SIGTERM ends the run after the current step with a checkpoint of it
    /// (<see cref="RunInterruptedException"/>).
    /// </summary>
    public static RunResult Train(Ui ui, RunPlan plan, Trainer<SigmoidBeliefNet> trainer, List<MetricsRow>? earlier = null)
    {
        long start = trainer.StepCount;
        var rows = earlier ?? [];
        var gradients = plan.GradientDraws > 0 && plan.OutDir is not null ? ReadGradients(Path.Combine(plan.OutDir, GradientsFile), start) : [];
        using var csv = plan.OutDir is null ? null : OpenMetrics(ui, plan, start);
        if (plan.OutDir is not null && start == 0) SaveCheckpoint(ui, plan, trainer);
        long saved = start;
        var schedule = new BatchSchedule(plan.Data.Train, plan.Settings.BatchSize,
            epoch => Seeds.For(plan.Seed, Seeds.Shuffle, epoch), step => Seeds.For(plan.Seed, Seeds.Binarize, step));
        var batch = new float[plan.Settings.BatchSize * plan.Features];
        int logEvery = Math.Max(1, plan.Steps / 200);
        int evalEvery = Math.Max(1, plan.EvalEvery);
        var clock = new Stopwatch();
        double sum = 0, intervalSeconds = 0, lastBound = double.NaN, lastValid = double.NaN;
        int count = 0;
        long totalSteps = 0;
        double totalSeconds = 0;
        ui.Progress($"{plan.Label}", plan.Steps, progress =>
        {
            progress.Report(start, "");
            for (long step = start; step < plan.Steps; step++)
            {
                clock.Restart();
                trainer.Reseed(Seeds.For(plan.Seed, Seeds.Step, step));
                schedule.Fill(step, batch);
                double bound;
                try { bound = trainer.Step(batch); }
                catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException)
                {
                    // a parameter that an earlier update made non-finite is the cause: name it, as validation does
                    throw NonFiniteParameter(trainer) is string parameter
                        ? Diverged(plan, $"at training step {step}", parameter, saved, e)
                        : Diverged(plan, $"at training step {step + 1}", Reason(e), saved, e);
                }
                clock.Stop();
                intervalSeconds += clock.Elapsed.TotalSeconds;
                sum += bound; count++;
                long done = step + 1;
                bool eval = done % evalEvery == 0 || done == plan.Steps;
                if (done % logEvery == 0 || eval)
                {
                    double valid = eval ? ValidBound(plan, trainer, done, saved) : double.NaN;
                    if (eval) lastValid = valid;
                    if (eval && plan.GradientDraws > 0) RecordGradients(plan, trainer, done, gradients);
                    double rate = count / Math.Max(intervalSeconds, 1e-9);
                    totalSteps += count; totalSeconds += intervalSeconds;
                    lastBound = sum / count;
                    var row = new MetricsRow(done, lastBound, valid, plan.Nodes.PosteriorTemperature.At(step), plan.Nodes.PriorTemperature.At(step), rate);
                    rows.Add(row);
                    csv?.Append(row);
                    if (eval && plan.OutDir is not null) { SaveCheckpoint(ui, plan, trainer); saved = done; }
                    progress.Report(done, FormattableString.Invariant($"bound {lastBound:F3}") +
                        (double.IsNaN(lastValid) ? "" : FormattableString.Invariant($"  valid {lastValid:F3}")) +
                        FormattableString.Invariant($"  {rate:F0} steps/s"));
                    sum = 0; count = 0; intervalSeconds = 0;
                }
                FaultInjection.AfterStep(ui, done);
                if (ui.Stop.Requested is not null)
                {
                    if (plan.OutDir is not null && saved != done) { SaveCheckpoint(ui, plan, trainer); saved = done; }
                    throw ScgApp.Stopped(ui, $"after step {done} of {plan.Label}", Saved(plan, done));
                }
            }
            return 0;
        });
        return new RunResult
        {
            Plan = plan, Trainer = trainer, Rows = rows, Gradients = gradients,
            FinalTrainBound = double.IsNaN(lastBound) ? rows.LastOrDefault()?.TrainBound ?? double.NaN : lastBound,
            StepsPerSecond = totalSeconds > 0 ? totalSteps / totalSeconds : double.NaN,
        };
    }

    /// <summary>
    /// Trains the rest of the run; a trainer already at its end (a finished run resumed) is only evaluated, its
    /// metrics file prepared as for training.
    /// </summary>
    public static RunResult Continue(Ui ui, RunPlan plan, Trainer<SigmoidBeliefNet> trainer)
    {
        if (trainer.StepCount < plan.Steps) return Train(ui, plan, trainer);
        ui.Note($"the checkpoint is at step {trainer.StepCount}, not before --steps {plan.Steps}: evaluating only.");
        if (plan.OutDir is not null) OpenMetrics(ui, plan, trainer.StepCount).Dispose();
        return new RunResult { Plan = plan, Trainer = trainer, Rows = [], FinalTrainBound = double.NaN, StepsPerSecond = double.NaN };
    }

    /// <summary>
    /// L_10 on (up to) the first 2,000 validation rows, on the discrete graph, after <paramref name="step"/> steps;
    /// non-finite parameters or a bound that cannot be computed throw <see cref="TrainingFailedException"/>.
    /// </summary>
    static double ValidBound(RunPlan plan, Trainer<SigmoidBeliefNet> trainer, long step, long saved)
    {
        if (NonFiniteParameter(trainer) is string parameter) throw Diverged(plan, $"at training step {step}", parameter, saved);
        var valid = plan.Data.Valid;
        int rows = Math.Min(valid.Rows, ValidRows);
        try
        {
            return Evaluation.Bound(trainer.Model, valid.Values[..(rows * valid.Features)], ValidSamples, Seeds.For(plan.Seed, Seeds.Valid, step), step, plan.EvalRows);
        }
        catch (Exception e) when (e is ArithmeticException or ArgumentException)
        {
            throw Diverged(plan, $"in validation after step {step}", Reason(e), saved, e);
        }
    }

    /// <summary>"parameter 'p.0.weight' is NaN (element 3 of [8, 4])." for the first trained parameter that is not finite, else null.</summary>
    static string? NonFiniteParameter(Trainer<SigmoidBeliefNet> trainer)
    {
        foreach (var p in trainer.Optimizer.Parameters.Items)
        {
            var values = p.Span;
            if (float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<float>(values))) continue;
            int i = 0;
            while (float.IsFinite(values[i])) i++;
            return $"parameter '{p.Name}' is {values[i].ToString(CultureInfo.InvariantCulture)} (element {i} of {p.Shape}).";
        }
        return null;
    }

    /// <summary>"concrete m=1: the run diverged at training step 2: the bound is NaN. The last good checkpoint (step 0) is kept in '…'."</summary>
    static TrainingFailedException Diverged(RunPlan plan, string where, string reason, long saved, Exception? inner = null) =>
        new($"{plan.Label}: the run diverged {where}: {reason}" +
            (plan.OutDir is null ? "" : $" The last good checkpoint (step {saved}) is kept in '{plan.CheckpointPath}'."), inner);

    /// <summary>An exception's message without the "(Parameter 'x')" suffix of argument exceptions.</summary>
    static string Reason(Exception e) =>
        e is ArgumentException { ParamName: string name } ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;


    /// <summary>
    /// L_k over every row of <paramref name="data"/>, in chunks of rows so the progress bar moves, holding at most
    /// <paramref name="maxRows"/> rows × samples in memory at once. A caught SIGINT or SIGTERM stops it between chunks
    /// (<see cref="RunInterruptedException"/>; <paramref name="saved"/> says what is kept).
    /// </summary>
    public static double Bound(Ui ui, string title, IStochasticModel model, BinaryDataset data, int k, Rng rng, long step, int maxRows, int rowLimit = 0,
        string saved = "nothing was saved.")
    {
        int n = rowLimit > 0 ? Math.Min(rowLimit, data.Rows) : data.Rows, features = data.Features;
        int chunk = Math.Clamp(262_144 / k, 1, n);
        return ui.Progress(title, n, progress =>
        {
            double total = 0;
            for (int start = 0; start < n; start += chunk)
            {
                int rows = Math.Min(chunk, n - start);
                if (ui.Stop.Requested is not null) throw ScgApp.Stopped(ui, $"during {title}", saved);
                double bound = Evaluation.Bound(model, data.Values.Slice(start * features, rows * features), k, rng, step, maxRows);
                total += bound * rows;
                progress.Report(start + rows, FormattableString.Invariant($"L_{k} so far {total / (start + rows):F3}"));
            }
            return total / n;
        });
    }

    /// <summary>The final test bound (and the model's exact NLL when its latent states can be enumerated).</summary>
    public static void Evaluate(Ui ui, RunResult result)
    {
        var plan = result.Plan;
        var model = result.Trainer.Model;
        result.TestSamples = plan.EvalSamples;
        result.TestBound = Bound(ui, $"{plan.Label}: test L_{plan.EvalSamples}", model, plan.Data.Test, plan.EvalSamples, Seeds.For(plan.Seed, Seeds.Test),
            result.Trainer.StepCount, plan.EvalRows, saved: "training had finished: " + Saved(plan, result.Trainer.StepCount));
        if (plan.Family.Gradient == NodeGradient.Pathwise && plan.Family is not StraightThroughNodes<float>)
            result.RelaxedTestBound = Evaluation.RelaxedBound(model, plan.Data.Test.Values, Seeds.For(plan.Seed, Seeds.RelaxedTest), result.Trainer.StepCount, plan.EvalRows);
        if (IsEnumerable(model))
            result.ExactModelNll = -Evaluation.ExactLogLikelihood(model, plan.Data.Test.Values, plan.Data.Test.Features);
    }

    public static bool IsEnumerable(SigmoidBeliefNet model) =>
        !model.Spec.IsConditional && model.Family.Layout.IsBinary && model.Family.Discrete is ScoreFunctionNodes<float>
        && model.Spec.Layers.Where(l => !l.Visible).Sum(l => l.Units) <= Evaluation.MaxEnumerableUnits;

    /// <summary>
    /// Mean per-element variance of the estimator's gradient over <paramref name="draws"/> draws on a fixed batch (the
    /// first training rows; under dynamic binarization one seeded draw of their bits).
    /// </summary>
    public static double GradientVariance(RunPlan plan, Trainer<SigmoidBeliefNet> trainer, int draws) => GradientStatisticsAt(plan, trainer, draws).AverageVariance;

    /// <summary>
    /// Gradient statistics at the trainer's parameters (the draws of <see cref="GradientVariance"/>), added to
    /// <paramref name="gradients"/> and written to the run folder's gradients.csv.
    /// </summary>
    static void RecordGradients(RunPlan plan, Trainer<SigmoidBeliefNet> trainer, long step, List<GradientRow> gradients)
    {
        var stats = GradientStatisticsAt(plan, trainer, plan.GradientDraws);
        // SNR over the elements whose gradient varies: a constant element's ratio is 0/0 or infinite.
        var varying = stats.Mean.Zip(stats.Variance).Where(e => e.Second > 0).Select(e => Math.Abs(e.First) / Math.Sqrt(e.Second)).ToList();
        // vanishing through the drawn values means something only where the gradient flows through them
        double vanishing = plan.Family.Gradient == NodeGradient.Pathwise ? VanishingAt(plan, trainer, plan.GradientDraws) : double.NaN;
        gradients.Add(new GradientRow(step, stats.AverageVariance, varying.Count > 0 ? varying.Average() : double.NaN, vanishing));
        if (plan.OutDir is null) return;
        var text = new System.Text.StringBuilder("step,gradient_variance,gradient_snr,vanishing_fraction\n");
        foreach (var g in gradients)
            text.Append(FormattableString.Invariant($"{g.Step},{g.Variance:R},{g.SignalToNoise:R},{g.VanishingFraction:R}\n"));
        AtomicFile.WriteAllText(Path.Combine(plan.OutDir, GradientsFile), text.ToString());
    }

    /// <summary>The rows of an earlier session's gradients.csv up to step <paramref name="upTo"/> (a resumed run keeps them); none without the file.</summary>
    static List<GradientRow> ReadGradients(string path, long upTo)
    {
        if (!File.Exists(path)) return [];
        var rows = new List<GradientRow>();
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length != 4 || !long.TryParse(f[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long step))
                throw new UsageException($"'{path}' has a malformed row '{line}': expected step,gradient_variance,gradient_snr,vanishing_fraction. Delete the file to record the statistics afresh.");
            double V(int i) => double.Parse(f[i], System.Globalization.CultureInfo.InvariantCulture);
            if (step <= upTo) rows.Add(new GradientRow(step, V(1), V(2), V(3)));
        }
        return rows;
    }

    /// <summary>The fixed batch of the gradient statistics: the first training rows (under dynamic binarization one seeded draw of their bits).</summary>
    static Tensor<float> GradientBatch(RunPlan plan)
    {
        int rows = plan.Settings.BatchSize, features = plan.Features;
        var values = new float[rows * features];
        plan.Data.Train.CopyBatch(Enumerable.Range(0, rows).ToArray(), values, Seeds.For(plan.Seed, Seeds.GradientBatch));
        return Tensor<float>.FromArray(values, rows, features);
    }

    static GradientStatistics GradientStatisticsAt(RunPlan plan, Trainer<SigmoidBeliefNet> trainer, int draws)
    {
        var batch = GradientBatch(plan);
        var saved = trainer.Rng;
        try
        {
            return GradientStatistics.Collect(d =>
            {
                trainer.Reseed(Seeds.For(plan.Seed, Seeds.Gradient, d));
                return trainer.GradientDraw(batch);
            }, draws);
        }
        finally { trainer.Reseed(saved); }
    }

    /// <summary>The mean share of exactly-zero gradient elements with respect to the nodes' parameters, over the same draws as the statistics.</summary>
    static double VanishingAt(RunPlan plan, Trainer<SigmoidBeliefNet> trainer, int draws)
    {
        var batch = GradientBatch(plan);
        var saved = trainer.Rng;
        try
        {
            double sum = 0;
            for (int d = 0; d < draws; d++)
            {
                trainer.Reseed(Seeds.For(plan.Seed, Seeds.Gradient, d));
                sum += trainer.VanishingFraction(batch);
            }
            return sum / draws;
        }
        finally { trainer.Reseed(saved); }
    }

    /// <summary>The exact mean NLL of the sbn-toy test split under the generating network, else null.</summary>
    public static double? TrueNll(RunPlan plan) => plan.Spec.IsConditional ? null : TrueNll(plan.DataName);

    public static double? TrueNll(string dataName) => dataName == ToySbn.Name ? ToySbnTruth.TestNll() : null;

    // ---- pictures ----------------------------------------------------------------------------

    /// <summary>What a run's training column holds: the relaxed bound (concrete, igr) or the discrete L_m (score-function estimators, st).</summary>
    public static string TrainBound(RunPlan plan) => TrainBound(plan.Choice, plan.Settings.Samples);

    public static string TrainBound(EstimatorChoice choice, int samples) => choice.Name is "concrete" or "igr" ? "relaxed bound" : $"discrete L_{samples}";

    public static CurveGroup Curves(RunPlan plan, IReadOnlyList<MetricsRow> rows) => new(new(plan.Label, rows), TrainBound(plan));

    /// <summary>Training and validation bounds per step (curves.png and .svg), one style per configuration.</summary>
    public static void WriteCurves(string dir, string title, IReadOnlyList<CurveGroup> groups, double? reference = null, string? referenceLabel = null) =>
        Plots.WriteCurves(Path.Combine(dir, CurvesFigure), title, groups, ValidSamples, reference, referenceLabel);

    /// <summary>Gradient variance, SNR and vanishing share per step of the runs that recorded them (diagnostics.png and .svg).</summary>
    public static void WriteDiagnostics(string dir, string title, IReadOnlyList<RunResult> results)
    {
        var recorded = results.Where(r => r.Gradients.Count > 0).ToList();
        if (recorded.Count == 0) return;
        Plots.WriteDiagnostics(Path.Combine(dir, DiagnosticsFigure), title,
            recorded.Select(r => new RunGroup<GradientRow>(r.Plan.Label, r.Gradients)).ToList(), recorded[0].Plan.GradientDraws);
    }

    /// <summary>
    /// For image data, the labelled rows of images.png: test images ("data"), the model's mean images of them
    /// ("reconstruction"; for a conditional model "prediction": the given input half with the predicted output half,
    /// see <see cref="Reconstruction.Means"/>), and for a density model two rows of ancestral samples. Null for data
    /// without image dimensions (sbn-toy's rows of bits are no pictures).
    /// </summary>
    public static List<ImageRow>? ImageRows(Trainer<SigmoidBeliefNet> trainer, BinaryDataset test, ulong seed)
    {
        var model = trainer.Model;
        if (test.ImageHeight is null) return null;
        int n = Math.Min(ImagesPerRow, test.Rows), size = n * test.Features;
        var originals = test.Values[..size].ToArray();
        var means = Reconstruction.Means(model, originals, Seeds.For(seed, Seeds.Reconstructions), trainer.StepCount);
        var rows = new List<ImageRow> { new("data", originals), new(model.Spec.IsConditional ? "prediction" : "reconstruction", means) };
        if (!model.Spec.IsConditional)
        {
            var samples = model.Generate(2 * ImagesPerRow, Seeds.For(seed, Seeds.Samples), trainer.StepCount).ToArray();
            rows.Add(new("sample", samples[..(ImagesPerRow * test.Features)]));
            rows.Add(new("sample", samples[(ImagesPerRow * test.Features)..]));
        }
        return rows;
    }

    /// <summary>The <see cref="ImageRows"/> as images.png and .svg; false, writing nothing, for data that are not images.</summary>
    public static bool WriteImages(string dir, string title, Trainer<SigmoidBeliefNet> trainer, BinaryDataset test, ulong seed)
    {
        if (ImageRows(trainer, test, seed) is not { } rows) return false;
        Plots.WriteImages(Path.Combine(dir, ImagesFigure), title, rows, test.ImageHeight!.Value, test.ImageWidth!.Value);
        return true;
    }

    /// <summary>"30H~784V (10-way one-hot nodes, uniform prior) on mnist (dynamic binarization)": the model and data of a run.</summary>
    public static string Describe(RunPlan plan)
    {
        var o = plan.Options;
        var layout = plan.Family.Layout;
        var notes = new List<string>();
        if (layout.Encoding == NodeEncoding.OneHot) notes.Add($"{layout.Arity}-way one-hot nodes");
        else if (layout.Arity != 2) notes.Add($"{layout.Arity}-ary nodes");
        if (o.UniformPrior)
            notes.Add(plan.Nodes.IgrPrior is { } g ? string.Create(CultureInfo.InvariantCulture, $"uniform prior, IGR's Gaussian given as μ0 = {g.Location:G5}, σ0 = {g.Scale:G5}") : "uniform prior");
        if (o.Activation != Scg.Autodiff.Layers.Activation.Tanh && plan.Spec.Connections.Contains(Connection.Nonlinear)) notes.Add($"{o.Activation.ToString().ToLowerInvariant()} hidden layers");
        if (o.AnalyticKl) notes.Add("closed-form KL");
        return $"{plan.Spec}{(notes.Count > 0 ? $" ({string.Join(", ", notes)})" : "")} on {plan.Header.DataDescription}";
    }

    public static string Num(double v, string format = "F2") =>
        double.IsNaN(v) ? "—" : v.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>The sbn-toy test split's exact NLL, computed once per process.</summary>
static class ToySbnTruth
{
    static readonly Lazy<double> Value = new(() => ToySbn.TrueNll(ToySbn.Load().Test));
    public static double TestNll() => Value.Value;
}
