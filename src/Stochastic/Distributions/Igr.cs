using System.Numerics;
using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;

namespace Scg.Stochastic.Distributions;

/// <summary>The invertible map g(·, τ) of an IGR (IGR paper §4.1).</summary>
public enum IgrMap
{
    /// <summary>g(y, τ) = softmax++(y/τ) (Eq. 21), the paper's "IGR-I".</summary>
    SoftmaxPlusPlus,

    /// <summary>g(y, τ) = softmax++(SB(σ(y))/τ) (Eq. 22 and 24), the paper's "IGR-SB".</summary>
    StickBreaking,
}

/// <summary>
/// Invertible Gaussian Reparameterization (Potapczynski et al. §4): y = μ + σε with ε ~ N(0, I_{K−1}) (Eq. 16) and
/// z = g(y, τ) (Eq. 17), the transform of the Gaussian by <see cref="SoftmaxPlusPlusTransform{T}"/>, after
/// <see cref="StickBreakingTransform{T}"/> for IGR-SB. A value is the full K-vector on the simplex: the K−1 coordinates
/// of Eq. 21 followed by the last, δ/(Σ_j exp(x_j/τ) + δ). The log-density is the change of variables of Eq. 18.
/// Location and scale have shape [..., K−1].
/// </summary>
public sealed class Igr<T> : IRelaxed<T, Categorical<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly TransformedDistribution<T> _relaxed;

    /// <summary>The IGR of Gaussian coordinates N(location, scale²) [..., K−1] at temperature τ &gt; 0, through <paramref name="map"/>, with softmax++'s δ &gt; 0.</summary>
    public Igr(Tensor<T> location, Tensor<T> scale, double temperature, IgrMap map = IgrMap.SoftmaxPlusPlus, double delta = Igr.PaperDelta)
    {
        Map = map;
        Gaussian = new Normal<T>(location, scale, Name);
        Temperature = Check.Temperature(temperature, Name);
        Delta = Check.Temperature(delta, Name, nameof(delta));
        _relaxed = Relaxed(temperature);
    }

    /// <summary>The Gaussian of y (Eq. 16); KLs between IGRs are KLs between these (Eq. 19).</summary>
    public Normal<T> Gaussian { get; }

    /// <summary>μ [..., K−1], the Gaussian's mean.</summary>
    public Tensor<T> Location => Gaussian.Location;
    /// <summary>σ [..., K−1] &gt; 0, the Gaussian's standard deviation.</summary>
    public Tensor<T> Scale => Gaussian.Scale;
    /// <summary>The invertible map g from the Gaussian to the simplex.</summary>
    public IgrMap Map { get; }
    /// <inheritdoc/>
    public double Temperature { get; }

    /// <summary>δ &gt; 0 of softmax++ (Eq. 21).</summary>
    public double Delta { get; }

    /// <summary>Number of categories K (one more than the Gaussian's dimension).</summary>
    public int Classes => Gaussian.Dimension + 1;

    /// <inheritdoc/>
    public string Name => Map == IgrMap.SoftmaxPlusPlus ? "IGR" : "IGR-SB";
    /// <inheritdoc/>
    public Shape BatchShape => Gaussian.BatchShape;
    /// <inheritdoc/>
    public Shape EventShape => new(Classes);

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>g(μ + σε, τ) (Eq. 16-17).</summary>
    public Tensor<T> RSample(Rng rng) => _relaxed.RSample(rng);

    /// <summary>g(y, τ): softmax++(y/τ) (Eq. 21) or softmax++(SB(σ(y))/τ) (Eq. 24), as a K-vector.</summary>
    internal Tensor<T> Transform(Tensor<T> y, double temperature) => G(temperature).Forward(y);

    /// <summary>g(·, τ) as a transform: softmax++ at (τ, δ), after σ and stick-breaking for IGR-SB.</summary>
    ITransform<T> G(double temperature)
    {
        var softmaxPlusPlus = new SoftmaxPlusPlusTransform<T>(temperature, Delta);
        return Map == IgrMap.SoftmaxPlusPlus ? softmaxPlusPlus : new ComposedTransform<T>(new StickBreakingTransform<T>(), softmaxPlusPlus);
    }

    /// <summary>The distribution of g(y, τ) at a temperature (this one's own, or another for <see cref="LogProb(Tensor{T}, double)"/>).</summary>
    TransformedDistribution<T> Relaxed(double temperature) => new(Gaussian, G(temperature), Name);

    /// <inheritdoc/>
    public Tensor<T> LogProb(Tensor<T> value) => LogProb(value, Temperature);

    /// <summary>
    /// log N(y | μ, σ) − log |det J_g(y)| (Eq. 18) with y = g⁻¹(z), the log-det composed from the transforms':
    /// Σ_{k≤K} log z_k − (K−1) log τ for softmax++, plus Σ_{k&lt;K} log w_k + log(1 − Σ_{k&lt;K} w_k) for stick-breaking.
    /// </summary>
    public Tensor<T> LogProb(Tensor<T> value, double temperature)
    {
        Check.Temperature(temperature, Name);
        Check.SameShape(value, Check.Concat(BatchShape, EventShape), Name, nameof(value), $"batch {BatchShape} + [{Classes}] categories");
        Check.OnOpenSimplex(value, Name, nameof(value), "the density is defined on the open simplex");
        if (Map == IgrMap.StickBreaking) RequireStickWeights(new SoftmaxPlusPlusTransform<T>(temperature, Delta).Inverse(value.Detach()));
        return (temperature == Temperature ? _relaxed : Relaxed(temperature)).LogProb(value);
    }

    /// <summary>The stick weights w recovered from a value must lie in the open simplex: w_k &gt; 0 and Σ_k w_k &lt; 1.</summary>
    void RequireStickWeights(Tensor<T> w)
    {
        int n = w.Shape.Last;
        var s = w.Span;
        for (int r = 0; r < w.Shape.Rows; r++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++)
            {
                double wk = double.CreateChecked(s[r * n + k]);
                if (!(wk > 0))
                    throw new ArgumentException($"{Name}: value row {r} is outside the image of g: its stick weight {k} is {wk} (expected > 0, i.e. z_k > z_K/δ).", "value");
                sum += wk;
            }
            if (!(sum < 1))
                throw new ArgumentException($"{Name}: value row {r} is outside the image of g: its stick weights sum to {sum} (expected < 1).", "value");
        }
    }

    /// <summary>
    /// The argmax of the same graph as a Categorical. Not in the paper: for softmax++ the argmax is that of
    /// [y_1, …, y_{K−1}, τ log δ], whose mass is computed here by one-dimensional quadrature in double precision; the
    /// logits are constants (no gradient). For stick-breaking there is no such closed form and this throws.
    /// </summary>
    public Categorical<T> ToDiscrete()
    {
        if (Map != IgrMap.SoftmaxPlusPlus)
            throw new NotSupportedException($"{Name}: the IGR paper gives no discrete mass for the argmax of IGR-SB; use Discretize on relaxed draws.");
        var logMass = IgrArgMaxMass.LogMass(Location.ToDoubles(), Scale.ToDoubles(), Classes - 1, Temperature * Math.Log(Delta));
        return new Categorical<T>(Tensor<T>.FromDoubles(logMass, Check.Concat(BatchShape, EventShape).ToArray()));
    }

    /// <summary>One-hot of argmax_k z_k.</summary>
    public Tensor<T> Discretize(Tensor<T> value) => Hard.ArgMaxOneHot(value);

    /// <summary>One-hot argmax forward, gradient of z backward.</summary>
    public Tensor<T> StraightThrough(Tensor<T> value) => Hard.StraightThrough(Hard.ArgMaxOneHot(value), value);
}

