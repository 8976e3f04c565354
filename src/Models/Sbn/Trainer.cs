using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>Training settings.</summary>
public sealed record TrainSettings
{
    /// <summary>m, the samples per data point of the bound (1 by default).</summary>
    public int Samples { get; init; } = 1;
    /// <summary>Data points per batch (64 by default).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Adam's step size (3e-4 by default).</summary>
    public double LearningRate { get; init; } = 3e-4;
    /// <summary>The L2 weight decay λ (0 by default).</summary>
    public double WeightDecay { get; init; }
    /// <summary>k of an inverse-time decay of the step size, lr / (1 + k·t) after t steps (0 by default: constant).</summary>
    public double LearningRateDecay { get; init; }
    /// <summary>The floor of the decayed step size (0 by default).</summary>
    public double MinimumLearningRate { get; init; }

    /// <summary>The step size of the step taken after <paramref name="steps"/> steps: max(floor, lr / (1 + k·steps)).</summary>
    public double LearningRateAt(long steps) => Math.Max(MinimumLearningRate, LearningRate / (1 + LearningRateDecay * steps));
}

/// <summary>
/// One model, one estimator, one optimizer: <see cref="Step"/> draws m samples per data point, builds the
/// estimator's surrogate, backpropagates and updates. Steps run inside a <see cref="StepArena{T}"/> that reuses its tensors step to step (a step's tensors are valid during it only). Any
/// <see cref="IStochasticModel"/> trains this way; the estimator must fit the model's node families.
/// </summary>
public sealed class Trainer<TModel> where TModel : IStochasticModel
{
    readonly StepArena<float> _arena = new() { ReusesHeaders = true };
    readonly Tensor<float> _batch;
    StochasticGraph<float>? _stepGraph;   // reset every step, so its nodes are reused

    /// <summary>The model being trained.</summary>
    public TModel Model { get; }
    /// <summary>The gradient estimator.</summary>
    public IEstimator<float> Estimator { get; }
    /// <summary>The settings the trainer was built with.</summary>
    public TrainSettings Settings { get; }
    /// <summary>Adam over the model's parameters, and its baseline's when the estimator uses one.</summary>
    public Adam<float> Optimizer { get; }
    /// <summary>The generator every step draws its samples from (see <see cref="Reseed"/>).</summary>
    public Rng Rng { get; private set; }
    /// <summary>Training steps taken.</summary>
    public long StepCount { get; private set; }

    /// <summary>A trainer of <paramref name="model"/> by <paramref name="estimator"/>, which must fit the model's node families.</summary>
    public Trainer(TModel model, IEstimator<float> estimator, TrainSettings settings, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(settings);
        Trainer.CheckPair(model.Families, estimator);
        if (estimator.NeedsInputBaseline && !model.BaselineParameters().Any())
            throw new ArgumentException($"estimator '{estimator.Name}' needs a model with an input-dependent baseline (for an SBN, BaselineUnits > 0).", nameof(estimator));
        if (settings.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(settings), $"batch size must be ≥ 1, got {settings.BatchSize}.");
        if (!(settings.LearningRateDecay >= 0 && double.IsFinite(settings.LearningRateDecay)))
            throw new ArgumentOutOfRangeException(nameof(settings), $"learning-rate decay must be a number ≥ 0, got {settings.LearningRateDecay}.");
        if (!(settings.MinimumLearningRate >= 0 && settings.MinimumLearningRate <= settings.LearningRate))
            throw new ArgumentOutOfRangeException(nameof(settings), $"the learning rate's floor must be in [0, {settings.LearningRate}] (the learning rate), got {settings.MinimumLearningRate}.");
        Model = model; Estimator = estimator; Settings = settings; Rng = rng ?? throw new ArgumentNullException(nameof(rng));
        var parameters = new ParameterCollection<float>(model.Parameters());
        if (estimator.NeedsInputBaseline) parameters.AddRange(model.BaselineParameters());
        Optimizer = new Adam<float>(parameters, settings.LearningRate, weightDecay: settings.WeightDecay);
        _batch = Tensor<float>.Zeros(settings.BatchSize, model.RowFeatures);
    }

    /// <summary>A graph for this trainer's current step (the families read their temperatures at it).</summary>
    public StochasticGraph<float> Graph() => new(Rng, StepCount);

