using System.Numerics;
using Scg.Autodiff;
using Scg.Stochastic.Distributions;

namespace Scg.Stochastic.Graph;

/// <summary>What the rest of the graph sees of an n-ary node.</summary>
public enum NodeEncoding
{
    /// <summary>The corners of {-1, 1}^log2(n) (Concrete paper appendix D.2); n a power of two; binary nodes take one logit.</summary>
    Corners,
    /// <summary>The one-hot vector (relaxed: the point of the simplex) of any n ≥ 2, as in a discrete VAE.</summary>
    OneHot,
}

/// <summary>How the discrete nodes of a graph are sampled and differentiated.</summary>
public enum Relaxation
{
    /// <summary>Discrete samples; gradients come from the score function (and evaluation uses this).</summary>
    None,
    /// <summary>Concrete relaxation: logit-space Binary Concrete and ExpConcrete nodes with relaxed densities (Eq. 25, 27).</summary>
    Concrete,
    /// <summary>Hard values forward, the Concrete relaxation's gradient backward; discrete log-masses in the bound.</summary>
    StraightThrough,
    /// <summary>Invertible Gaussian reparameterization (softmax++); node parameters are Gaussian means and log-scales.</summary>
    Igr,
}

/// <summary>
/// One forward pass through a stochastic computation graph with discrete nodes. A node is sampled from the
/// parameters its parents computed; the graph's <see cref="Relaxation"/> decides whether it is discrete or relaxed,
/// so switching estimators is one argument. Discrete nodes add their log-mass to <see cref="Score"/>.
/// Binary nodes take values in {-1, 1} (relaxed: (-1, 1)); an n-ary node (n = 4, 8, …) takes the corners of
/// {-1, 1}^log2(n) (Concrete paper appendix D.2).
/// </summary>
public sealed class StochasticGraph<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly Rng _rng;
    Tensor<T>? _score;

    public Relaxation Relaxation { get; }
    /// <summary>λ1: the temperature nodes are sampled at (posterior, or the sampling distribution).</summary>
    public double PosteriorTemperature { get; }
    /// <summary>λ2: the temperature of prior densities in the relaxed bound.</summary>
    public double PriorTemperature { get; }
    /// <summary>IGR's δ in softmax++.</summary>
    public double IgrDelta { get; }

    /// <summary>True when node parameters are IGR's [μ | log σ]; a discrete graph then uses the exact argmax mass of softmax++.</summary>
    public bool GaussianParameters { get; }

    public StochasticGraph(Rng rng, Relaxation relaxation, double posteriorTemperature = 2.0 / 3, double priorTemperature = 0.5,
        double igrDelta = Igr.PaperDelta, bool gaussianParameters = false)
    {
        if (relaxation == Relaxation.Igr && !gaussianParameters)
            throw new ArgumentException("StochasticGraph: the IGR relaxation needs Gaussian node parameters (gaussianParameters: true).", nameof(gaussianParameters));
        if (gaussianParameters && relaxation is Relaxation.Concrete or Relaxation.StraightThrough)
            throw new ArgumentException($"StochasticGraph: Gaussian (IGR) node parameters work with the IGR relaxation or a discrete graph, not {relaxation}.", nameof(gaussianParameters));
        GaussianParameters = gaussianParameters;
        _rng = rng ?? throw new ArgumentNullException(nameof(rng));
        Relaxation = relaxation;
        PosteriorTemperature = Check.Temperature(posteriorTemperature, "StochasticGraph", nameof(posteriorTemperature));
        PriorTemperature = Check.Temperature(priorTemperature, "StochasticGraph", nameof(priorTemperature));
        if (!(igrDelta > 0)) throw new ArgumentOutOfRangeException(nameof(igrDelta), $"StochasticGraph: IGR δ must be > 0, got {igrDelta}.");
        IgrDelta = igrDelta;
    }

    /// <summary>Σ log q over the discretely sampled nodes, per row; null when none was.</summary>
    public Tensor<T>? Score => _score;

    /// <summary>
    /// Number of node parameters for <paramref name="nodes"/> n-ary nodes (Corners: a layer of that many units, log2(n) units per node),
    /// in 64 bits so that a layer too wide to build can still be sized.
    /// </summary>
    public static long ParameterWidth(int nodes, int arity, bool gaussian, NodeEncoding encoding = NodeEncoding.Corners)
    {
        long groups = nodes;
        if (encoding == NodeEncoding.Corners)
        {
            int bits = Corners.Bits(arity);
            if (nodes % bits != 0) throw new ArgumentException($"a layer of {nodes} units cannot be split into {arity}-ary nodes of {bits} units each.", nameof(nodes));
            groups = nodes / bits;
        }
        else if (arity < 2) throw new ArgumentOutOfRangeException(nameof(arity), $"a categorical node needs n ≥ 2 categories, got {arity}.");
        return gaussian ? 2 * groups * (arity - 1) : arity == 2 && encoding == NodeEncoding.Corners ? nodes : groups * arity;
    }

    /// <summary>Samples a layer of n-ary nodes from node parameters [rows, ParameterWidth].</summary>
    public LatentSample<T> Sample(Tensor<T> parameters, int arity, NodeEncoding encoding = NodeEncoding.Corners)
    {
        var node = Relaxation switch
        {
            Relaxation.None when GaussianParameters => LatentSample<T>.DiscreteFromGaussian(parameters, arity, encoding, PosteriorTemperature, IgrDelta, _rng),
            Relaxation.None => LatentSample<T>.Discrete(parameters, arity, encoding, _rng),
            Relaxation.Concrete => LatentSample<T>.Relaxed(parameters, arity, encoding, PosteriorTemperature, PriorTemperature, _rng, straightThrough: false),
            Relaxation.StraightThrough => LatentSample<T>.Relaxed(parameters, arity, encoding, PosteriorTemperature, PriorTemperature, _rng, straightThrough: true),
            _ => LatentSample<T>.Igr(parameters, arity, encoding, PosteriorTemperature, IgrDelta, _rng),
        };
        if (node.IsDiscrete) _score = _score is null ? node.LogProb : _score + node.LogProb;
        return node;
    }
}