/// <summary>IGR helpers that do not depend on the element type.</summary>
public static class Igr
{
    /// <summary>δ used in all the IGR paper's experiments (§5).</summary>
    public const double PaperDelta = 0.1;

    /// <summary>
    /// Fits (μ0, σ0) of an IGR prior to a discrete prior p0 by moment matching (Eq. 20), minimizing ‖E[z] − p0‖² with
    /// Adam over a fixed set of <paramref name="samples"/> Gaussian draws (common random numbers, so the result is
    /// deterministic for a seed), starting from μ = 0, σ = 1. Eq. 20 as printed, E‖z − p0‖², is minimized by a point
    /// mass at g⁻¹(p0) (σ → 0) because g maps onto the open simplex, so the first moment is what is matched here, as in
    /// the authors' code. Run it outside a forward pass: it uses and clears this thread's double tape.
    /// </summary>
    public static (double[] Location, double[] Scale) FitToDiscrete(ReadOnlySpan<double> prior, double temperature, Rng rng,
        IgrMap map = IgrMap.SoftmaxPlusPlus, double delta = PaperDelta, int samples = 2000, int steps = 1000, double learningRate = 0.05)
    {
        const string name = "Igr.FitToDiscrete";
        if (prior.Length < 2) throw new ArgumentException($"{name}: prior needs at least 2 categories, got {prior.Length}.", nameof(prior));
        double sum = 0;
        for (int k = 0; k < prior.Length; k++)
        {
            if (!(prior[k] >= 0 && prior[k] <= 1))
                throw new ArgumentOutOfRangeException(nameof(prior), $"{name}: prior[{k}] is {prior[k]}, expected a probability in [0,1].");
            sum += prior[k];
        }
        if (Math.Abs(sum - 1) > 1e-9) throw new ArgumentException($"{name}: prior must sum to 1, got {sum}.", nameof(prior));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);

        int d = prior.Length - 1;
        var location = Tensor<double>.Zeros(d).AsParameter("mu0");
        var logScale = Tensor<double>.Zeros(d).AsParameter("log_sigma0");
        var target = Tensor<double>.FromArray(prior, prior.Length);
        var epsilon = Noise.Normal<double>(rng, new Shape(samples, d));
        var shape = new Igr<double>(location.Detach(), logScale.Detach().Exp(), temperature, map, delta);   // validates τ and δ
        var adam = new Adam<double>(new ParameterCollection<double>([location, logScale]), learningRate);
        for (int step = 0; step < steps; step++)
        {
            adam.ZeroGrad();
            var z = shape.Transform(location + logScale.Exp() * epsilon, temperature);
            (z.Mean(0) - target).Square().Sum().Backward();
            adam.Step();
        }
        var scale = logScale.ToDoubles();
        for (int i = 0; i < d; i++) scale[i] = Math.Exp(scale[i]);
        return (location.ToDoubles(), scale);
    }
}
