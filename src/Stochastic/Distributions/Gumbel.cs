using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Gumbel(μ, β), elementwise: X = μ + βG with G = −log(−log U) (Concrete paper appendix F), density
/// (1/β) exp(−z − e^{−z}) with z = (x − μ)/β.
/// </summary>
public sealed class Gumbel<T> : IReparameterizable<T>, IHasEntropy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Euler–Mascheroni constant γ (the mean of a standard Gumbel).</summary>
    const double EulerGamma = 0.57721566490153286061;

    /// <summary>Gumbel(μ, β) elementwise, with finite locations μ and positive scales β of one shape.</summary>
    public Gumbel(Tensor<T> location, Tensor<T> scale)
    {
        Location = Check.Finite(location, "Gumbel", nameof(location));
        Check.SameShape(scale, location.Shape, "Gumbel", nameof(scale), "the location's shape");
        Scale = Check.Positive(scale, "Gumbel", nameof(scale));
    }

    /// <summary>μ, the mode.</summary>
    public Tensor<T> Location { get; }
    /// <summary>β &gt; 0.</summary>
    public Tensor<T> Scale { get; }

    /// <inheritdoc/>
    public string Name => "Gumbel";
    /// <inheritdoc/>
    public Shape BatchShape => Location.Shape;
    /// <inheritdoc/>
    public Shape EventShape => Shape.Scalar;

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>μ + βG.</summary>
    public Tensor<T> RSample(Rng rng) => Location + Scale * Noise.Gumbel<T>(rng, BatchShape);

    /// <summary>−log β − z − e^{−z}, z = (x − μ)/β.</summary>
    public Tensor<T> LogProb(Tensor<T> value)
    {
        Check.SameShape(value, BatchShape, Name, nameof(value), "the location's shape");
        var z = (value - Location) / Scale;
        return -Scale.Log() - z - (-z).Exp();
    }

    /// <summary>log β + γ + 1.</summary>
    public Tensor<T> Entropy() => Scale.Log() + (EulerGamma + 1);
}