    /// <summary>One update on a batch (rows × features, row-major); returns the training objective (the bound being optimized).</summary>
    public double Step(ReadOnlySpan<float> batch)
    {
        if (batch.Length != _batch.Size)
            throw new ArgumentException($"Trainer.Step: batch has {batch.Length} values, expected {_batch.Shape[0]} rows × {_batch.Shape[1]} features.", nameof(batch));
        batch.CopyTo(_batch.Span);
        using (_arena.Begin())
        {
            Optimizer.ZeroGrad();
            Optimizer.LearningRate = Settings.LearningRateAt(StepCount);
            if (_stepGraph is null) _stepGraph = Graph();
            else _stepGraph.Reset(Rng, StepCount);
            var surrogate = BuildSurrogate(_batch, graph: _stepGraph);
            double objective = surrogate.Objective.Item();
            if (!double.IsFinite(objective))
                throw new NonFiniteException($"training step {StepCount + 1} ({Estimator.Name}): the bound is {objective}.");
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
    /// One draw of the estimator's gradient of the model's parameters (<see cref="IStochasticModel.Parameters"/>, in order,
    /// flattened) on <paramref name="batch"/> [rows, features]: surrogate, backward, copy; no update, and neither the
    /// centering means nor the estimator's running statistics move. For <see cref="Scg.Stochastic.Diagnostics.GradientStatistics"/>.
    /// </summary>
    public double[] GradientDraw(Tensor<float> batch)
    {
        var stateful = Estimator as IStatefulEstimator<float>;
        var state = stateful?.SaveState();
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
        if (state is not null) stateful!.RestoreState(state);
        return gradient;
    }

    /// <summary>
    /// The share of the elements of the loss's gradient with respect to the latent nodes' parameters (the encoder's
    /// outputs: logits, or IGR's μ and log σ) that are exactly zero, in one draw on <paramref name="batch"/>: the
    /// vanishing gradients of the IGR paper's Figure 4. No update; the model and the estimator's statistics do not move.
    /// Score-function nodes pass on discrete values, through which no gradient flows: for them the share is 1.
    /// </summary>
    public double VanishingFraction(Tensor<float> batch)
    {
        var stateful = Estimator as IStatefulEstimator<float>;
        var state = stateful?.SaveState();
        long zeros = 0, total = 0;
        using (_arena.Begin())
        {
            Optimizer.ZeroGrad();
            var graph = new StochasticGraph<float>(Rng, StepCount) { ProbesParameters = true };
            BuildSurrogate(batch, updateCentering: false, graph).Loss.Backward();
            foreach (var probe in graph.Probes)
            {
                total += probe.Size;
                if (probe.Grad is null) { zeros += probe.Size; continue; }
                foreach (float g in probe.Grad.Span) if (g == 0) zeros++;
            }
            Optimizer.ZeroGrad();
        }
        if (state is not null) stateful!.RestoreState(state);
        return total == 0 ? 0 : (double)zeros / total;
    }

    /// <summary>The estimator's surrogate for one batch (no backward), on <paramref name="graph"/> or a new training graph: exposed for gradient statistics.</summary>
    public Surrogate<float> BuildSurrogate(Tensor<float> batch, bool updateCentering = true, StochasticGraph<float>? graph = null)
    {
        int m = Settings.Samples, rows = batch.Shape[0];
        graph ??= Graph();
        var logWeights = Model.LogWeights(graph, batch, m, training: updateCentering);
        var score = graph.Score?.Reshape(m, rows);
        var baseline = Estimator.NeedsInputBaseline ? Model.Baseline(batch) : null;
        return Estimator.Build(logWeights, score, baseline);
    }
}

/// <summary>Builds trainers (the model's type is inferred) and checks that an estimator fits a model's node families.</summary>
public static class Trainer
{
    /// <summary>A trainer of <paramref name="model"/> with <paramref name="estimator"/>.</summary>
    public static Trainer<TModel> Create<TModel>(TModel model, IEstimator<float> estimator, TrainSettings settings, Rng rng) where TModel : IStochasticModel =>
        new(model, estimator, settings, rng);

    /// <summary>
    /// The one check that an estimator fits a model's node families: a score-function estimator needs score-function
    /// nodes to weight, a pathwise estimator gives score-function nodes no gradient, and no family may lack a gradient.
    /// </summary>
    public static void CheckPair(IReadOnlyList<NodeFamily<float>> families, IEstimator<float> estimator)
    {
        if (families.Count == 0) throw new ArgumentException("the model has no stochastic node families.", nameof(families));
        if (families.FirstOrDefault(f => f.Gradient == NodeGradient.None) is { } none)
            throw new ArgumentException($"{none} nodes carry no gradient; they are for evaluation only, and '{estimator.Name}' cannot train them.", nameof(families));
        bool scored = families.Any(f => f.Gradient == NodeGradient.ScoreFunction);
        if (estimator.UsesScoreFunction && !scored)
            throw new ArgumentException($"estimator '{estimator.Name}' is a score-function estimator, but the model's nodes ({string.Join(", ", families)}) are all pathwise.", nameof(estimator));
        if (!estimator.UsesScoreFunction && scored)
            throw new ArgumentException($"estimator '{estimator.Name}' is pathwise, and gives the model's discrete {string.Join(", ", families.Where(f => f.Gradient == NodeGradient.ScoreFunction))} nodes no gradient.", nameof(estimator));
    }
}
