using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Diagonal Gaussian N(μ, diag σ²) over the last axis (event shape [d]): X = μ + σε with ε ~ N(0, I).
/// </summary>
public sealed class Normal<T> : IReparameterizable<T>, IHasEntropy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static readonly double HalfLog2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>N(μ, diag σ²) over the last axis, with finite means μ and positive standard deviations σ of one shape (rank ≥ 1).</summary>
    public Normal(Tensor<T> location, Tensor<T> scale) : this(location, scale, "Normal") { }

    /// <summary>Checks the parameters with messages that name <paramref name="owner"/> (a distribution built on this Gaussian).</summary>
    internal Normal(Tensor<T> location, Tensor<T> scale, string owner)
    {
        CheckParameters(location, scale, owner);
        (Location, Scale) = (location, scale);
    }

    /// <summary>The constructor's checks, for a layer of Gaussians drawn without an instance.</summary>
    internal static void CheckParameters(Tensor<T> location, Tensor<T> scale, string owner = DistributionName)
    {
        Check.RankAtLeast(location, 1, owner, nameof(location));
        Check.Finite(location, owner, nameof(location));
        Check.SameShape(scale, location.Shape, owner, nameof(scale), "the location's shape");
        Check.Positive(scale, owner, nameof(scale));
    }

    const string DistributionName = "Normal";

    /// <summary>μ, the means.</summary>
    public Tensor<T> Location { get; }
    /// <summary>σ &gt; 0, the standard deviations.</summary>
    public Tensor<T> Scale { get; }

    /// <summary>Dimension d of one draw.</summary>
    public int Dimension => Location.Shape.Last;

    /// <inheritdoc/>
    public string Name => DistributionName;
    /// <inheritdoc/>
    public Shape BatchShape => Location.Shape.RemoveAxis(Location.Shape.Rank - 1);
    /// <inheritdoc/>
    public Shape EventShape => new(Dimension);

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>μ + σε.</summary>
    public Tensor<T> RSample(Rng rng) => RSampleOf(Location, Scale, rng);

    /// <summary><see cref="RSample"/> of checked parameters, without an instance.</summary>
    internal static Tensor<T> RSampleOf(Tensor<T> location, Tensor<T> scale, Rng rng) => location + scale * Noise.Normal<T>(rng, location.Shape);

    /// <summary>Σ_i [−((x_i − μ_i)/σ_i)²/2 − log σ_i] − (d/2) log 2π.</summary>
    public Tensor<T> LogProb(Tensor<T> value) => LogProbOf(Location, Scale, value);

    /// <summary><see cref="LogProb"/> under checked parameters, without an instance.</summary>
    internal static Tensor<T> LogProbOf(Tensor<T> location, Tensor<T> scale, Tensor<T> value)
    {
        Check.SameShape(value, location.Shape, DistributionName, nameof(value), "the location's shape");
        var z = (value - location) / scale;
        return (-0.5 * z.Square() - scale.Log()).Sum(-1) - location.Shape.Last * HalfLog2Pi;
    }

    /// <summary>Σ_i log σ_i + (d/2)(1 + log 2π).</summary>
    public Tensor<T> Entropy() => Scale.Log().Sum(-1) + Dimension * (0.5 + HalfLog2Pi);
}
