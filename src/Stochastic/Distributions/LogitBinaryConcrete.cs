using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// The logit-space node of a Binary Concrete variable (Concrete paper appendix C.3.2, Eq. 26): Y = (log α + L)/λ with
/// L ~ Logistic, i.e. Y ~ Logistic(log α, λ) of the cheat sheet, with log-density
/// log g(y) = log λ − λy + log α − 2 softplus(−λy + log α), finite for every y. The (0,1) value is σ(Y) downstream.
/// This is the stochastic node to put log-probabilities on: it does not round to 0 or 1 at low temperature.
/// </summary>
public sealed class LogitBinaryConcrete<T> : IRelaxed<T, Bernoulli<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The logit-space node of BinConcrete(α, λ), with logits log α (finite) and temperature λ &gt; 0.</summary>
    public LogitBinaryConcrete(Tensor<T> logits, double temperature) : this(logits, temperature, "LogitBinaryConcrete") { }

    /// <summary>Checks the parameters with messages that name <paramref name="owner"/> (a distribution built on this node).</summary>
    internal LogitBinaryConcrete(Tensor<T> logits, double temperature, string owner)
    {
        Logits = CheckedLogits(logits, temperature, owner);
        Temperature = temperature;
    }

    /// <summary>The constructor's checks of logits and temperature, for a layer of nodes drawn without an instance; returns the logits.</summary>
    internal static Tensor<T> CheckedLogits(Tensor<T> logits, double temperature, string owner = DistributionName)
    {
        Check.Finite(logits, owner, nameof(logits));
        Check.Temperature(temperature, owner);
        return logits;
    }

    const string DistributionName = "LogitBinaryConcrete";

    /// <summary>log α.</summary>
    public Tensor<T> Logits { get; }

    /// <inheritdoc/>
    public double Temperature { get; }

    /// <inheritdoc/>
    public string Name => DistributionName;
    /// <inheritdoc/>
    public Shape BatchShape => Logits.Shape;
    /// <inheritdoc/>
    public Shape EventShape => Shape.Scalar;

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>Y = (log α + L)/λ (Eq. 26).</summary>
    public Tensor<T> RSample(Rng rng) => Logistic<T>.Reparameterize(Logits, Temperature, rng);

    /// <inheritdoc/>
    public Tensor<T> LogProb(Tensor<T> value) => LogProb(value, Temperature);

    /// <summary>log g_{α,λ}(y) (appendix C.3.2) at the given temperature.</summary>
    public Tensor<T> LogProb(Tensor<T> value, double temperature) => Logistic<T>.LogDensity(Logits, CheckValue(Logits, value, temperature), value);

    /// <summary>Σ over the last axis of log g_{α,λ}(y) at the given temperature, as one op (the bits of LogProb(value, temperature).Sum(-1)).</summary>
    public Tensor<T> LogProbSum(Tensor<T> value, double temperature) => LogProbSumOf(Logits, value, temperature);

    /// <summary><see cref="LogProbSum"/> of the nodes with checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> LogProbSumOf(Tensor<T> logits, Tensor<T> value, double temperature) =>
        Ops.LogisticLogDensitySum(logits, CheckValue(logits, value, temperature), value);

    /// <summary>Checks a value and temperature for the log-density under <paramref name="logits"/>; returns the temperature.</summary>
    static double CheckValue(Tensor<T> logits, Tensor<T> value, double temperature)
    {
        Check.Temperature(temperature, DistributionName);
        Check.SameShape(value, logits.Shape, DistributionName, nameof(value), "the logits' shape");
        Check.Finite(value, DistributionName, nameof(value));
        return temperature;
    }

    /// <summary>Bernoulli(log α): H(log α + L) is H(Y) for any λ (Eq. 15).</summary>
    public Bernoulli<T> ToDiscrete() => new(Logits);

    /// <summary>H(y): 1 where y &gt; 0.</summary>
    public Tensor<T> Discretize(Tensor<T> value) => Hard.Step(value);

    /// <summary>H(y) forward, gradient of σ(y) backward.</summary>
    public Tensor<T> StraightThrough(Tensor<T> value) => StraightThroughOf(value);

    /// <summary><see cref="StraightThrough"/> without an instance (it reads no parameter).</summary>
    internal static Tensor<T> StraightThroughOf(Tensor<T> value) => Hard.StraightThrough(Hard.Step(value), value.Sigmoid());
}
