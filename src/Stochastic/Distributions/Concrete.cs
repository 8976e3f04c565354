using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Concrete(α, λ) on the open simplex (Concrete paper Eq. 10-11): X = exp(Y) with Y ~ <see cref="ExpConcrete{T}"/>, the
/// <see cref="ExpTransform{T}"/> of that node. Its log-density is ExpConcrete's at log x minus the log-Jacobian Σ_k log x_k
/// of exp. At low temperature X rounds to a vertex in floating point (log x = −∞); put log-probabilities on
/// <see cref="Log"/> instead.
/// </summary>
public sealed class Concrete<T> : IRelaxed<T, Categorical<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly TransformedDistribution<T> _exp;

    /// <summary>Concrete(α, λ) with logits log α (finite) on the last axis and temperature λ &gt; 0.</summary>
    public Concrete(Tensor<T> logits, double temperature)
    {
        Log = new ExpConcrete<T>(logits, temperature, "Concrete");
        _exp = new TransformedDistribution<T>(Log, new ExpTransform<T>(), Name);
    }

    /// <summary>The log-space node Y with X = exp(Y).</summary>
    public ExpConcrete<T> Log { get; }

    /// <summary>The logits log α (unnormalized) on the last axis.</summary>
    public Tensor<T> Logits => Log.Logits;
    /// <inheritdoc/>
    public double Temperature => Log.Temperature;
    /// <summary>Number of states n.</summary>
    public int Classes => Log.Classes;

    /// <inheritdoc/>
    public string Name => "Concrete";
    /// <inheritdoc/>
    public Shape BatchShape => Log.BatchShape;
    /// <inheritdoc/>
    public Shape EventShape => Log.EventShape;

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>softmax((log α + G)/λ) (Eq. 10).</summary>
    public Tensor<T> RSample(Rng rng) => _exp.RSample(rng);

    /// <inheritdoc/>
    public Tensor<T> LogProb(Tensor<T> value) => LogProb(value, Temperature);

    /// <summary>log p_{α,λ}(x) (Eq. 11) = log κ_{α,λ}(log x) − Σ_k log x_k; x must have positive rows summing to 1.</summary>
    public Tensor<T> LogProb(Tensor<T> value, double temperature)
    {
        Check.Temperature(temperature, Name);
        Check.SameShape(value, Logits.Shape, Name, nameof(value), "the logits' shape");
        Check.OnOpenSimplex(value, Name, nameof(value), "at low temperature use the ExpConcrete node");
        return _exp.LogProb(value, logX => ExpConcrete<T>.LogDensity(Logits, logX, temperature));
    }

    /// <summary>Categorical(log α) (Proposition 1b).</summary>
    public Categorical<T> ToDiscrete() => Log.ToDiscrete();

    /// <summary>One-hot of argmax_k x_k.</summary>
    public Tensor<T> Discretize(Tensor<T> value) => Hard.ArgMaxOneHot(value);

    /// <summary>One-hot argmax forward, gradient of x backward.</summary>
    public Tensor<T> StraightThrough(Tensor<T> value) => Hard.StraightThrough(Hard.ArgMaxOneHot(value), value);
}
