using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Discrete(α) over K states with logits log α on the last axis; values are one-hot rows (event shape [K]) or indices.
/// Sampled by the Gumbel-max trick, argmax_k(log α_k + G_k) (Concrete paper Eq. 9), so it is the discrete end of
/// <see cref="ExpConcrete{T}"/>.
/// </summary>
public sealed class Categorical<T> : IHasEntropy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Categorical distributions with (unnormalized, finite) logits on the last axis of <paramref name="logits"/>.</summary>
    public Categorical(Tensor<T> logits) => Logits = CheckedLogits(logits);

    /// <summary>The constructor's checks, for a layer of nodes drawn without an instance; returns the logits.</summary>
    internal static Tensor<T> CheckedLogits(Tensor<T> logits)
    {
        Check.RankAtLeast(logits, 1, DistributionName, nameof(logits));
        return Check.Finite(logits, DistributionName, nameof(logits));
    }

    const string DistributionName = "Categorical";

    /// <summary>From probability rows in (0,1) that sum to 1; logits = log p, differentiable in p.</summary>
    public static Categorical<T> FromProbabilities(Tensor<T> probabilities)
    {
        const string name = "Categorical";
        Check.RankAtLeast(probabilities, 1, name, nameof(probabilities));
        Check.OnOpenSimplex(probabilities, name, nameof(probabilities), "a zero probability has an infinite logit");
        return new Categorical<T>(probabilities.Log());
    }

    /// <summary>The logits log α (unnormalized) on the last axis.</summary>
    public Tensor<T> Logits { get; }

    /// <summary>Number of states K.</summary>
    public int Classes => Logits.Shape.Last;

    /// <summary>softmax(logits) per row, differentiable in the logits.</summary>
    public Tensor<T> Probabilities => Logits.Softmax();

    /// <inheritdoc/>
    public string Name => DistributionName;
    /// <inheritdoc/>
    public Shape BatchShape => Logits.Shape.RemoveAxis(Logits.Shape.Rank - 1);
    /// <inheritdoc/>
    public Shape EventShape => new(Classes);

    /// <summary>One-hot rows argmax_k(log α_k + G_k) (Eq. 9).</summary>
    public Tensor<T> Sample(Rng rng) => SampleOf(Logits, rng);

    /// <summary><see cref="Sample"/> of checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> SampleOf(Tensor<T> logits, Rng rng) => Hard.ArgMaxOneHot(logits.Detach() + Noise.Gumbel<T>(rng, logits.Shape));

    /// <summary>Indices argmax_k(log α_k + G_k), one per row of the batch (row-major).</summary>
    public int[] SampleIndices(Rng rng) => Hard.ArgMax(Logits.Detach() + Noise.Gumbel<T>(rng, Logits.Shape));

    /// <summary>Σ_k x_k log softmax(logits)_k for one-hot rows x.</summary>
    public Tensor<T> LogProb(Tensor<T> value) => LogProbOf(Logits, value);

    /// <summary><see cref="LogProb"/> under checked <paramref name="logits"/>, without an instance.</summary>
    internal static Tensor<T> LogProbOf(Tensor<T> logits, Tensor<T> value)
    {
        Check.SameShape(value, logits.Shape, DistributionName, nameof(value), "the logits' shape, one-hot rows");
        int n = logits.Shape.Last;
        var v = value.Span;
        for (int r = 0; r < logits.Shape.Rows; r++)
        {
            int ones = 0;
            for (int k = 0; k < n; k++)
            {
                var vk = v[r * n + k];
                if (vk == T.One) ones++;
                else if (vk != T.Zero)
                    throw new ArgumentException($"{DistributionName}: value must have one-hot rows, but row {r}, class {k} is {vk} (expected 0 or 1).", nameof(value));
            }
            if (ones != 1)
                throw new ArgumentException($"{DistributionName}: value must have one-hot rows, but row {r} has {ones} ones (expected exactly 1).", nameof(value));
        }
        return (value * logits.LogSoftmax()).Sum(-1);
    }

    /// <summary>log softmax(logits)_{index} for one index per row of the batch.</summary>
    public Tensor<T> LogProbIndices(int[] indices)
    {
        int rows = Logits.Shape.Rows;
        if (indices.Length != rows)
            throw new ShapeMismatchException($"{Name}: indices has {indices.Length} entries, expected one per batch element ({rows}, batch shape {BatchShape}).");
        for (int r = 0; r < rows; r++)
            if ((uint)indices[r] >= (uint)Classes)
                throw new ArgumentOutOfRangeException(nameof(indices), $"{Name}: indices[{r}] is {indices[r]}, expected a class in [0, {Classes}).");
        return Logits.LogSoftmax().Gather(indices).Reshape(BatchShape.ToArray());
    }

    /// <summary>−Σ_k p_k log p_k.</summary>
    public Tensor<T> Entropy()
    {
        var logP = Logits.LogSoftmax();
        return -(logP.Exp() * logP).Sum(-1);
    }
}
