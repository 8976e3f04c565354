using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// ExpConcrete(α, λ) on the log-simplex (Concrete paper appendix C.3): Y_k = (log α_k + G_k)/λ − LSE_i((log α_i + G_i)/λ),
/// so exp(Y) ~ Concrete(α, λ). The default stochastic node for n-ary relaxations: log-densities stay finite at low λ.
/// Logits log α lie on the last axis (event shape [n]).
/// </summary>
public sealed class ExpConcrete<T> : IRelaxed<T, Categorical<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>ExpConcrete(α, λ) with logits log α (finite) on the last axis and temperature λ &gt; 0.</summary>
    public ExpConcrete(Tensor<T> logits, double temperature) : this(logits, temperature, "ExpConcrete") { }

    /// <summary>Checks the parameters with messages that name <paramref name="owner"/> (a distribution built on this node).</summary>
    internal ExpConcrete(Tensor<T> logits, double temperature, string owner)
    {
        Logits = CheckedLogits(logits, temperature, owner);
        Temperature = temperature;
    }

    /// <summary>The constructor's checks of logits and temperature, for a layer of nodes drawn without an instance; returns the logits.</summary>
    internal static Tensor<T> CheckedLogits(Tensor<T> logits, double temperature, string owner = DistributionName)
    {
        Check.RankAtLeast(logits, 1, owner, nameof(logits));
        Check.Finite(logits, owner, nameof(logits));
        Check.Temperature(temperature, owner);
        return logits;
    }

    const string DistributionName = "ExpConcrete";

    /// <summary>log α (unnormalized).</summary>
    public Tensor<T> Logits { get; }

    /// <inheritdoc/>
    public double Temperature { get; }

    /// <summary>Number of states n.</summary>
    public int Classes => Logits.Shape.Last;

    /// <inheritdoc/>
    public string Name => DistributionName;
    /// <inheritdoc/>
    public Shape BatchShape => Logits.Shape.RemoveAxis(Logits.Shape.Rank - 1);
    /// <inheritdoc/>
    public Shape EventShape => new(Classes);

    /// <inheritdoc/>
    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    /// <summary>log softmax((log α + G)/λ).</summary>
    public Tensor<T> RSample(Rng rng) => RSampleOf(Logits, Temperature, rng);

    /// <summary><see cref="RSample"/> of checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> RSampleOf(Tensor<T> logits, double temperature, Rng rng) =>
        ((logits + Noise.Gumbel<T>(rng, logits.Shape)) / temperature).LogSoftmax();

    /// <inheritdoc/>
    public Tensor<T> LogProb(Tensor<T> value) => LogProb(value, Temperature);

    /// <summary>log κ_{α,λ}(y) (appendix C.3) at the given temperature; y must be finite with LSE_k y_k = 0.</summary>
    public Tensor<T> LogProb(Tensor<T> value, double temperature) => LogProbOf(Logits, value, temperature);

    /// <summary><see cref="LogProb(Tensor{T}, double)"/> under checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> LogProbOf(Tensor<T> logits, Tensor<T> value, double temperature)
    {
        Check.Temperature(temperature, DistributionName);
        Check.SameShape(value, logits.Shape, DistributionName, nameof(value), "the logits' shape");
        Check.OnLogSimplex(value, DistributionName);
        return LogDensity(logits, value, temperature);
    }

    /// <summary>
    /// log κ(y) = log (n−1)! + (n−1) log λ + Σ_k t_k − n LSE_k t_k with t = log α − λy (appendix C.3); unchecked.
    /// κ is the density whose exp-image is Concrete's Eq. 11 times Π_k x_k (the Jacobian <see cref="Concrete{T}"/> removes).
    /// </summary>
    internal static Tensor<T> LogDensity(Tensor<T> logits, Tensor<T> value, double temperature)
    {
        int n = logits.Shape.Last;
        var t = logits - value * temperature;
        return t.Sum(-1) - n * t.LogSumExp(-1) + (LogFactorial(n - 1) + (n - 1) * Math.Log(temperature));
    }

    static double LogFactorial(int m)
    {
        double s = 0;
        for (int k = 2; k <= m; k++) s += Math.Log(k);
        return s;
    }

    /// <summary>Categorical(log α): argmax_k Y_k = argmax_k (log α_k + G_k) for any λ (Proposition 1b).</summary>
    public Categorical<T> ToDiscrete() => new(Logits);

    /// <summary>One-hot of argmax_k y_k.</summary>
    public Tensor<T> Discretize(Tensor<T> value) => Hard.ArgMaxOneHot(value);

    /// <summary>One-hot argmax forward, gradient of the Concrete value exp(y) backward.</summary>
    public Tensor<T> StraightThrough(Tensor<T> value) => StraightThroughOf(value);

    /// <summary><see cref="StraightThrough"/> without an instance (it reads no parameter).</summary>
    internal static Tensor<T> StraightThroughOf(Tensor<T> value) => Hard.StraightThrough(Hard.ArgMaxOneHot(value), value.Exp());
}
