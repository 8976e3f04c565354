using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Estimators;

/// <summary>
/// Turns the log-weights log w_i = log p(x, z_i) - log q(z_i | x) of m samples into a <see cref="Surrogate{T}"/>.
/// Pathwise gradients flow through the log-weights themselves; score-function estimators add a term in
/// <c>score</c>, the summed log-probabilities [m, batch] of the nodes sampled without reparameterization.
/// </summary>
public interface IEstimator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    /// <summary>The estimator's name in messages and checkpoints, e.g. "vimco".</summary>
    string Name { get; }

    /// <summary>True when the stochastic nodes are sampled discretely and scored (score function), false when reparameterized.</summary>
    bool UsesScoreFunction { get; }

    /// <summary>True when <see cref="Build"/> needs an input-dependent baseline prediction b(x) (NVIL).</summary>
    bool NeedsInputBaseline => false;

    /// <summary>
    /// The surrogate of one forward pass. Both [m, batch] tensors are sample-major: row i holds sample i of every data
    /// point, so sample i of data point b is element i · batch + b (the layout of <see cref="SampleMajor.Repeat{T}"/>).
    /// </summary>
    /// <param name="logWeights">[m, batch] log p(x, z_i) − log q(z_i | x)</param>
    /// <param name="score">[m, batch] Σ log q of score-function nodes, or null when there are none</param>
    /// <param name="baseline">[batch] an input-dependent baseline prediction (NVIL), or null</param>
    Surrogate<T> Build(Tensor<T> logWeights, Tensor<T>? score, Tensor<T>? baseline = null);
}

/// <summary>
/// An estimator that keeps running statistics between steps (moving averages of the signal). Checkpoints and
/// gradient-variance draws save and restore them through this interface.
/// </summary>
public interface IStatefulEstimator<T> : IEstimator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The running statistics as numbers; <see cref="RestoreState"/> of them continues exactly.</summary>
    IReadOnlyList<double> SaveState();

    /// <summary>Restores statistics from <see cref="SaveState"/>; throws on a state of the wrong length or range.</summary>
    void RestoreState(IReadOnlyList<double> state);
}

/// <summary>Reparameterization: the bound's own gradient (relaxed or straight-through nodes).</summary>
public sealed class PathwiseEstimator<T>(string name = "pathwise") : IEstimator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public string Name => name;
    /// <inheritdoc/>
    public bool UsesScoreFunction => false;

    /// <inheritdoc/>
    public Surrogate<T> Build(Tensor<T> logWeights, Tensor<T>? score, Tensor<T>? baseline = null)
    {
        if (score is not null)
            throw new ArgumentException(
                $"{Name}: the graph drew score-function nodes, and a pathwise estimator gives them no gradient; use a score-function estimator (reinforce, nvil, vimco) or relaxed nodes.",
                nameof(score));
        var objective = MultiSampleBound.PerDataPoint(logWeights).Mean();
        return Surrogate<T>.Reusing(ref _last, objective, -objective, null);
    }

    Surrogate<T>? _last;
}

/// <summary>What a <see cref="ReinforceEstimator{T}"/> subtracts from its learning signal.</summary>
public enum BaselineKind
{
    /// <summary>Plain REINFORCE: the learning signal is the bound itself.</summary>
    None,
    /// <summary>An exponential moving average of the bound subtracted from the signal.</summary>
    MovingAverage,
    /// <summary>NVIL (Mnih &amp; Gregor 2014): moving average plus a learned input-dependent baseline, and variance normalization.</summary>
    Nvil,
}

