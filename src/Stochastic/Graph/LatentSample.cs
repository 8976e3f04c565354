using System.Numerics;
using Scg.Autodiff;
using Scg.Stochastic.Distributions;

namespace Scg.Stochastic.Graph;

/// <summary>
/// A sampled layer of discrete (or relaxed) nodes: the value the rest of the graph sees, the log-probability of the
/// node under the distribution it was drawn from, and the log-probability of the same node under a prior.
/// The stochastic node is the discrete state, the logit-space Binary Concrete Y, the ExpConcrete Y or IGR's
/// Gaussian y, so relaxed log-densities stay finite at low temperature (appendix C.3).
/// </summary>
public sealed class LatentSample<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    enum Form { Discrete, Relaxed, StraightThrough, Igr }

    readonly Form _form;
    readonly int _arity;
    readonly bool _bits;               // a binary node on the corners {-1, 1}: one logit per unit
    readonly Tensor<T> _node;          // the discrete state (bits or one-hot), Y, or IGR's y
    readonly double _priorTemperature;
    internal (double Temperature, double Delta)? GaussianParameters;   // set when discrete nodes get IGR parameters

    /// <summary>Downstream value: hypercube corners [rows, units] in [-1, 1], or one-hot/simplex rows [rows, groups·n].</summary>
    public Tensor<T> Value { get; }

    /// <summary>Log-probability of the node under its sampling distribution, summed over the layer [rows].</summary>
    public Tensor<T> LogProb { get; }

    /// <summary>True when the node was drawn discretely (it then needs a score-function gradient).</summary>
    public bool IsDiscrete => _form == Form.Discrete;

    LatentSample(Form form, int arity, bool bits, Tensor<T> node, Tensor<T> value, Tensor<T> logProb, double priorTemperature)
    {
        _form = form; _arity = arity; _bits = bits; _node = node; Value = value; LogProb = logProb; _priorTemperature = priorTemperature;
    }

    /// <summary>Log-probability of the same node under prior parameters (shaped like the sampling parameters, or one row of them).</summary>
    public Tensor<T> LogPrior(Tensor<T> priorParameters)
    {
        var p = RowsOf(priorParameters);
        if (GaussianParameters is var (t, d)) p = LogitsOfGaussian(p, _arity, _bits, t, d);
        return _form switch
        {
            Form.Discrete or Form.StraightThrough => DiscreteLogMass(p, _arity, _bits, _node),
            Form.Relaxed when _bits => new LogitBinaryConcrete<T>(p, _priorTemperature).LogProbSum(_node, _priorTemperature),
            Form.Relaxed => new ExpConcrete<T>(Groups(p, _arity), _priorTemperature).LogProb(_node).Sum(-1),
            _ => Gaussian(p).LogProb(_node),
        };
    }

    Tensor<T> RowsOf(Tensor<T> p)
    {
        int rows = Value.Shape[0];
        if (p.Shape.Rank == 1) p = p.Reshape(1, p.Shape[0]);
        return p.Shape[0] == rows ? p : p.Expand(new Shape(rows, p.Shape[1]));
    }

    internal static LatentSample<T> Discrete(Tensor<T> parameters, int arity, NodeEncoding encoding, Rng rng)
    {
        if (IsBits(arity, encoding))
        {
            var bits = new Bernoulli<T>(parameters).Sample(rng);
            return new(Form.Discrete, arity, true, bits, Corners.FromBits(bits), DiscreteLogMass(parameters, arity, true, bits), 1);
        }
        var oneHot = new Categorical<T>(Groups(parameters, arity)).Sample(rng);
        return new(Form.Discrete, arity, false, oneHot, Encode(oneHot, encoding), DiscreteLogMass(parameters, arity, false, oneHot), 1);
    }

    internal static LatentSample<T> DiscreteFromGaussian(Tensor<T> parameters, int arity, NodeEncoding encoding, double temperature, double delta, Rng rng)
    {
        var node = Discrete(LogitsOfGaussian(parameters, arity, IsBits(arity, encoding), temperature, delta), arity, encoding, rng);
        node.GaussianParameters = (temperature, delta);
        return node;
    }

    internal static LatentSample<T> Relaxed(Tensor<T> parameters, int arity, NodeEncoding encoding, double temperature, double priorTemperature, Rng rng, bool straightThrough)
    {
        if (IsBits(arity, encoding))
        {
            var q = new LogitBinaryConcrete<T>(parameters, temperature);
            var y = q.RSample(rng);
            if (!straightThrough)
                return new(Form.Relaxed, arity, true, y, Corners.FromBits(y.Sigmoid()), q.LogProbSum(y, temperature), priorTemperature);
            var hard = q.StraightThrough(y);
            var bits = hard.Detach();
            return new(Form.StraightThrough, arity, true, bits, Corners.FromBits(hard), DiscreteLogMass(parameters, arity, true, bits), priorTemperature);
        }
        var qn = new ExpConcrete<T>(Groups(parameters, arity), temperature);
        var yn = qn.RSample(rng);
        if (!straightThrough)
            return new(Form.Relaxed, arity, false, yn, Encode(yn.Exp(), encoding), qn.LogProb(yn).Sum(-1), priorTemperature);
        var hardN = qn.StraightThrough(yn);
        var oneHot = hardN.Detach();
        return new(Form.StraightThrough, arity, false, oneHot, Encode(hardN, encoding), DiscreteLogMass(parameters, arity, false, oneHot), priorTemperature);
    }

    /// <summary>
    /// IGR node: y = μ + σ ε with parameters [μ | log σ] per group of arity-1 coordinates; the value is
    /// softmax++(y/τ) with δ (IGR Eq. 21) mapped to corners. log p - log q of y equals that of the relaxed value
    /// because both go through the same invertible map, so the node's log-density is the Gaussian's.
    /// </summary>
    internal static LatentSample<T> Igr(Tensor<T> parameters, int arity, NodeEncoding encoding, double temperature, double delta, Rng rng)
    {
        var q = Gaussian(parameters);
        var y = q.RSample(rng);
        bool bits = IsBits(arity, encoding);
        var logits = SoftmaxPlusPlusLogits(y, arity, bits, temperature, delta);
        var value = bits ? Corners.FromBits(logits.Sigmoid()) : Encode(logits.Softmax(), encoding);
        return new(Form.Igr, arity, bits, y, value, q.LogProb(y), 1);
    }

    /// <summary>
    /// The logits whose softmax is softmax++(y/τ): [y/τ, log δ] per group (binary: y/τ - log δ, a sigmoid's logit).
    /// </summary>
    public static Tensor<T> SoftmaxPlusPlusLogits(Tensor<T> y, int arity, bool bits, double temperature, double delta)
    {
        if (bits) return y / temperature - Math.Log(delta);
        int rows = y.Shape[0], groups = y.Shape[1] / (arity - 1);
        var scaled = (y / temperature).Reshape(rows, groups, arity - 1);
        var last = Tensor<T>.Full(new Shape(rows, groups, 1), T.CreateChecked(Math.Log(delta)));
        return Ops.Concat(2, scaled, last);
    }

    /// <summary>
    /// IGR parameters [rows, 2w] → logits [rows, ParameterWidth] of the discrete graph: the exact mass of the argmax
    /// of softmax++(y/τ) (<see cref="Igr{T}.ToDiscrete"/>); for a binary node the logit of the first state winning.
    /// </summary>
    public static Tensor<T> LogitsOfGaussian(Tensor<T> parameters, int arity, bool bits, double temperature, double delta)
    {
        var (mean, logScale) = SplitGaussian(parameters);
        int rows = parameters.Shape[0];
        var igr = new Igr<T>(mean.Reshape(rows, -1, arity - 1), logScale.Exp().Reshape(rows, -1, arity - 1), temperature, IgrMap.SoftmaxPlusPlus, delta);
        var logMass = igr.ToDiscrete().Logits;
        return bits ? (logMass.Narrow(2, 0, 1) - logMass.Narrow(2, 1, 1)).Reshape(rows, -1) : logMass.Reshape(rows, -1);
    }

    /// <summary>Splits IGR node parameters [rows, 2w] into means and log-scales [rows, w].</summary>
    public static (Tensor<T> Mean, Tensor<T> LogScale) SplitGaussian(Tensor<T> parameters)
    {
        int w = parameters.Shape[1] / 2;
        return (parameters.Narrow(1, 0, w), parameters.Narrow(1, w, w));
    }

    /// <summary>The diagonal Gaussian N(μ, σ²) of IGR node parameters [μ | log σ].</summary>
    static Normal<T> Gaussian(Tensor<T> parameters)
    {
        var (mean, logScale) = SplitGaussian(parameters);
        return new Normal<T>(mean, logScale.Exp());
    }

    static Tensor<T> DiscreteLogMass(Tensor<T> parameters, int arity, bool bits, Tensor<T> state) => bits
        ? new Bernoulli<T>(parameters).LogProb(state).Sum(-1)
        : new Categorical<T>(Groups(parameters, arity)).LogProb(state).Sum(-1);

    static bool IsBits(int arity, NodeEncoding encoding) => arity == 2 && encoding == NodeEncoding.Corners;

    /// <summary>One-hot or simplex rows [rows, groups, n] → the downstream value.</summary>
    static Tensor<T> Encode(Tensor<T> oneHot, NodeEncoding encoding) =>
        encoding == NodeEncoding.Corners ? Corners.FromOneHot(oneHot) : oneHot.Reshape(oneHot.Shape[0], -1);

    /// <summary>[rows, groups·n] → [rows, groups, n].</summary>
    static Tensor<T> Groups(Tensor<T> parameters, int arity) => parameters.Reshape(parameters.Shape[0], -1, arity);
}

