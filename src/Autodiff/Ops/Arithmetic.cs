using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

public static partial class Ops
{
    // ---- binary elementwise with NumPy broadcasting; backward sums back to each input's shape ------

    /// <summary>a + b</summary>
    public static Tensor<T> Add<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, AddOperator<T>>(a, b, "add", AddBackward);

    /// <summary>a - b</summary>
    public static Tensor<T> Sub<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, SubtractOperator<T>>(a, b, "sub", SubBackward);

    /// <summary>a · b elementwise</summary>
    public static Tensor<T> Mul<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, MultiplyOperator<T>>(a, b, "mul", MulBackward);

    /// <summary>a / b elementwise</summary>
    public static Tensor<T> Div<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, DivideOperator<T>>(a, b, "div", DivBackward);

    static Tensor<T> Binary<T, TOp>(Tensor<T> a, Tensor<T> b, string op, BackwardRule<T> rule)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TOp : IBinaryOperator<T>
    {
        var shape = a.Shape == b.Shape ? a.Shape : Shape.Broadcast(a.Shape, b.Shape, op);
        var y = Tensor<T>.Uninitialized(shape);
        Broadcast.Binary<T, TOp>(a.Span, a.Shape, b.Span, b.Shape, y.Span, shape);
        if (Tape<T>.ShouldRecord(a, b))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = op, Rule = rule, Output = y, A = a, B = b });
        return y;
    }

    /// <summary>Adds a gradient of the output's shape into x, summing over the axes x was broadcast along.</summary>
    static void AccumulateBroadcast<T>(Tensor<T> x, ReadOnlySpan<T> g, Shape gShape) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Broadcast.SumToAccumulate(g, gShape, Tape<T>.GradSpan(x), x.Shape);

    static void AddBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (e.A!.RequiresGrad) AccumulateBroadcast(e.A, e.GradOut, e.Output.Shape);
        if (e.B!.RequiresGrad) AccumulateBroadcast(e.B, e.GradOut, e.Output.Shape);
    }

    static void SubBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (e.A!.RequiresGrad) AccumulateBroadcast(e.A, e.GradOut, e.Output.Shape);
        if (e.B!.RequiresGrad)
        {
            var t = Scratch<T>.First(e.Output.Size);
            TensorPrimitives.Negate(e.GradOut, t);
            AccumulateBroadcast(e.B, t, e.Output.Shape);
        }
    }

    static void MulBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var shape = e.Output.Shape;
        var t = Scratch<T>.First(e.Output.Size);
        if (e.A!.RequiresGrad)
        {
            Broadcast.Binary<T, MultiplyOperator<T>>(e.GradOut, shape, e.B!.Span, e.B.Shape, t, shape);
            AccumulateBroadcast(e.A, t, shape);
        }
        if (e.B!.RequiresGrad)
        {
            Broadcast.Binary<T, MultiplyOperator<T>>(e.GradOut, shape, e.A.Span, e.A.Shape, t, shape);
            AccumulateBroadcast(e.B, t, shape);
        }
    }

    static void DivBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var shape = e.Output.Shape;
        var t = Scratch<T>.First(e.Output.Size);
        if (e.A!.RequiresGrad)
        {
            Broadcast.Binary<T, DivideOperator<T>>(e.GradOut, shape, e.B!.Span, e.B.Shape, t, shape);
            AccumulateBroadcast(e.A, t, shape);
        }
        if (e.B!.RequiresGrad)
        {
            // d(a/b)/db = -y/b
            TensorPrimitives.Multiply(e.GradOut, e.Output.Span, t);
            TensorPrimitives.Negate(t, t);
            Broadcast.Binary<T, DivideOperator<T>>(t, shape, e.B.Span, e.B.Shape, t, shape);
            AccumulateBroadcast(e.B, t, shape);
        }
    }

    // ---- selection and losses -----------------------------------------------------------------------

    /// <summary>mask ≠ 0 ? a : b elementwise; mask, a and b have one shape; the mask gets no gradient.</summary>
    public static Tensor<T> Where<T>(Tensor<T> mask, Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (mask.Shape != a.Shape || a.Shape != b.Shape)
            throw new ShapeMismatchException($"where: mask {mask.Shape}, a {a.Shape} and b {b.Shape} must have the same shape.");
        var y = Tensor<T>.Uninitialized(a.Shape);
        var m = mask.Span; var av = a.Span; var bv = b.Span; var yv = y.Span;
        for (int i = 0; i < yv.Length; i++) yv[i] = m[i] != T.Zero ? av[i] : bv[i];
        if (Tape<T>.ShouldRecord(a, b))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "where", Rule = WhereBackward, Output = y, A = a, B = b, C = mask });
        return y;
    }

    static void WhereBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var m = e.C!.Span; var dy = e.GradOut;
        if (e.A!.RequiresGrad) { var g = Tape<T>.GradSpan(e.A); for (int i = 0; i < g.Length; i++) if (m[i] != T.Zero) g[i] += dy[i]; }
        if (e.B!.RequiresGrad) { var g = Tape<T>.GradSpan(e.B); for (int i = 0; i < g.Length; i++) if (m[i] == T.Zero) g[i] += dy[i]; }
    }

    /// <summary>
    /// Elementwise binary cross-entropy of targets t given logits x: softplus(x) - x·t = -[t log σ(x) + (1-t) log(1-σ(x))], stable for any x.
    /// </summary>
    public static Tensor<T> BinaryCrossEntropyWithLogits<T>(Tensor<T> logits, Tensor<T> targets) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (logits.Shape != targets.Shape)
            throw new ShapeMismatchException($"binary_cross_entropy_with_logits: logits {logits.Shape} and targets {targets.Shape} must have the same shape.");
        var y = Tensor<T>.Uninitialized(logits.Shape);
        var ys = y.Span;
        Special.Softplus(logits.Span, ys);
        Elementwise.Map<T, SubtractProductOperator<T>>(ys, logits.Span, targets.Span, ys);
        if (Tape<T>.ShouldRecord(logits, targets))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = "bce_with_logits", Rule = BceBackward, Output = y, A = logits, B = targets });
        return y;
    }

    static void BceBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var dy = e.GradOut; var x = e.A!.Span; var t = e.B!.Span;
        if (e.A.RequiresGrad)
            InParts(static (g, x, t, dy, p) =>
            {
                var s = Scratch<T>.First(g.Length);
                TensorPrimitives.Sigmoid(x, s);
                for (int i = 0; i < g.Length; i++) g[i] += dy[i] * (s[i] - t[i]);
            }, Tape<T>.GradSpan(e.A), x, t, dy, T.Zero);
        if (e.B.RequiresGrad)
        {
            var g = Tape<T>.GradSpan(e.B);
            Elementwise.Map<T, SubtractProductOperator<T>>(g, dy, x, g);
        }
    }

    /// <summary>
    /// Σ over the last axis of the Logistic(μ, λ) log-density at x (the logit-space Binary Concrete node's log-density):
    /// log λ + t − 2 softplus(t) with t = μ − λx, the log of λe^t/(1+e^t)², finite for every finite x. The same kernels
    /// in the same order as the chain <c>t = location - value * lambda; (t - 2.0 * t.Softplus() + Math.Log(lambda)).Sum(-1)</c>,
    /// so the same bits, without that chain's intermediate tensors.
    /// </summary>
    public static Tensor<T> LogisticLogDensitySum<T>(Tensor<T> location, double lambda, Tensor<T> value) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "logistic_log_density_sum";
        if (location.Shape != value.Shape)
            throw new ShapeMismatchException($"{op}: location {location.Shape} and value {value.Shape} must have the same shape.");
        if (value.Shape.Rank == 0)
            throw new ShapeMismatchException($"{op}: sums over the last axis, so location and value need rank at least 1, got shape {value.Shape}.");
        if (!(lambda > 0) || double.IsPositiveInfinity(lambda))
            throw new ArgumentOutOfRangeException(nameof(lambda), lambda, $"{op}: lambda must be a positive finite number, got {lambda}.");
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
        var (outer, length, _) = shape.Split(shape.Rank - 1);
        var y = Tensor<T>.Uninitialized(shape.RemoveAxis(shape.Rank - 1));
        Reduce.Sum<T>(r, y.Span, outer, length, 1);
        if (Tape<T>.ShouldRecord(location, value))
            Tape<T>.Current.Record(new TapeEntry<T> { Op = op, Rule = LogisticLogDensitySumBackward, Output = y, A = location, B = value, C = t, S0 = lambda });
        return y;
    }

    /// <summary>The backward of the unfused chain, step by step: ∂/∂t = g − 2g·σ(t); ∂/∂μ = ∂/∂t; ∂/∂x = −λ·∂/∂t.</summary>
    static void LogisticLogDensitySumBackward<T>(ref TapeEntry<T> e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var location = e.A!; var value = e.B!;
        var shape = location.Shape;
        int length = shape.Last;
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
}
