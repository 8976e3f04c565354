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
    readonly Tensor<T> _node;          // the discrete state (bits or one-hot), Y, or IGR's y
    readonly double _priorTemperature;
    internal (double Temperature, double Delta)? GaussianParameters;   // set when discrete nodes get IGR parameters

    /// <summary>Downstream value [rows, units] in [-1, 1]: hypercube corners for discrete nodes.</summary>
    public Tensor<T> Value { get; }

    /// <summary>Log-probability of the node under its sampling distribution, summed over the layer [rows].</summary>
    public Tensor<T> LogProb { get; }

    /// <summary>True when the node was drawn discretely (it then needs a score-function gradient).</summary>
    public bool IsDiscrete => _form == Form.Discrete;

    LatentSample(Form form, int arity, Tensor<T> node, Tensor<T> value, Tensor<T> logProb, double priorTemperature)
    {
        _form = form; _arity = arity; _node = node; Value = value; LogProb = logProb; _priorTemperature = priorTemperature;
    }

    /// <summary>Log-probability of the same node under prior parameters (shaped like the sampling parameters, or one row of them).</summary>
    public Tensor<T> LogPrior(Tensor<T> priorParameters)
    {
        var p = RowsOf(priorParameters);
        if (GaussianParameters is var (t, d)) p = LogitsOfGaussian(p, _arity, t, d);
        return _form switch
        {
            Form.Discrete or Form.StraightThrough => DiscreteLogMass(p, _arity, _node),
            Form.Relaxed when _arity == 2 => new LogitBinaryConcrete<T>(p, _priorTemperature).LogProb(_node).Sum(-1),
            Form.Relaxed => new ExpConcrete<T>(Groups(p, _arity), _priorTemperature).LogProb(_node).Sum(-1),
            _ => GaussianLogDensity(p, _node),
        };
    }

    Tensor<T> RowsOf(Tensor<T> p)
    {
        int rows = Value.Shape[0];
        if (p.Shape.Rank == 1) p = p.Reshape(1, p.Shape[0]);
        return p.Shape[0] == rows ? p : p.Expand(new Shape(rows, p.Shape[1]));
    }

    internal static LatentSample<T> Discrete(Tensor<T> parameters, int arity, Rng rng)
    {
        if (arity == 2)
        {
            var bits = new Bernoulli<T>(parameters).Sample(rng);
            return new(Form.Discrete, arity, bits, Corners.FromBits(bits), DiscreteLogMass(parameters, arity, bits), 1);
        }
        var oneHot = new Categorical<T>(Groups(parameters, arity)).Sample(rng);
        return new(Form.Discrete, arity, oneHot, Corners.FromOneHot(oneHot), DiscreteLogMass(parameters, arity, oneHot), 1);
    }

    internal static LatentSample<T> DiscreteFromGaussian(Tensor<T> parameters, int arity, double temperature, double delta, Rng rng)
    {
        var node = Discrete(LogitsOfGaussian(parameters, arity, temperature, delta), arity, rng);
        node.GaussianParameters = (temperature, delta);
        return node;
    }

    internal static LatentSample<T> Relaxed(Tensor<T> parameters, int arity, double temperature, double priorTemperature, Rng rng, bool straightThrough)
    {
        if (arity == 2)
        {
            var q = new LogitBinaryConcrete<T>(parameters, temperature);
            var y = q.RSample(rng);
            if (!straightThrough)
                return new(Form.Relaxed, arity, y, Corners.FromBits(y.Sigmoid()), q.LogProb(y).Sum(-1), priorTemperature);
            var hard = q.StraightThrough(y);
            var bits = hard.Detach();
            return new(Form.StraightThrough, arity, bits, Corners.FromBits(hard), DiscreteLogMass(parameters, arity, bits), priorTemperature);
        }
        var qn = new ExpConcrete<T>(Groups(parameters, arity), temperature);
        var yn = qn.RSample(rng);
        if (!straightThrough)
            return new(Form.Relaxed, arity, yn, Corners.FromOneHot(yn.Exp()), qn.LogProb(yn).Sum(-1), priorTemperature);
        var hardN = qn.StraightThrough(yn);
        var oneHot = hardN.Detach();
        return new(Form.StraightThrough, arity, oneHot, Corners.FromOneHot(hardN), DiscreteLogMass(parameters, arity, oneHot), priorTemperature);
    }

    /// <summary>
    /// IGR node: y = μ + σ ε with parameters [μ | log σ] per group of arity-1 coordinates; the value is
    /// softmax++(y/τ) with δ (IGR Eq. 21) mapped to corners. log p - log q of y equals that of the relaxed value
    /// because both go through the same invertible map, so the node's log-density is the Gaussian's.
    /// </summary>
    internal static LatentSample<T> Igr(Tensor<T> parameters, int arity, double temperature, double delta, Rng rng)
    {
        var (mean, logScale) = SplitGaussian(parameters);
        var noise = Noise.Normal<T>(rng, mean.Shape);
        var y = mean + logScale.Exp() * noise;
        var logits = SoftmaxPlusPlusLogits(y, arity, temperature, delta);
        var value = arity == 2 ? Corners.FromBits(logits.Sigmoid()) : Corners.FromOneHot(logits.Softmax());
        return new(Form.Igr, arity, y, value, GaussianLogDensity(parameters, y), 1);
    }

    /// <summary>
    /// The logits whose softmax is softmax++(y/τ): [y/τ, log δ] per group (binary: y/τ - log δ, a sigmoid's logit).
    /// Also the logits of the discrete graph of an IGR-trained model (the Concrete paper's control for logistic normals).
    /// </summary>
    public static Tensor<T> SoftmaxPlusPlusLogits(Tensor<T> y, int arity, double temperature, double delta)
    {
        if (arity == 2) return y / temperature - Math.Log(delta);
        int rows = y.Shape[0], groups = y.Shape[1] / (arity - 1);
        var scaled = (y / temperature).Reshape(rows, groups, arity - 1);
        var last = Tensor<T>.Full(new Shape(rows, groups, 1), T.CreateChecked(Math.Log(delta)));
        return Ops.Concat(2, scaled, last);
    }

    /// <summary>IGR parameters [rows, 2w] → logits of the discrete graph [rows, ParameterWidth] from the means.</summary>
    public static Tensor<T> LogitsOfGaussian(Tensor<T> parameters, int arity, double temperature, double delta)
    {
        var logits = SoftmaxPlusPlusLogits(SplitGaussian(parameters).Mean, arity, temperature, delta);
        return logits.Reshape(parameters.Shape[0], -1);
    }

    /// <summary>Splits IGR node parameters [rows, 2w] into means and log-scales [rows, w].</summary>
    public static (Tensor<T> Mean, Tensor<T> LogScale) SplitGaussian(Tensor<T> parameters)
    {
        int w = parameters.Shape[1] / 2;
        return (parameters.Narrow(1, 0, w), parameters.Narrow(1, w, w));
    }

    static Tensor<T> GaussianLogDensity(Tensor<T> parameters, Tensor<T> y)
    {
        var (mean, logScale) = SplitGaussian(parameters);
        var z = (y - mean) / logScale.Exp();
        return (z.Square() * -0.5 - logScale - 0.5 * Math.Log(2 * Math.PI)).Sum(-1);
    }

    static Tensor<T> DiscreteLogMass(Tensor<T> parameters, int arity, Tensor<T> state) => arity == 2
        ? new Bernoulli<T>(parameters).LogProb(state).Sum(-1)
        : new Categorical<T>(Groups(parameters, arity)).LogProb(state).Sum(-1);

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
