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
            Tape<T>.Current.Record(SumRecord<T>.Rent(op, y, x, axis, scale));
        return y;
    }

    /// <summary>sum or mean along an axis: the input, the axis and the factor applied to the sum (1, or 1/n for a mean).</summary>
    sealed class SumRecord<T> : SingleInputRecord<T, SumRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int Axis;
        public T Scale;

        public static SumRecord<T> Rent(string op, Tensor<T> output, Tensor<T> input, int axis, T scale)
        {
            var r = FromPool(op, output, input);
            r.Axis = axis;
            r.Scale = scale;
            return r;
        }

        public override void Backward()
        {
            var (outer, length, inner) = Input.Shape.Split(Axis);
            Reduce.SumBackward(GradOut, Tape<T>.GradSpan(Input), outer, length, inner, Scale);
        }
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
            Tape<T>.Current.Record(MaxRecord<T>.Rent(y, x, a, argmax));
        return y;
    }

    /// <summary>max along an axis: the input, the axis and, per output element, the index along the axis of the first maximum.</summary>
    sealed class MaxRecord<T> : SingleInputRecord<T, MaxRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int Axis;
        public int[] ArgMax = null!;

        public static MaxRecord<T> Rent(Tensor<T> output, Tensor<T> input, int axis, int[] argMax)
        {
            var r = FromPool("max", output, input);
            r.Axis = axis;
            r.ArgMax = argMax;
            return r;
        }

        public override void Backward()
        {
            var (_, length, inner) = Input.Shape.Split(Axis);
            var argmax = ArgMax;
            var g = Tape<T>.GradSpan(Input); var dy = GradOut;
            for (int k = 0; k < argmax.Length; k++)
            {
                int o = k / inner, i = k % inner;
                g[(o * length + argmax[k]) * inner + i] += dy[k];
            }
        }

        protected override void ClearReferences()
        {
            base.ClearReferences();
            ArgMax = null!;
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
            Tape<T>.Current.Record(LogSumExpRecord<T>.Rent(y, x, a));
        return y;
    }

    /// <summary>logsumexp along an axis: the input and the axis.</summary>
    sealed class LogSumExpRecord<T> : SingleInputRecord<T, LogSumExpRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int Axis;

        public static LogSumExpRecord<T> Rent(Tensor<T> output, Tensor<T> input, int axis)
        {
            var r = FromPool("logsumexp", output, input);
            r.Axis = axis;
            return r;
        }

        public override void Backward()
        {
            var (outer, length, inner) = Input.Shape.Split(Axis);
            Reduce.LogSumExpBackward(Input.Span, Output.Span, GradOut, Tape<T>.GradSpan(Input), outer, length, inner);
        }
    }

    /// <summary>Softmax over the last axis.</summary>
    public static Tensor<T> Softmax<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireRank(x, 1, "softmax");
        var y = Tensor<T>.Uninitialized(x.Shape);
        RowWise.Softmax(x.Span, y.Span, x.Shape.Rows, x.Shape.Last);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(SoftmaxRecord<T>.Rent(y, x));
        return y;
    }

    /// <summary>softmax over the last axis: the input (backward reads the output).</summary>
    sealed class SoftmaxRecord<T> : SingleInputRecord<T, SoftmaxRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static SoftmaxRecord<T> Rent(Tensor<T> output, Tensor<T> input) =>
            FromPool("softmax", output, input);

        public override void Backward() =>
            RowWise.SoftmaxBackward(Output.Span, GradOut, Tape<T>.GradSpan(Input), Output.Shape.Rows, Output.Shape.Last);
    }

    /// <summary>Log-softmax over the last axis.</summary>
    public static Tensor<T> LogSoftmax<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireRank(x, 1, "log_softmax");
        var y = Tensor<T>.Uninitialized(x.Shape);
        RowWise.LogSoftmax(x.Span, y.Span, x.Shape.Rows, x.Shape.Last);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(LogSoftmaxRecord<T>.Rent(y, x));
        return y;
    }

    /// <summary>log_softmax over the last axis: the input (backward reads the output).</summary>
    sealed class LogSoftmaxRecord<T> : SingleInputRecord<T, LogSoftmaxRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static LogSoftmaxRecord<T> Rent(Tensor<T> output, Tensor<T> input) =>
            FromPool("log_softmax", output, input);

        public override void Backward() =>
            RowWise.LogSoftmaxBackward(Output.Span, GradOut, Tape<T>.GradSpan(Input), Output.Shape.Rows, Output.Shape.Last);
    }

    static void RequireRank<T>(Tensor<T> x, int minRank, string op) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Shape.Rank < minRank)
            throw new ShapeMismatchException($"{op}: needs a tensor of rank ≥ {minRank}, got shape {x.Shape}.");
    }
}
