using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// The distribution of y = f(x) with x drawn from a reparameterizable base: draws are f of the base's draws, and
/// log p(y) = log p_base(f⁻¹(y)) − log |det J_f(f⁻¹(y))|. The transform acts on at most the base's event axes; its
/// log-det is summed over the remaining ones.
/// </summary>
public sealed class TransformedDistribution<T> : IReparameterizable<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly ComposedTransform<T> _chain;

    /// <summary>The distribution of <paramref name="transform"/>(x) for x drawn from <paramref name="baseDistribution"/>.</summary>
    /// <param name="baseDistribution">the distribution of x; the transform acts on at most its event axes</param>
    /// <param name="transform">f</param>
    /// <param name="name">the name in error messages; by default "transform of base"</param>
    public TransformedDistribution(IReparameterizable<T> baseDistribution, ITransform<T> transform, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(baseDistribution);
        ArgumentNullException.ThrowIfNull(transform);
        Name = name ?? $"{transform.Name} of {baseDistribution.Name}";
        if (transform.EventRank > baseDistribution.EventShape.Rank)
            throw new ArgumentException(
                $"{Name}: the transform {transform.Name} acts on {transform.EventRank} event axes, but the base {baseDistribution.Name} has event shape {baseDistribution.EventShape}.",
                nameof(transform));
        Base = baseDistribution;
        Transform = transform;
        _chain = transform as ComposedTransform<T> ?? new ComposedTransform<T>(transform);
        EventShape = transform.ForwardShape(baseDistribution.EventShape);
    }

    /// <summary>The distribution of x.</summary>
    public IReparameterizable<T> Base { get; }

    /// <summary>f.</summary>
    public ITransform<T> Transform { get; }

    /// <inheritdoc/>
    public string Name { get; }
    /// <inheritdoc/>
    public Shape BatchShape => Base.BatchShape;
    /// <inheritdoc/>
    public Shape EventShape { get; }

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>f(x) with x a reparameterized draw of the base.</summary>
    public Tensor<T> RSample(Rng rng) => Transform.Forward(Base.RSample(rng));

    /// <summary>log p_base(x) − log |det J_f(x)| with x = f⁻¹(value); value must lie in the image of f.</summary>
    public Tensor<T> LogProb(Tensor<T> value) => LogProb(value, Base.LogProb);

    /// <summary>
    /// The change of variables with another base log-density in place of <c>Base.LogProb</c>, e.g. the same base at
    /// another temperature or its unchecked form: <paramref name="baseLogProb"/>(x) − log |det J_f(x)| with x = f⁻¹(value).
    /// </summary>
    internal Tensor<T> LogProb(Tensor<T> value, Func<Tensor<T>, Tensor<T>> baseLogProb)
    {
        Check.SameShape(value, Check.Concat(BatchShape, EventShape), Name, nameof(value), $"batch {BatchShape} + event {EventShape}");
        var (x, logAbsDet) = _chain.InverseWithLogAbsDet(value);
        return baseLogProb(x) - ComposedTransform<T>.SumTrailingAxes(logAbsDet, Base.EventShape.Rank - Transform.EventRank);
    }
}
