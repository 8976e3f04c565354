using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Logistic(μ, λ) as in the Concrete paper's cheat sheet (appendix F): X = (L + μ)/λ with L ~ Logistic, density
/// λ e^{−λx+μ} / (1 + e^{−λx+μ})². Elementwise (scalar events); λ is a positive number.
/// </summary>
public sealed class Logistic<T> : IReparameterizable<T>, IHasEntropy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public Logistic(Tensor<T> location, double lambda)
    {
        Location = Check.Finite(location, "Logistic", nameof(location));
        Lambda = Check.Temperature(lambda, "Logistic", nameof(lambda));
    }

    /// <summary>μ (log α for the binary Concrete node).</summary>
    public Tensor<T> Location { get; }

    /// <summary>λ (the temperature for the binary Concrete node).</summary>
    public double Lambda { get; }

    public string Name => "Logistic";
    public Shape BatchShape => Location.Shape;
    public Shape EventShape => Shape.Scalar;

    public Tensor<T> Sample(Rng rng) => RSample(rng).Detach();

    public Tensor<T> RSample(Rng rng) => Reparameterize(Location, Lambda, rng);

    public Tensor<T> LogProb(Tensor<T> value)
    {
        Check.SameShape(value, BatchShape, Name, nameof(value), "the location's shape");
        return LogDensity(Location, Lambda, value);
    }

    /// <summary>(L + μ)/λ with L ~ Logistic.</summary>
    internal static Tensor<T> Reparameterize(Tensor<T> location, double lambda, Rng rng) =>
        (location + Noise.Logistic<T>(rng, location.Shape)) / lambda;

    /// <summary>log λ + t − 2 softplus(t) with t = μ − λx: the log of λe^t/(1+e^t)², finite for every finite x.</summary>
    internal static Tensor<T> LogDensity(Tensor<T> location, double lambda, Tensor<T> value)
    {
        var t = location - value * lambda;
        return t - 2.0 * t.Softplus() + Math.Log(lambda);
    }

    /// <summary>
    /// Σ over the last axis of <see cref="LogDensity"/>: one op, computed with the same kernels in the same order as
    /// <c>LogDensity(location, lambda, value).Sum(-1)</c> (so the same bits) without that chain's intermediate tensors.
    /// </summary>
    internal static Tensor<T> LogDensitySum(Tensor<T> location, double lambda, Tensor<T> value)
    {
        if (location.Shape != value.Shape)
            throw new ShapeMismatchException($"logistic log-density: location {location.Shape} and value {value.Shape} must have the same shape.");
        var shape = value.Shape;
        T l = T.CreateChecked(lambda), two = T.CreateChecked(2.0), logL = T.CreateChecked(Math.Log(lambda));
        var t = Tensor<T>.Uninitialized(shape);
        var r = Scratch<T>.First(shape.Size);
        Elementwise.MapScalarRight<T, MultiplyOperator<T>>(value.Span, l, r);   // λx
        Elementwise.Map<T, SubtractOperator<T>>(location.Span, r, t.Span);     // t = μ − λx
        Special.Softplus<T>(t.Span, r);
        Elementwise.MapScalarLeft<T, MultiplyOperator<T>>(two, r, r);
        Elementwise.Map<T, SubtractOperator<T>>(t.Span, r, r);                  // t − 2 softplus(t)
        Elementwise.MapScalarRight<T, AddOperator<T>>(r, logL, r);              // + log λ
        int axis = Math.Max(shape.Rank - 1, 0);
        var (outer, length, _) = shape.Split(axis);
        var y = Tensor<T>.Uninitialized(shape.Rank == 0 ? shape : shape.RemoveAxis(axis));
        Reduce.Sum<T>(r, y.Span, outer, length, 1);
        if (Tape<T>.ShouldRecord(location, value))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "logistic_log_density_sum", Rule = LogDensitySumBackward, Output = y, A = location, B = value, C = t, S0 = lambda });
        return y;
    }

    /// <summary>The backward of the unfused chain, step by step: ∂/∂t = g − 2g·σ(t); ∂/∂μ = ∂/∂t; ∂/∂x = −λ·∂/∂t.</summary>
    static void LogDensitySumBackward(ref TapeEntry<T> e)
    {
        var location = e.A!; var value = e.B!;
        var shape = location.Shape;
        int length = Math.Max(shape.Last, 1);
        var gy = e.GradOut;
        var g = Scratch<T>.First(shape.Size);
        var s = Scratch<T>.Second(shape.Size);
        for (int o = 0; o < gy.Length; o++) g.Slice(o * length, length).Fill(gy[o]);   // the sum's adjoint
        TensorPrimitives.Negate(g, s);
        Elementwise.MapScalarRight<T, MultiplyOperator<T>>(s, T.CreateChecked(2.0), s);   // ∂/∂softplus = −2g
        var sigmoid = e.C!.Span;   // t is read only here, so σ(t) may replace it
        TensorPrimitives.Sigmoid(sigmoid, sigmoid);
        TensorPrimitives.MultiplyAdd(s, sigmoid, g, g);                               // ∂/∂t
        if (location.RequiresGrad) Tape<T>.Accumulate(location, g, shape, e.Op);
        if (value.RequiresGrad)
        {
            TensorPrimitives.Negate(g, s);
            Elementwise.MapScalarRight<T, MultiplyOperator<T>>(s, T.CreateChecked(e.S0), s);
            Tape<T>.Accumulate(value, s, shape, e.Op);
        }
    }

    /// <summary>2 − log λ (the standard logistic has entropy 2; dividing by λ adds −log λ).</summary>
    public Tensor<T> Entropy() => Tensor<T>.Full(BatchShape, T.CreateChecked(2 - Math.Log(Lambda)));
}