/// <summary>
/// Score function (REINFORCE, Williams 1992) with an optional baseline. Per data point the surrogate is
/// L̂ + ℓ·Σ_i log q(z_i|x) - StopGradient(ℓ·Σ_i log q(z_i|x)) with ℓ = StopGradient((L̂ - c - b(x)) / s):
/// its value is L̂ and its gradient the estimator. For NVIL, c and s² are running mean and variance of the
/// centred signal (decay <see cref="Decay"/>) and b(x) is trained by squared error on L̂ - c.
/// </summary>
public sealed class ReinforceEstimator<T> : IStatefulEstimator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The baseline subtracted from the learning signal.</summary>
    public BaselineKind Baseline { get; }
    /// <summary>The decay in [0, 1) of the running mean and variance.</summary>
    public double Decay { get; }
    /// <inheritdoc/>
    public string Name => Baseline switch { BaselineKind.None => "reinforce", BaselineKind.MovingAverage => "reinforce-ema", _ => "nvil" };
    /// <inheritdoc/>
    public bool UsesScoreFunction => true;
    /// <inheritdoc/>
    public bool NeedsInputBaseline => Baseline == BaselineKind.Nvil;

    /// <summary>Running mean c of the bound (0 without a baseline).</summary>
    public double RunningMean { get; private set; }
    /// <summary>Running variance s² of the centred signal, NVIL's normalization (1 before the first batch and for the other baselines).</summary>
    public double RunningVariance { get; private set; } = 1;
    bool _started;

    /// <summary>REINFORCE with <paramref name="baseline"/>; <paramref name="decay"/> in [0, 1) weighs the past in the running statistics.</summary>
    public ReinforceEstimator(BaselineKind baseline, double decay = 0.8)
    {
        if (!(decay >= 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), $"ReinforceEstimator: decay must be in [0, 1), got {decay}.");
        Baseline = baseline;
        Decay = decay;
    }

    /// <inheritdoc/>
    public Surrogate<T> Build(Tensor<T> logWeights, Tensor<T>? score, Tensor<T>? baseline = null)
    {
        var bound = MultiSampleBound.PerDataPoint(logWeights);
        var objective = bound.Mean();
        RequireScore(score, logWeights, Name);
        if (Baseline == BaselineKind.Nvil && baseline is null)
            throw new ArgumentNullException(nameof(baseline), "nvil: needs the input-dependent baseline prediction b(x) of shape [batch].");
        if (baseline is not null && (baseline.Shape.Rank != 1 || baseline.Shape[0] != bound.Shape[0]))
            throw new ShapeMismatchException($"{Name}: baseline {baseline.Shape} must have shape [{bound.Shape[0]}].");

        // The running statistics used in this batch's signal come from earlier batches only: a baseline or scale that
        // depends on the current samples biases the estimator. The first batch has no history, so c = 0 there.
        double c = Baseline == BaselineKind.None || !_started ? 0 : RunningMean;

        var signal = bound.Detach() - c;
        Tensor<T>? baselineLoss = null;
        if (Baseline == BaselineKind.Nvil)
        {
            baselineLoss = (signal - baseline!).Square().Mean();
            signal = signal - baseline!.Detach();
            double mean = Average(signal.ReadOnlySpan), variance = MeanSquaredDeviation(signal.ReadOnlySpan, mean);
            signal = signal / Math.Max(1, Math.Sqrt(RunningVariance));
            RunningVariance = Decay * RunningVariance + (1 - Decay) * variance;
        }
        if (Baseline != BaselineKind.None)
            RunningMean = _started ? Decay * RunningMean + (1 - Decay) * Average(bound.ReadOnlySpan) : Average(bound.ReadOnlySpan);
        _started = true;

        var scoreTerm = signal * score.Sum(0);
        var surrogate = bound + scoreTerm - scoreTerm.StopGradient();
        return Surrogate<T>.Reusing(ref _last, objective, -surrogate.Mean(), baselineLoss);
    }

    Surrogate<T>? _last;

    /// <summary>The mean in double, summed in order (0 for no values).</summary>
    static double Average(ReadOnlySpan<T> v)
    {
        double sum = 0;
        foreach (var x in v) sum += double.CreateTruncating(x);
        return v.Length == 0 ? 0 : sum / v.Length;
    }

    /// <summary>The mean of (v − mean)² in double, summed in order.</summary>
    static double MeanSquaredDeviation(ReadOnlySpan<T> v, double mean)
    {
        double sum = 0;
        foreach (var x in v)
        {
            double d = double.CreateTruncating(x) - mean;
            sum += d * d;
        }
        return v.Length == 0 ? 0 : sum / v.Length;
    }

    /// <summary>A score-function estimator needs the score of the nodes it differentiates, shaped like the log-weights.</summary>
    internal static void RequireScore([System.Diagnostics.CodeAnalysis.NotNull] Tensor<T>? score, Tensor<T> logWeights, string name)
    {
        if (score is null)
            throw new ArgumentNullException(nameof(score),
                $"{name}: the graph drew no score-function nodes, so there is no score to weight; sample the nodes with ScoreFunctionNodes, or use the pathwise estimator for relaxed nodes.");
        if (score.Shape != logWeights.Shape)
            throw new ShapeMismatchException($"{name}: score {score.Shape} must have the log-weights' shape {logWeights.Shape}.");
    }

    /// <inheritdoc/>
    public IReadOnlyList<double> SaveState() => [RunningMean, RunningVariance, _started ? 1 : 0];

    /// <inheritdoc/>
    public void RestoreState(IReadOnlyList<double> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Count != 3 || !state.All(double.IsFinite) || state[1] < 0 || state[2] is not (0 or 1))
            throw new ArgumentException($"{Name}: state must be [running mean, running variance ≥ 0, started 0|1], got [{string.Join(", ", state)}].", nameof(state));
        RunningMean = state[0]; RunningVariance = state[1]; _started = state[2] == 1;
    }
}

