using System.Numerics;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;

namespace Scg.Stochastic.Distributions;

/// <summary>Argument checks shared by the distributions; every message names the distribution, the argument, what was expected and what came.</summary>
static class Check
{
    /// <summary>A temperature (or other positive scale given as a number) must be positive and finite.</summary>
    public static double Temperature(double value, string distribution, string argument = "temperature")
    {
        if (!(value > 0) || double.IsPositiveInfinity(value))
            throw new ArgumentOutOfRangeException(argument, value, $"{distribution}: {argument} must be a positive finite number, got {value}.");
        return value;
    }

    public static Tensor<T> Finite<T>(Tensor<T> x, string distribution, string argument) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int i = Scan.IndexOfFailure<T, FiniteTest<T>>(x.Span);
        if (i >= 0)
            throw new ArgumentException($"{distribution}: {argument} must be finite, but element {i} of the tensor of shape {x.Shape} is {x.Span[i]}.", argument);
        return x;
    }

    /// <summary>Every element must be 0 or 1 (a Bernoulli outcome).</summary>
    public static Tensor<T> Binary<T>(Tensor<T> x, string distribution, string argument) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int i = Scan.IndexOfFailure<T, BinaryTest<T>>(x.Span);
        if (i >= 0)
            throw new ArgumentException($"{distribution}: {argument} must be 0 or 1, but element {i} of the tensor of shape {x.Shape} is {x.Span[i]}.", argument);
        return x;
    }

    public static Tensor<T> Positive<T>(Tensor<T> x, string distribution, string argument) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = x.Span;
        for (int i = 0; i < s.Length; i++)
            if (!(s[i] > T.Zero) || !T.IsFinite(s[i]))
                throw new ArgumentOutOfRangeException(argument, $"{distribution}: {argument} must be positive and finite, but element {i} of the tensor of shape {x.Shape} is {s[i]}.");
        return x;
    }

    /// <summary>Every element must lie in the open interval (0,1); <paramref name="why"/> says why the ends are excluded.</summary>
    public static Tensor<T> OpenUnitInterval<T>(Tensor<T> x, string distribution, string argument, string why) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s = x.Span;
        for (int i = 0; i < s.Length; i++)
            if (!(s[i] > T.Zero && s[i] < T.One))
                throw new ArgumentOutOfRangeException(argument,
                    $"{distribution}: {argument} must lie in (0,1) ({why}), but element {i} of the tensor of shape {x.Shape} is {s[i]}.");
        return x;
    }

    public static void RankAtLeast<T>(Tensor<T> x, int rank, string distribution, string argument) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Shape.Rank < rank)
            throw new ShapeMismatchException($"{distribution}: {argument} must have rank at least {rank} (the last axis is the event axis), got shape {x.Shape}.");
    }

    /// <summary>A shape with a last (event) axis of at least <paramref name="length"/> entries; returns the shape.</summary>
    public static Shape EventAxis(Shape shape, int length, string owner, string argument)
    {
        if (shape.Rank == 0 || shape.Last < length)
            throw new ShapeMismatchException($"{owner}: {argument} must have a last (event) axis of length at least {length}, got shape {shape}.");
        return shape;
    }

    public static void SameShape<T>(Tensor<T> x, Shape expected, string distribution, string argument, string expectedWhat) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Shape != expected)
            throw new ShapeMismatchException($"{distribution}: {argument} has shape {x.Shape}, expected {expected} ({expectedWhat}).");
    }

    /// <summary>Each row along the last axis must have entries in (0,1) that sum to 1 within <see cref="Tolerance{T}"/>.</summary>
    public static void OnOpenSimplex<T>(Tensor<T> x, string distribution, string argument, string hint) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = x.Shape.Rows, n = x.Shape.Last;
        double tolerance = Tolerance<T>(n);
        var v = x.Span;
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++)
            {
                var xk = v[r * n + k];
                if (!(xk > T.Zero && xk < T.One))
                    throw new ArgumentException($"{distribution}: {argument} must lie in the open simplex, but row {r}, class {k} is {xk} (expected in (0,1); {hint}).", argument);
                sum += double.CreateChecked(xk);
            }
            if (Math.Abs(sum - 1) > tolerance)
                throw new ArgumentException($"{distribution}: {argument} must lie on the simplex (each row sums to 1, tolerance {tolerance:G3}), but row {r} sums to {sum}.", argument);
        }
    }

    /// <summary>Each row along the last axis must be finite with log-sum-exp 0 within <see cref="Tolerance{T}"/> of its largest magnitude.</summary>
    public static void OnLogSimplex<T>(Tensor<T> value, string distribution) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Finite(value, distribution, nameof(value));
        int rows = value.Shape.Rows, n = value.Shape.Last;
        var v = value.Span;
        for (int r = 0; r < rows; r++)
        {
            var row = v.Slice(r * n, n);
            double max = double.NegativeInfinity, largest = 0, sum = 0;
            foreach (var y in row)
            {
                max = Math.Max(max, double.CreateChecked(y));
                largest = Math.Max(largest, Math.Abs(double.CreateChecked(y)));
            }
            foreach (var y in row) sum += Math.Exp(double.CreateChecked(y) - max);
            double lse = max + Math.Log(sum), tolerance = Tolerance<T>(largest);
            if (!(Math.Abs(lse) <= tolerance))
                throw new ArgumentException(
                    $"{distribution}: value must lie on the log-simplex (log-sum-exp of each row = 0, tolerance {tolerance:G3}), but row {r} has log-sum-exp {lse}.", nameof(value));
        }
    }

    /// <summary>Tolerance for "sums to 1" / "log-sum-exp is 0" checks: √ε of the element type, scaled by the magnitude involved.</summary>
    public static double Tolerance<T>(double scale) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Math.Sqrt(double.CreateChecked(T.BitIncrement(T.One) - T.One)) * (1 + scale);

    /// <summary>Shape a followed by the axes of b.</summary>
    public static Shape Concat(Shape a, Shape b)
    {
        Span<int> d = stackalloc int[a.Rank + b.Rank];
        for (int i = 0; i < a.Rank; i++) d[i] = a[i];
        for (int i = 0; i < b.Rank; i++) d[a.Rank + i] = b[i];
        return new Shape(d);
    }
}
