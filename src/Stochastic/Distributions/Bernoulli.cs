using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Independent Bernoulli variables on {0,1} with logits log α: P(X = 1) = α/(1+α) = σ(logits). Sampled as
/// H(log α + L) with L ~ Logistic (Concrete paper Eq. 15), so it is the discrete end of <see cref="LogitBinaryConcrete{T}"/>.
/// </summary>
public sealed class Bernoulli<T> : IHasEntropy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Bernoulli variables with the given logits (finite), one per element; the batch shape is the logits' shape.</summary>
    public Bernoulli(Tensor<T> logits) => Logits = CheckedLogits(logits);

    /// <summary>The constructor's check, for a layer of nodes drawn without an instance; returns the logits.</summary>
    internal static Tensor<T> CheckedLogits(Tensor<T> logits) => Check.Finite(logits, DistributionName, nameof(logits));

    const string DistributionName = "Bernoulli";

    /// <summary>From probabilities in (0,1); logits = log p − log(1 − p), differentiable in p.</summary>
    public static Bernoulli<T> FromProbabilities(Tensor<T> probabilities)
    {
        Check.OpenUnitInterval(probabilities, "Bernoulli", nameof(probabilities), "probabilities of 0 or 1 have infinite logits");
        return new Bernoulli<T>(probabilities.Log() - (-probabilities).Log1p());
    }

    /// <summary>The logits log α = log p − log(1 − p).</summary>
    public Tensor<T> Logits { get; }

    /// <summary>P(X = 1) = σ(logits), differentiable in the logits.</summary>
    public Tensor<T> Probabilities => Logits.Sigmoid();

    /// <inheritdoc/>
    public string Name => DistributionName;
    /// <inheritdoc/>
    public Shape BatchShape => Logits.Shape;
    /// <inheritdoc/>
    public Shape EventShape => Shape.Scalar;

    /// <summary>H(logits + L), L ~ Logistic (Eq. 15).</summary>
    public Tensor<T> Sample(Rng rng) => SampleOf(Logits, rng);

    /// <summary><see cref="Sample"/> of checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> SampleOf(Tensor<T> logits, Rng rng) => Hard.Step(logits.Detach() + Noise.Logistic<T>(rng, logits.Shape));

    /// <summary>x log σ(l) + (1 − x) log σ(−l) = −BCE(l, x); the value must be 0 or 1.</summary>
    public Tensor<T> LogProb(Tensor<T> value) => LogProbOf(Logits, value);

    /// <summary><see cref="LogProb"/> under checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> LogProbOf(Tensor<T> logits, Tensor<T> value)
    {
        Check.SameShape(value, logits.Shape, DistributionName, nameof(value), "the logits' shape");
        Check.Binary(value, DistributionName, nameof(value));
        return -Ops.BinaryCrossEntropyWithLogits(logits, value);
    }

    /// <summary>−σ(l) log σ(l) − σ(−l) log σ(−l).</summary>
    public Tensor<T> Entropy()
    {
        var (logP1, logP0) = (Logits.LogSigmoid(), (-Logits).LogSigmoid());
        return -(logP1.Exp() * logP1 + logP0.Exp() * logP0);
    }
}
