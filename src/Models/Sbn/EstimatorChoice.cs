using Scg.Stochastic.Distributions;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>How a run's latent nodes are laid out and relaxed: what the node families are built from.</summary>
public sealed record NodeSettings
{
    /// <summary>Arity of latent nodes: 2 (binary), 4 or 8 (corners of {-1,1}^log2 n); any n ≥ 2 with one-hot encoding.</summary>
    public int Arity { get; init; } = 2;
    /// <summary>What a latent node passes on: hypercube corners (SBN) or one-hot vectors (discrete VAE).</summary>
    public NodeEncoding Encoding { get; init; } = NodeEncoding.Corners;
    /// <summary>λ1 (τ for IGR): the temperature nodes are sampled at.</summary>
    public TemperatureSchedule PosteriorTemperature { get; init; } = TemperatureSchedule.Constant(2.0 / 3);
    /// <summary>λ2: the temperature of prior densities in the Concrete relaxed bound.</summary>
    public TemperatureSchedule PriorTemperature { get; init; } = TemperatureSchedule.Constant(0.5);
    /// <summary>IGR's δ in softmax++.</summary>
    public double IgrDelta { get; init; } = Igr.PaperDelta;
    /// <summary>Whether IGR nodes learn their Gaussians' scales or hold them at 1.</summary>
    public IgrScale IgrScale { get; init; } = IgrScale.Learned;
    /// <summary>What relaxed categorical nodes (concrete, igr) pass downstream: the simplex point or its logarithm.</summary>
    public RelaxedOutput RelaxedOutput { get; init; } = RelaxedOutput.Simplex;
    /// <summary>The Gaussian of IGR's uniform prior in every coordinate; null (the default) fits it by Eq. 20 at the posterior's first τ.</summary>
    public IgrPriorGaussian? IgrPrior { get; init; }

    /// <summary>The layout of <see cref="Arity"/> and <see cref="Encoding"/>.</summary>
    public NodeLayout Layout => new(Arity, Encoding);
}

/// <summary>
/// The estimators a model can be trained with, by their command-line names. Each one is the one place that pairs a node
/// family with an estimator: <see cref="Family"/> builds the family, <see cref="Create"/> the estimator, so an invalid
/// pair (a score-function estimator over IGR's Gaussian parameters, a pathwise one over discrete nodes) cannot be built.
/// </summary>
/// <param name="Name">the command-line name, e.g. "vimco"</param>
/// <param name="NeedsBaseline">true when the model needs an input-dependent baseline network (NVIL)</param>
public sealed record EstimatorChoice(string Name, bool NeedsBaseline)
{
    /// <summary>Every estimator, in the order the scg program lists them.</summary>
    public static readonly IReadOnlyList<EstimatorChoice> All =
    [
        new("concrete", false),
        new("reinforce", false),
        new("nvil", true),
        new("vimco", false),
        new("igr", false),
        new("st", false),
    ];

    /// <summary>The estimator of that name (one of <see cref="All"/>); throws <see cref="ArgumentException"/> for another.</summary>
    public static EstimatorChoice Parse(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new ArgumentException($"unknown estimator '{name}'; expected one of: {string.Join(", ", All.Select(e => e.Name))}.", nameof(name));

    /// <summary>The node family this estimator differentiates.</summary>
    public NodeFamily<float> Family(NodeSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var layout = s.Layout;
        return Name switch
        {
            "concrete" => new ConcreteNodes<float>(layout, s.PosteriorTemperature, s.PriorTemperature) { Output = s.RelaxedOutput },
            "st" => new StraightThroughNodes<float>(layout, s.PosteriorTemperature),
            "igr" => new IgrNodes<float>(layout, s.PosteriorTemperature, s.IgrDelta) { PriorFitTemperature = s.PosteriorTemperature.At(0), UniformPriorGaussian = s.IgrPrior, Output = s.RelaxedOutput, Scale = s.IgrScale },
            _ when s.RelaxedOutput != RelaxedOutput.Simplex =>
                throw new ArgumentException($"estimator '{Name}': only relaxed nodes (concrete, igr) can pass their log-simplex value on.", nameof(s)),
            _ => new ScoreFunctionNodes<float>(layout),
        };
    }

    /// <summary>Samples per data point this estimator needs at least (VIMCO's leave-one-out needs two).</summary>
    public int MinimumSamples => Name == "vimco" ? VimcoEstimator<float>.MinimumSamples : 1;

    /// <summary>A fresh estimator (it may keep running statistics) for m samples per data point.</summary>
    public IEstimator<float> Create(int samples)
    {
        if (samples < MinimumSamples)
            throw new ArgumentOutOfRangeException(nameof(samples), Name == "vimco"
                ? $"vimco needs m ≥ {MinimumSamples} samples per data point (use nvil for m = 1); got m = {samples}."
                : $"m (samples per data point) must be ≥ 1, got {samples}.");
        return Name switch
        {
            "reinforce" => new ReinforceEstimator<float>(BaselineKind.MovingAverage),
            "nvil" => new ReinforceEstimator<float>(BaselineKind.Nvil),
            "vimco" => new VimcoEstimator<float>(),
            _ => new PathwiseEstimator<float>(Name),
        };
    }
}
