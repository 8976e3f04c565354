using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>Training settings.</summary>
public sealed record TrainSettings
{
    public int Samples { get; init; } = 1;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 3e-4;
    public double WeightDecay { get; init; }
    public TemperatureSchedule PosteriorTemperature { get; init; } = TemperatureSchedule.Constant(2.0 / 3);
    public TemperatureSchedule PriorTemperature { get; init; } = TemperatureSchedule.Constant(0.5);
    public double IgrDelta { get; init; } = Scg.Stochastic.Distributions.Igr.PaperDelta;

    /// <summary>The softmax++ a model trained with these settings is evaluated with on the discrete graph at <paramref name="step"/>.</summary>
    public IgrSettings IgrAt(long step) => new(PosteriorTemperature.At(step), IgrDelta);
}

/// <summary>
/// IGR's temperature and δ: on the discrete graph a node with Gaussian parameters takes the category softmax++ picks,
/// so a model trained with IGR is evaluated and sampled with the settings it was trained with.
/// </summary>
public readonly record struct IgrSettings(double Temperature, double Delta);

/// <summary>
/// One model, one estimator, one optimizer: <see cref="Step"/> draws m samples per data point, builds the
/// estimator's surrogate, backpropagates and updates. Steps run inside a <see cref="StepArena{T}"/>.
/// </summary>
public sealed class Trainer
{
    readonly StepArena<float> _arena = new();
    readonly Tensor<float> _batch;

    public SigmoidBeliefNet Model { get; }
    public EstimatorChoice Choice { get; }
    public IEstimator<float> Estimator { get; }
    public TrainSettings Settings { get; }
    public Adam<float> Optimizer { get; }
    public Rng Rng { get; private set; }
    public long StepCount { get; private set; }

    public Trainer(SigmoidBeliefNet model, EstimatorChoice choice, TrainSettings settings, Rng rng)
    {
        if (choice.GaussianParameters != model.Options.GaussianParameters)
            throw new ArgumentException($"estimator '{choice.Name}' needs a model built with GaussianParameters = {choice.GaussianParameters}.", nameof(choice));
        if (choice.NeedsBaseline && model.Baseline is null)
            throw new ArgumentException($"estimator '{choice.Name}' needs a model with a baseline network (BaselineUnits > 0).", nameof(choice));
        if (settings.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(settings), $"batch size must be ≥ 1, got {settings.BatchSize}.");
        Model = model; Choice = choice; Settings = settings; Rng = rng;
        Estimator = choice.Create(settings.Samples);
        var parameters = new ParameterCollection<float>(model.Parameters());
        if (choice.NeedsBaseline) parameters.AddRange(model.BaselineParameters());
        Optimizer = new Adam<float>(parameters, settings.LearningRate, weightDecay: settings.WeightDecay);
        _batch = Tensor<float>.Zeros(settings.BatchSize, model.Spec.IsConditional ? model.Spec.Layers[0].Units + model.OutputFeatures : model.InputFeatures);
    }

    /// <summary>A graph for this trainer's relaxation at the current step's temperatures.</summary>
    public StochasticGraph<float> Graph(Relaxation relaxation) => new(Rng, relaxation,
        Settings.PosteriorTemperature.At(StepCount), Settings.PriorTemperature.At(StepCount), Settings.IgrDelta, Model.Options.GaussianParameters);

    /// <summary>One update on a batch (rows × features, row-major); returns the training objective (the bound being optimized).</summary>
    public double Step(ReadOnlySpan<float> batch)
    {
        if (batch.Length != _batch.Size)
            throw new ArgumentException($"Trainer.Step: batch has {batch.Length} values, expected {_batch.Shape[0]} rows × {_batch.Shape[1]} features.", nameof(batch));
        batch.CopyTo(_batch.Span);
        using (_arena.Begin())
        {
            Optimizer.ZeroGrad();
            var surrogate = BuildSurrogate(_batch);
            double objective = surrogate.Objective.Item();
            if (!double.IsFinite(objective))
                throw new NonFiniteException($"training step {StepCount + 1} ({Choice.Name}): the bound is {objective}.");
            surrogate.TotalLoss.Backward();
            Optimizer.Step();
            StepCount++;
            return objective;
        }
    }

    /// <summary>
    /// Replaces the generator the following steps draw from. A run re-seeds before every step from (seed, step), so a
    /// run resumed from a checkpoint draws exactly what the uninterrupted run would have.
    /// </summary>
    public void Reseed(Rng rng) => Rng = rng ?? throw new ArgumentNullException(nameof(rng));

    /// <summary>Sets the step count when a checkpoint is restored.</summary>
    internal void RestoreStepCount(long steps) =>
        StepCount = steps >= 0 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), $"step count must be ≥ 0, got {steps}.");

    /// <summary>
    /// One draw of the estimator's gradient of the model's parameters (<see cref="SigmoidBeliefNet.Parameters"/>, in order,
    /// flattened) on <paramref name="batch"/> [rows, features]: surrogate, backward, copy; no update, and neither the
    /// centering means nor the estimator's running statistics move. For <see cref="Scg.Stochastic.Diagnostics.GradientStatistics"/>.
    /// </summary>
    public double[] GradientDraw(Tensor<float> batch)
    {
        var reinforce = Estimator as ReinforceEstimator<float>;
        (double mean, double variance) = reinforce is null ? (0, 1) : (reinforce.RunningMean, reinforce.RunningVariance);
        var parameters = Model.Parameters().ToList();
        var gradient = new double[parameters.Sum(p => p.Size)];
        using (_arena.Begin())
        {
            Optimizer.ZeroGrad();
            BuildSurrogate(batch, updateCentering: false).Loss.Backward();
            int offset = 0;
            foreach (var p in parameters)
            {
                if (p.Grad is not null)
                {
                    var g = p.Grad.Span;
                    for (int i = 0; i < g.Length; i++) gradient[offset + i] = g[i];
                }
                offset += p.Size;
            }
            Optimizer.ZeroGrad();
        }
        if (reinforce is not null && StepCount > 0) reinforce.Restore(mean, variance);
        return gradient;
    }

    /// <summary>The estimator's surrogate for one batch (no backward): exposed for gradient statistics.</summary>
    public Surrogate<float> BuildSurrogate(Tensor<float> batch, bool updateCentering = true)
    {
        int m = Settings.Samples, rows = batch.Shape[0];
        var graph = Graph(Choice.Relaxation);
        var logWeights = Model.LogWeights(graph, batch, updateCentering, m).Reshape(m, rows);
        var score = graph.Score?.Reshape(m, rows);
        var baseline = Model.Baseline is not null && Choice.NeedsBaseline ? Model.Baseline.Forward(batch).Reshape(rows) : null;
        return Estimator.Build(logWeights, score, baseline);
    }
}