/// <summary>The corners of {-1, 1}^log2(n) that n-ary states map to (appendix D.2: Y = C·D).</summary>
public static class Corners
{
    /// <summary>log2(n) for n a power of two ≥ 2.</summary>
    public static int Bits(int arity)
    {
        if (arity < 2 || (arity & (arity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(arity), $"arity must be a power of two ≥ 2 (2, 4, 8, …), got {arity}.");
        return BitOperations.Log2((uint)arity);
    }

    /// <summary>C: [n, log2 n], row k = the corner of state k (bit b of k → +1, else -1).</summary>
    public static Tensor<T> Matrix<T>(int arity) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int bits = Bits(arity);
        var c = Tensor<T>.Zeros(arity, bits);
        var s = c.Span;
        for (int k = 0; k < arity; k++)
            for (int b = 0; b < bits; b++) s[k * bits + b] = ((k >> b) & 1) == 1 ? T.One : -T.One;
        return c;
    }

    /// <summary>Bits (or relaxed bits) in [0, 1] → 2x - 1.</summary>
    public static Tensor<T> FromBits<T>(Tensor<T> bits) where T : unmanaged, IBinaryFloatingPointIeee754<T> => bits * 2.0 - 1.0;

    /// <summary>One-hot (or simplex) rows [rows, groups, n] → corners [rows, groups·log2 n].</summary>
    public static Tensor<T> FromOneHot<T>(Tensor<T> oneHot) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = oneHot.Shape[0], groups = oneHot.Shape[1], n = oneHot.Shape[2];
        return Ops.MatMul(oneHot.Reshape(rows * groups, n), Matrix<T>(n)).Reshape(rows, -1);
    }
}
