using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// BinConcrete(α, λ) on (0,1) (Concrete paper Eq. 16-17): X = σ(Y) with Y the <see cref="LogitBinaryConcrete{T}"/> node,
/// the <see cref="SigmoidTransform{T}"/> of that node. Its density is the logit node's divided by σ'(y) = x(1 − x). At low
/// temperature X rounds to 0 or 1 in floating point; put log-probabilities on <see cref="Logit"/> instead.
/// </summary>
public sealed class BinaryConcrete<T> : IRelaxed<T, Bernoulli<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly TransformedDistribution<T> _sigmoid;

    /// <summary>BinConcrete(α, λ) with logits log α (finite) and temperature λ &gt; 0.</summary>
    public BinaryConcrete(Tensor<T> logits, double temperature)
    {
        Logit = new LogitBinaryConcrete<T>(logits, temperature, "BinaryConcrete");
        _sigmoid = new TransformedDistribution<T>(Logit, new SigmoidTransform<T>(), Name);
    }

    /// <summary>The logit-space node Y with X = σ(Y).</summary>
    public LogitBinaryConcrete<T> Logit { get; }

    /// <summary>The logits log α.</summary>
    public Tensor<T> Logits => Logit.Logits;
    /// <inheritdoc/>
    public double Temperature => Logit.Temperature;

    /// <inheritdoc/>
    public string Name => "BinaryConcrete";
    /// <inheritdoc/>
    public Shape BatchShape => Logit.BatchShape;
    /// <inheritdoc/>
    public Shape EventShape => Shape.Scalar;

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>σ((log α + L)/λ) (Eq. 16).</summary>
    public Tensor<T> RSample(Rng rng) => _sigmoid.RSample(rng);

    /// <inheritdoc/>
    public Tensor<T> LogProb(Tensor<T> value) => LogProb(value, Temperature);

    /// <summary>log p(x) = log g(y) − log σ'(y) with y = logit x (Eq. 17 by change of variables from the logit node).</summary>
    public Tensor<T> LogProb(Tensor<T> value, double temperature)
    {
        Check.Temperature(temperature, Name);
        Check.SameShape(value, BatchShape, Name, nameof(value), "the logits' shape");
        Check.OpenUnitInterval(value, Name, nameof(value), "the support is open; at low temperature use the logit node");
        return _sigmoid.LogProb(value, y => Logit.LogProb(y, temperature));
    }

    /// <summary>Bernoulli(log α): P(X &gt; 1/2) = α/(1+α) (Proposition 2b).</summary>
    public Bernoulli<T> ToDiscrete() => Logit.ToDiscrete();

    /// <summary>1 where x &gt; 1/2.</summary>
    public Tensor<T> Discretize(Tensor<T> value) => Hard.Step(value.Detach() - 0.5);

    /// <summary>H(x − 1/2) forward, gradient of x backward.</summary>
    public Tensor<T> StraightThrough(Tensor<T> value) => Hard.StraightThrough(Discretize(value), value);
}
