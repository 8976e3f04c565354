using System.Diagnostics;
using System.Globalization;
using Scg.Autodiff;
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
    public const ulong Init = 1, Step = 2, Shuffle = 3, Valid = 4, Test = 5, Gradient = 6, Samples = 7, Binarize = 8, Reconstructions = 9, GradientBatch = 10;

    public static Rng For(ulong seed, ulong purpose, long index = 0) => new(Mix(Mix(seed, purpose), (ulong)index));

    static ulong Mix(ulong a, ulong b)
    {
        ulong z = a + 0x9E3779B97F4A7C15UL * (b + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}

/// <summary>
/// Minibatches as a function of the step: epoch e = step / batches-per-epoch is a fresh permutation drawn from
/// (seed, e); the rows left over by the last partial batch sit that epoch out.
/// </summary>
sealed class BatchSchedule
{
    readonly BinaryDataset _data;
    readonly int _batchSize;
    readonly ulong _seed;
    readonly int[] _order;
    long _epoch = -1;

    public BatchSchedule(BinaryDataset data, int batchSize, ulong seed)
    {
        if (batchSize > data.Rows) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} exceeds the {data.Rows} training rows.");
        _data = data; _batchSize = batchSize; _seed = seed;
        _order = new int[data.Rows];
    }

    int PerEpoch => _data.Rows / _batchSize;

    public void Fill(long step, Span<float> dest)
    {
        long epoch = step / PerEpoch;
        if (epoch != _epoch)
        {
            for (int i = 0; i < _order.Length; i++) _order[i] = i;
            var rng = Seeds.For(_seed, Seeds.Shuffle, epoch);
            for (int i = _order.Length - 1; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
            _epoch = epoch;
        }
        int b = (int)(step % PerEpoch);
        _data.CopyBatch(_order.AsSpan(b * _batchSize, _batchSize), dest,
            _data.Binarization == Binarization.Dynamic ? Seeds.For(_seed, Seeds.Binarize, step) : null);
    }
}

/// <summary>Everything one training run needs, validated.</summary>
sealed record RunPlan
{
    public required string DataName { get; init; }
    public required DataSplits Data { get; init; }
    public required LayerSpec Spec { get; init; }
    public required SbnOptions Options { get; init; }
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
    /// <summary>Rows (data rows × samples) an evaluation holds in memory at once (<see cref="Evaluation.Bound"/>'s maxRows).</summary>
    public int EvalRows { get; init; } = Evaluation.DefaultMaxRows;

    public int Features => Data.Train.Features;
    /// <summary>How the training split is binarized (valid and test always hold the fixed bits).</summary>
    public Binarization Binarization => Data.Train.Binarization;
    public string CheckpointPath => Path.Combine(OutDir!, Experiment.CheckpointFile);
    public CheckpointHeader Header => CheckpointHeader.Of(Spec, Options, Choice.Name, Settings, DataName, Seed, binarization: Binarization);
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
    public required Trainer Trainer { get; init; }
    public required List<MetricsRow> Rows { get; init; }
    /// <summary>Mean training bound over the last logging interval.</summary>
    public double FinalTrainBound { get; init; }
    /// <summary>Training steps per second of this session (steps only, no evaluation).</summary>
    public double StepsPerSecond { get; init; }
    public double TestBound { get; set; } = double.NaN;
    public int TestSamples { get; set; }
    public double? ExactModelNll { get; set; }
    public double? GradientVariance { get; set; }
}

static class Experiment
{
    public const string CheckpointFile = "checkpoint.scg";
    public const string MetricsFile = "metrics.csv";
    public const string ReconstructionsFile = "reconstructions.png";
    const int ValidRows = 2000, ValidSamples = 10, ReconstructedImages = 10;

    public static SigmoidBeliefNet NewModel(RunPlan plan)
    {
        var baseRate = plan.Data.BaseRate.AsSpan(plan.Spec.IsConditional ? plan.Spec.Layers[0].Units : 0);
        return new SigmoidBeliefNet(plan.Spec, plan.Options, Seeds.For(plan.Seed, Seeds.Init), baseRate);
    }

    public static Trainer NewTrainer(RunPlan plan) => new(NewModel(plan), plan.Choice, plan.Settings, Seeds.For(plan.Seed, Seeds.Step));

    /// <summary>
    /// Trains until <see cref="RunPlan.Steps"/> steps are done (from the trainer's current step), logging metrics,
    /// validating and checkpointing every <see cref="RunPlan.EvalEvery"/> steps and at the end. A diverged step or
    /// validation (e.g. a non-finite bound or parameter) throws <see cref="TrainingFailedException"/>, with the last good
    /// checkpoint left in place.
    /// </summary>
    public static RunResult Train(Ui ui, RunPlan plan, Trainer trainer, List<MetricsRow>? earlier = null)
    {
        long start = trainer.StepCount;
        var rows = earlier ?? [];
        using var csv = plan.OutDir is null ? null : MetricsCsv.Open(Path.Combine(plan.OutDir, MetricsFile), start > 0 ? start : null);
        if (plan.OutDir is not null && start == 0) Checkpoint.Save(plan.CheckpointPath, trainer, plan.DataName, plan.Seed, plan.Binarization);
        long saved = start;
        var schedule = new BatchSchedule(plan.Data.Train, plan.Settings.BatchSize, plan.Seed);
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
                if (done % logEvery != 0 && !eval) continue;
                double valid = eval ? ValidBound(plan, trainer, done, saved) : double.NaN;
                if (eval) lastValid = valid;
                double rate = count / Math.Max(intervalSeconds, 1e-9);
                totalSteps += count; totalSeconds += intervalSeconds;
                lastBound = sum / count;
                var row = new MetricsRow(done, lastBound, valid, plan.Settings.PosteriorTemperature.At(step), plan.Settings.PriorTemperature.At(step), rate);
                rows.Add(row);
                csv?.Append(row);
                if (eval && plan.OutDir is not null) { Checkpoint.Save(plan.CheckpointPath, trainer, plan.DataName, plan.Seed, plan.Binarization); saved = done; }
                progress.Report(done, FormattableString.Invariant($"bound {lastBound:F3}") +
                    (double.IsNaN(lastValid) ? "" : FormattableString.Invariant($"  valid {lastValid:F3}")) +
                    FormattableString.Invariant($"  {rate:F0} steps/s"));
                sum = 0; count = 0; intervalSeconds = 0;
            }
            return 0;
        });
        return new RunResult
        {
            Plan = plan, Trainer = trainer, Rows = rows,
            FinalTrainBound = double.IsNaN(lastBound) ? rows.LastOrDefault()?.TrainBound ?? double.NaN : lastBound,
            StepsPerSecond = totalSeconds > 0 ? totalSteps / totalSeconds : double.NaN,
        };
    }

    /// <summary>
    /// L_10 on (up to) the first 2,000 validation rows, on the discrete graph, after <paramref name="step"/> steps;
    /// non-finite parameters or a bound that cannot be computed throw <see cref="TrainingFailedException"/>.
    /// </summary>
    static double ValidBound(RunPlan plan, Trainer trainer, long step, long saved)
    {
        if (NonFiniteParameter(trainer) is string parameter) throw Diverged(plan, $"at training step {step}", parameter, saved);
        var valid = plan.Data.Valid;
        int rows = Math.Min(valid.Rows, ValidRows);
        try
        {
            return Evaluation.Bound(trainer.Model, valid.Values[..(rows * valid.Features)], valid.Features, ValidSamples, Seeds.For(plan.Seed, Seeds.Valid, step), plan.EvalRows);
        }
        catch (Exception e) when (e is ArithmeticException or ArgumentException)
        {
            throw Diverged(plan, $"in validation after step {step}", Reason(e), saved, e);
        }
    }

    /// <summary>"parameter 'p.0.weight' is NaN (element 3 of [8, 4])." for the first trained parameter that is not finite, else null.</summary>
    static string? NonFiniteParameter(Trainer trainer)
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
    /// <paramref name="maxRows"/> rows × samples in memory at once.
    /// </summary>
    public static double Bound(Ui ui, string title, SigmoidBeliefNet model, BinaryDataset data, int k, Rng rng, int maxRows, int rowLimit = 0)
    {
        int n = rowLimit > 0 ? Math.Min(rowLimit, data.Rows) : data.Rows, features = data.Features;
        int chunk = Math.Clamp(262_144 / k, 1, n);
        return ui.Progress(title, n, progress =>
        {
            double total = 0;
            for (int start = 0; start < n; start += chunk)
            {
                int rows = Math.Min(chunk, n - start);
                double bound = Evaluation.Bound(model, data.Values.Slice(start * features, rows * features), features, k, rng, maxRows);
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
        result.TestBound = Bound(ui, $"{plan.Label}: test L_{plan.EvalSamples}", model, plan.Data.Test, plan.EvalSamples, Seeds.For(plan.Seed, Seeds.Test), plan.EvalRows);
        if (IsEnumerable(model))
            result.ExactModelNll = -Evaluation.ExactLogLikelihood(model, plan.Data.Test.Values, plan.Data.Test.Features);
    }

    public static bool IsEnumerable(SigmoidBeliefNet model) =>
        !model.Spec.IsConditional && model.Options.Arity == 2 && model.Options.Encoding == NodeEncoding.Corners && !model.Options.GaussianParameters
        && model.Spec.Layers.Where(l => !l.Visible).Sum(l => l.Units) <= 14;

    /// <summary>
    /// Mean per-element variance of the estimator's gradient over <paramref name="draws"/> draws on a fixed batch (the
    /// first training rows; under dynamic binarization one seeded draw of their bits).
    /// </summary>
    public static double GradientVariance(RunPlan plan, Trainer trainer, int draws)
    {
        int rows = plan.Settings.BatchSize, features = plan.Features;
        var values = new float[rows * features];
        plan.Data.Train.CopyBatch(Enumerable.Range(0, rows).ToArray(), values, Seeds.For(plan.Seed, Seeds.GradientBatch));
        var batch = Tensor<float>.FromArray(values, rows, features);
        var saved = trainer.Rng;
        try
        {
            var stats = GradientStatistics.Collect(d =>
            {
                trainer.Reseed(Seeds.For(plan.Seed, Seeds.Gradient, d));
                return trainer.GradientDraw(batch);
            }, draws);
            return stats.AverageVariance;
        }
        finally { trainer.Reseed(saved); }
    }

    /// <summary>The exact mean NLL of the sbn-toy test split under the generating network, else null.</summary>
    public static double? TrueNll(RunPlan plan) => plan.Spec.IsConditional ? null : TrueNll(plan.DataName);

    public static double? TrueNll(string dataName) => dataName == ToySbn.Name ? ToySbnTruth.TestNll() : null;

    // ---- pictures ----------------------------------------------------------------------------

    /// <summary>Training (solid) and validation (dashed) bound per step, one color per run.</summary>
    public static void WriteCurves(string path, string title, IReadOnlyList<(string Label, IReadOnlyList<MetricsRow> Rows)> runs, double? reference = null, string? referenceLabel = null)
    {
        var chart = new SvgChart { Title = title, XLabel = "step", YLabel = "bound (nats, higher is better)" };
        for (int i = 0; i < runs.Count; i++)
        {
            var (label, rows) = runs[i];
            chart.Series.Add(new ChartSeries($"{label} train", rows.Select(r => ((double)r.Step, r.TrainBound)).ToList(), ColorIndex: i));
            var valid = rows.Where(r => !double.IsNaN(r.ValidBound)).Select(r => ((double)r.Step, r.ValidBound)).ToList();
            if (valid.Count > 0) chart.Series.Add(new ChartSeries($"{label} valid L_10", valid, Dashed: true, ColorIndex: i));
        }
        if (reference is double r0 && runs.SelectMany(r => r.Rows).Any())
        {
            double x0 = runs.SelectMany(r => r.Rows).Min(r => r.Step), x1 = runs.SelectMany(r => r.Rows).Max(r => r.Step);
            chart.Series.Add(new ChartSeries(referenceLabel ?? "reference", [(x0, r0), (x1, r0)], Dashed: true, ColorIndex: 7));
        }
        chart.Write(path);
    }

    /// <summary>64 images of a data split, as a PNG grid.</summary>
    public static void WriteDataGrid(string path, BinaryDataset data)
    {
        int n = Math.Min(64, data.Rows);
        WriteGrid(path, data.Values[..(n * data.Features)], data.Features, data);
    }

    /// <summary>
    /// 64 ancestral samples of a density model; for a conditional model, 64 test contexts with the predicted
    /// probabilities of the output half filled in.
    /// </summary>
    public static void WriteSampleGrid(string path, SigmoidBeliefNet model, BinaryDataset test, ulong seed)
    {
        var rng = Seeds.For(seed, Seeds.Samples);
        if (!model.Spec.IsConditional)
        {
            WriteGrid(path, model.Generate(64, rng).ToArray(), model.OutputFeatures, test);
            return;
        }
        int n = Math.Min(64, test.Rows);
        WriteGrid(path, Reconstruction.Means(model, test.Values[..(n * test.Features)], rng), test.Features, test);
    }

    /// <summary>
    /// For image data, the first 10 test images (top row) above the model's mean images of them (bottom row): a density
    /// model's reconstructions, or a conditional model's given input half with its predicted output half
    /// (<see cref="Reconstruction.Means"/>). Returns false, writing nothing, for data without image dimensions.
    /// </summary>
    public static bool WriteReconstructionGrid(string path, SigmoidBeliefNet model, BinaryDataset test, ulong seed)
    {
        if (test.ImageHeight is null) return false;
        int n = Math.Min(ReconstructedImages, test.Rows), size = n * test.Features;
        var originals = test.Values[..size];
        var grid = new float[2 * size];
        originals.CopyTo(grid);
        Reconstruction.Means(model, originals, Seeds.For(seed, Seeds.Reconstructions)).CopyTo(grid, size);
        WriteGrid(path, grid, test.Features, test, columns: n);
        return true;
    }

    static void WriteGrid(string path, ReadOnlySpan<float> values, int features, BinaryDataset like, int columns = 8)
    {
        var (h, w) = like.Features == features ? ImageGrid.TileShape(features, like.ImageHeight, like.ImageWidth) : ImageGrid.TileShape(features);
        int scale = Math.Max(1, 48 / Math.Max(h, w));
        ImageGrid.WritePng(path, values, features, columns, h, w, scale);
    }

    /// <summary>"30H~784V (10-way one-hot nodes, uniform prior) on mnist (dynamic binarization)": the model and data of a run.</summary>
    public static string Describe(RunPlan plan)
    {
        var o = plan.Options;
        var notes = new List<string>();
        if (o.Encoding == NodeEncoding.OneHot) notes.Add($"{o.Arity}-way one-hot nodes");
        else if (o.Arity != 2) notes.Add($"{o.Arity}-ary nodes");
        if (o.UniformPrior) notes.Add("uniform prior");
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
