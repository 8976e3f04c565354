using System.Numerics;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;

namespace Scg.Stochastic.Distributions;

/// <summary>The discrete ends of relaxed graphs: unit step, argmax one-hot, and the straight-through combination.</summary>
public static class Hard
{
    /// <summary>H(y): 1 where y &gt; 0, else 0 (a constant).</summary>
    public static Tensor<T> Step<T>(Tensor<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var h = Tensor<T>.Uninitialized(y.Shape);
        Elementwise.Map<T, StepOperator<T>>(y.Span, h.Span);
        return h;
    }

    /// <summary>Index of the largest entry of each row along the last axis (the first one on ties).</summary>
    public static int[] ArgMax<T>(Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = x.Shape.Rows, n = x.Shape.Last;
        var xs = x.Span;
        var index = new int[rows];
        for (int r = 0; r < rows; r++) index[r] = ArgMaxOfRow<T>(xs.Slice(r * n, n));
        return index;
    }

    /// <summary>One-hot of the argmax along the last axis, in x's shape (a constant).</summary>
    public static Tensor<T> ArgMaxOneHot<T>(Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = x.Shape.Rows, n = x.Shape.Last;
        var h = Tensor<T>.Uninitialized(x.Shape);
        var xs = x.Span;
        var hs = h.Span;
        hs.Clear();
        for (int r = 0; r < rows; r++) hs[r * n + ArgMaxOfRow<T>(xs.Slice(r * n, n))] = T.One;
        return h;
    }

    static int ArgMaxOfRow<T>(ReadOnlySpan<T> row) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int best = 0;
        for (int k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
        return best;
    }

    /// <summary>One-hot rows of the given shape (last axis = number of classes) with a 1 at each index.</summary>
    public static Tensor<T> OneHot<T>(int[] index, Shape shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var h = Tensor<T>.Uninitialized(shape);
        h.Span.Clear();
        var hs = h.Span;
        int n = shape.Last;
        for (int r = 0; r < index.Length; r++) hs[r * n + index[r]] = T.One;
        return h;
    }

    /// <summary>
    /// hard forward, gradient of relaxed backward: hard + (relaxed − StopGradient(relaxed)). The same gradient as
    /// relaxed + StopGradient(hard − relaxed), but the forward value is exactly hard (relaxed − relaxed is exactly 0).
    /// </summary>
    public static Tensor<T> StraightThrough<T>(Tensor<T> hard, Tensor<T> relaxed) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        hard + (relaxed - relaxed.StopGradient());
}