/// <summary>
/// VIMCO (Mnih &amp; Rezende 2016) for m ≥ 2 samples: sample j's learning signal is L̂ - L̂_{-j}, where L̂_{-j}
/// replaces log w_j by the mean of the other m-1 log-weights (the geometric-mean variant). The bound's own
/// gradient supplies the pathwise terms through the normalized importance weights.
/// </summary>
public sealed class VimcoEstimator<T> : IEstimator<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The leave-one-out baseline needs at least two samples per data point.</summary>
    public const int MinimumSamples = 2;

    /// <inheritdoc/>
    public string Name => "vimco";
    /// <inheritdoc/>
    public bool UsesScoreFunction => true;

    /// <inheritdoc/>
    public Surrogate<T> Build(Tensor<T> logWeights, Tensor<T>? score, Tensor<T>? baseline = null)
    {
        MultiSampleBound.RequireSamplesByBatch(logWeights, Name);
        int m = logWeights.Shape[0];
        if (m < MinimumSamples) throw new ArgumentOutOfRangeException(nameof(logWeights), $"vimco: needs m ≥ {MinimumSamples} samples per data point, got m = {m}.");
        var bound = MultiSampleBound.PerDataPoint(logWeights);
        var objective = bound.Mean();
        ReinforceEstimator<T>.RequireScore(score, logWeights, Name);

        var signal = LearningSignals(logWeights.ReadOnlySpan, bound.ReadOnlySpan, m, logWeights.Shape[1]);
        var scoreTerm = (signal * score).Sum(0);
        var surrogate = bound + scoreTerm - scoreTerm.StopGradient();
        return Surrogate<T>.Reusing(ref _last, objective, -surrogate.Mean(), null);
    }

    Surrogate<T>? _last;

    /// <summary>ℓ_j = L̂ - L̂_{-j} for every sample j and data point b, a constant [m, batch].</summary>
    /// <param name="logW">the log-weights [m, batch], sample-major: sample j of data point b at j · batch + b</param>
    /// <param name="bound">L̂ per data point [batch] (<see cref="MultiSampleBound.PerDataPoint{T}"/> of the log-weights)</param>
    /// <param name="m">samples per data point, ≥ 2</param>
    /// <param name="batch">data points</param>
    public static Tensor<T> LearningSignals(ReadOnlySpan<T> logW, ReadOnlySpan<T> bound, int m, int batch)
    {
        var signal = Tensor<T>.Uninitialized(new Shape(m, batch));   // every element is written below
        var s = signal.Span;
        double logM = Math.Log(m);
        Span<double> values = m <= 512 ? stackalloc double[m] : new double[m];
        for (int b = 0; b < batch; b++)
        {
            double sum = 0, max = double.NegativeInfinity;
            for (int i = 0; i < m; i++) { values[i] = double.CreateTruncating(logW[i * batch + b]); sum += values[i]; max = Math.Max(max, values[i]); }
            for (int j = 0; j < m; j++)
            {
                double replaced = (sum - values[j]) / (m - 1);        // geometric mean of the other weights, in log space
                double shift = Math.Max(max, replaced), total = 0;
                for (int i = 0; i < m; i++) total += Math.Exp((i == j ? replaced : values[i]) - shift);
                double leaveOneOut = shift + Math.Log(total) - logM;
                s[j * batch + b] = T.CreateTruncating(double.CreateTruncating(bound[b]) - leaveOneOut);
            }
        }
        return signal;
    }
}
