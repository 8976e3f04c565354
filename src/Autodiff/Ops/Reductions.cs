using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

public static partial class Ops
{
    /// <summary>Sum of all elements (a scalar).</summary>
    public static Tensor<T> Sum<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        AxisReduction(x.Reshape(x.Size), 0, false, "sum", T.One).Reshape();

    /// <summary>Mean of all elements (a scalar).</summary>
    public static Tensor<T> Mean<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        AxisReduction(x.Reshape(x.Size), 0, false, "mean", T.One / T.CreateChecked(Math.Max(x.Size, 1))).Reshape();

    /// <summary>Sum over <paramref name="axis"/> (negative counts from the end).</summary>
    public static Tensor<T> Sum<T>(this Tensor<T> x, int axis, bool keepDim = false) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        AxisReduction(x, x.Shape.Axis(axis, "sum"), keepDim, "sum", T.One);

    /// <summary>Mean over <paramref name="axis"/>.</summary>
    public static Tensor<T> Mean<T>(this Tensor<T> x, int axis, bool keepDim = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "mean");
        return AxisReduction(x, a, keepDim, "mean", T.One / T.CreateChecked(Math.Max(x.Shape[a], 1)));
    }

    static Tensor<T> AxisReduction<T>(Tensor<T> x, int axis, bool keepDim, string op, T scale) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (outer, length, inner) = x.Shape.Split(axis);
        var y = Tensor<T>.Uninitialized(keepDim ? x.Shape.WithAxis(axis, 1) : x.Shape.RemoveAxis(axis));
        Reduce.Sum(x.Span, y.Span, outer, length, inner);
        if (scale != T.One) TensorPrimitives.Multiply(y.Span, scale, y.Span);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = op, Rule = SumBackward, Output = y, A = x, I0 = axis, S0 = double.CreateTruncating(scale) });
        return y;
    }

    static void SumBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (outer, length, inner) = e.A!.Shape.Split(e.I0);
        Reduce.SumBackward(e.GradOut, Tape<T>.GradSpan(e.A), outer, length, inner, T.CreateTruncating(e.S0));
    }

    /// <summary>Maximum of all elements; the gradient goes to the first maximal element.</summary>
    public static Tensor<T> Max<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        x.Reshape(x.Size).Max(0).Reshape();

    /// <summary>Maximum over <paramref name="axis"/>; the gradient goes to the first maximal element; NaN propagates.</summary>
    public static Tensor<T> Max<T>(this Tensor<T> x, int axis, bool keepDim = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "max");
        if (x.Shape[a] == 0) throw new ArgumentException($"max: axis {axis} of shape {x.Shape} is empty.", nameof(axis));
        var (outer, length, inner) = x.Shape.Split(a);
        var y = Tensor<T>.Uninitialized(keepDim ? x.Shape.WithAxis(a, 1) : x.Shape.RemoveAxis(a));
        var argmax = new int[outer * inner];
        Reduce.Max(x.Span, y.Span, argmax, outer, length, inner);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "max", Rule = MaxBackward, Output = y, A = x, I0 = a, Extra = argmax });
        return y;
    }

    static void MaxBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (_, length, inner) = e.A!.Shape.Split(e.I0);
        var argmax = (int[])e.Extra!;
        var g = Tape<T>.GradSpan(e.A); var dy = e.GradOut;
        for (int k = 0; k < argmax.Length; k++)
        {
            int o = k / inner, i = k % inner;
            g[(o * length + argmax[k]) * inner + i] += dy[k];
        }
    }

    /// <summary>log Σ exp(x) over <paramref name="axis"/>, shifted by the maximum (stable for large logits).</summary>
    public static Tensor<T> LogSumExp<T>(this Tensor<T> x, int axis = -1, bool keepDim = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "logsumexp");
        var (outer, length, inner) = x.Shape.Split(a);
        var y = Tensor<T>.Uninitialized(keepDim ? x.Shape.WithAxis(a, 1) : x.Shape.RemoveAxis(a));
        Reduce.LogSumExp(x.Span, y.Span, outer, length, inner);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "logsumexp", Rule = LogSumExpBackward, Output = y, A = x, I0 = a });
        return y;
    }

    static void LogSumExpBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var (outer, length, inner) = e.A!.Shape.Split(e.I0);
        Reduce.LogSumExpBackward(e.A.Span, e.Output.Span, e.GradOut, Tape<T>.GradSpan(e.A), outer, length, inner);
    }

    /// <summary>Softmax over the last axis.</summary>
    public static Tensor<T> Softmax<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireRank(x, 1, "softmax");
        var y = Tensor<T>.Uninitialized(x.Shape);
        RowWise.Softmax(x.Span, y.Span, x.Shape.Rows, x.Shape.Last);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "softmax", Rule = SoftmaxBackward, Output = y, A = x });
        return y;
    }

    static void SoftmaxBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        RowWise.SoftmaxBackward(e.Output.Span, e.GradOut, Tape<T>.GradSpan(e.A!), e.Output.Shape.Rows, e.Output.Shape.Last);

    /// <summary>Log-softmax over the last axis.</summary>
    public static Tensor<T> LogSoftmax<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireRank(x, 1, "log_softmax");
        var y = Tensor<T>.Uninitialized(x.Shape);
        RowWise.LogSoftmax(x.Span, y.Span, x.Shape.Rows, x.Shape.Last);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "log_softmax", Rule = LogSoftmaxBackward, Output = y, A = x });
        return y;
    }

    static void LogSoftmaxBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        RowWise.LogSoftmaxBackward(e.Output.Span, e.GradOut, Tape<T>.GradSpan(e.A!), e.Output.Shape.Rows, e.Output.Shape.Last);

    static void RequireRank<T>(Tensor<T> x, int minRank, string op) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Shape.Rank < minRank)
            throw new ShapeMismatchException($"{op}: needs a tensor of rank ≥ {minRank}, got shape {x.Shape}.");
    }
}
