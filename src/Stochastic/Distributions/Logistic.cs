using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Logistic(μ, λ) as in the Concrete paper's cheat sheet (appendix F): X = (L + μ)/λ with L ~ Logistic, density
/// λ e^{−λx+μ} / (1 + e^{−λx+μ})². Elementwise (scalar events); λ is a positive number.
/// </summary>
public sealed class Logistic<T> : IReparameterizable<T>, IHasEntropy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Logistic(μ, λ) elementwise, with finite locations μ and λ &gt; 0.</summary>
    public Logistic(Tensor<T> location, double lambda)
    {
        Location = Check.Finite(location, "Logistic", nameof(location));
        Lambda = Check.Temperature(lambda, "Logistic", nameof(lambda));
    }

    /// <summary>μ (log α for the binary Concrete node).</summary>
    public Tensor<T> Location { get; }

    /// <summary>λ (the temperature for the binary Concrete node).</summary>
    public double Lambda { get; }

    /// <inheritdoc/>
    public string Name => "Logistic";
    /// <inheritdoc/>
    public Shape BatchShape => Location.Shape;
    /// <inheritdoc/>
    public Shape EventShape => Shape.Scalar;

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <inheritdoc/>
    public Tensor<T> RSample(Rng rng) => Reparameterize(Location, Lambda, rng);

    /// <inheritdoc/>
    public Tensor<T> LogProb(Tensor<T> value)
    {
        Check.SameShape(value, BatchShape, Name, nameof(value), "the location's shape");
        return LogDensity(Location, Lambda, value);
    }

    /// <summary>(L + μ)/λ with L ~ Logistic.</summary>
    internal static Tensor<T> Reparameterize(Tensor<T> location, double lambda, Rng rng) =>
        (location + Noise.Logistic<T>(rng, location.Shape)) / lambda;

    /// <summary>
    /// log λ + t − 2 softplus(t) with t = μ − λx: the log of λe^t/(1+e^t)², finite for every finite x. Its sum over the
    /// last axis is the fused op <see cref="Ops.LogisticLogDensitySum{T}"/>, with the same bits.
    /// </summary>
    internal static Tensor<T> LogDensity(Tensor<T> location, double lambda, Tensor<T> value)
    {
        var t = location - value * lambda;
        return t - 2.0 * t.Softplus() + Math.Log(lambda);
    }

    /// <summary>2 − log λ (the standard logistic has entropy 2; dividing by λ adds −log λ).</summary>
    public Tensor<T> Entropy() => Tensor<T>.Full(BatchShape, T.CreateChecked(2 - Math.Log(Lambda)));
}
