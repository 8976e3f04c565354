using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// A batch of independent distributions. A value has shape <see cref="BatchShape"/> followed by <see cref="EventShape"/>;
/// <see cref="LogProb"/> sums over the event axes and returns a <see cref="BatchShape"/>-shaped tensor.
/// </summary>
public interface IDistribution<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The distribution's name, used in error messages.</summary>
    string Name { get; }

    /// <summary>Shape of the batch of independent distributions (the shape <see cref="LogProb"/> returns).</summary>
    Shape BatchShape { get; }

    /// <summary>Shape of one draw: scalar for Bernoulli, [K] for Categorical.</summary>
    Shape EventShape { get; }

    /// <summary>A draw of shape BatchShape + EventShape; it carries no gradient.</summary>
    Tensor<T> Sample(Rng rng);

    /// <summary>Log mass or log density of <paramref name="value"/>, summed over the event axes; differentiable in the parameters and in the value.</summary>
    Tensor<T> LogProb(Tensor<T> value);
}

/// <summary>A distribution whose draws are differentiable functions of its parameters and parameter-free noise.</summary>
public interface IReparameterizable<T> : IDistribution<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>A draw of shape BatchShape + EventShape whose gradient flows to the parameters.</summary>
    Tensor<T> RSample(Rng rng);
}

/// <summary>A distribution with a closed-form entropy.</summary>
public interface IHasEntropy<T> : IDistribution<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The entropy of each distribution of the batch (BatchShape), differentiable in the parameters.</summary>
    Tensor<T> Entropy();
}

/// <summary>
/// A continuous relaxation of a discrete distribution at a temperature (Concrete paper §3.3): the relaxed graph and the
/// discrete graph share their parameters and differ only by softmax/sigmoid versus argmax/step.
/// </summary>
public interface IRelaxed<T, out TDiscrete> : IReparameterizable<T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
    where TDiscrete : IDistribution<T>
{
    /// <summary>The temperature λ (τ for IGR), a positive finite number.</summary>
    double Temperature { get; }

    /// <summary>
    /// Log density of <paramref name="value"/> under the same parameters at another temperature: the λ1 ≠ λ2 relaxed bound
    /// (Concrete paper Eq. 28) evaluates one draw under a posterior at λ1 and a prior at λ2.
    /// </summary>
    Tensor<T> LogProb(Tensor<T> value, double temperature);

    /// <summary>
    /// <see cref="LogProb(Tensor{T}, double)"/> summed over the last batch axis: the log-density of a layer of nodes per row.
    /// </summary>
    Tensor<T> LogProbSum(Tensor<T> value, double temperature) => LogProb(value, temperature).Sum(-1);

    /// <summary>The discrete distribution of the same graph with argmax/step in place of softmax/sigmoid.</summary>
    TDiscrete ToDiscrete();

    /// <summary>The discrete value of a relaxed draw (step or argmax one-hot), in the discrete distribution's form; no gradient.</summary>
    Tensor<T> Discretize(Tensor<T> value);

    /// <summary>
    /// Straight-through value of a relaxed draw: forward equals <see cref="Discretize"/>, backward is the gradient of the
    /// relaxed value on the discrete scale (σ(Y) for a logit node, exp(Y) for a log-simplex node).
    /// </summary>
    Tensor<T> StraightThrough(Tensor<T> value);
}
