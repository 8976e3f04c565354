using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

public static partial class Ops
{
    // ---- binary elementwise with NumPy broadcasting; backward sums back to each input's shape ------

    /// <summary>a + b</summary>
    public static Tensor<T> Add<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, AddOperator<T>, AddRecord<T>>(a, b, "add");

    /// <summary>a - b</summary>
    public static Tensor<T> Sub<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, SubtractOperator<T>, SubRecord<T>>(a, b, "sub");

    /// <summary>a · b elementwise</summary>
    public static Tensor<T> Mul<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, MultiplyOperator<T>, MulRecord<T>>(a, b, "mul");

    /// <summary>a / b elementwise</summary>
    public static Tensor<T> Div<T>(Tensor<T> a, Tensor<T> b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Binary<T, DivideOperator<T>, DivRecord<T>>(a, b, "div");

    static Tensor<T> Binary<T, TOp, TRecord>(Tensor<T> a, Tensor<T> b, string op)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TOp : IBinaryOperator<T> where TRecord : BinaryRecord<T, TRecord>, new()
    {
        var shape = a.Shape == b.Shape ? a.Shape : Shape.Broadcast(a.Shape, b.Shape, op);
        var y = Tensor<T>.Uninitialized(shape);
        Broadcast.Binary<T, TOp>(a.Span, a.Shape, b.Span, b.Shape, y.Span, shape);
        if (Tape<T>.ShouldRecord(a, b))
            Tape<T>.Current.Record(BinaryRecord<T, TRecord>.Rent(op, y, a, b));
        return y;
    }

    /// <summary>Adds a gradient of the output's shape into x, summing over the axes x was broadcast along.</summary>
    static void AccumulateBroadcast<T>(Tensor<T> x, ReadOnlySpan<T> g, Shape gShape) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Broadcast.SumToAccumulate(g, gShape, Tape<T>.GradSpan(x), x.Shape);

    /// <summary>A binary elementwise op: its two operands, either of which may have been broadcast to the output's shape.</summary>
    abstract class BinaryRecord<T, TSelf> : PooledRecord<T, TSelf> where T : unmanaged, IBinaryFloatingPointIeee754<T> where TSelf : BinaryRecord<T, TSelf>, new()
    {
        public Tensor<T> Left = null!, Right = null!;

        public static TSelf Rent(string op, Tensor<T> output, Tensor<T> left, Tensor<T> right)
        {
            var r = FromPool(op, output);
            r.Left = left;
            r.Right = right;
            return r;
        }

        public override void CheckInputs(Tape<T> tape)
        {
            tape.CheckSameTape(Left, Op);
            tape.CheckSameTape(Right, Op);
        }

        protected override void ClearReferences()
        {
            Left = null!;
            Right = null!;
        }
    }

    sealed class AddRecord<T> : BinaryRecord<T, AddRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public override void Backward()
        {
            if (Left.RequiresGrad) AccumulateBroadcast(Left, GradOut, Output.Shape);
            if (Right.RequiresGrad) AccumulateBroadcast(Right, GradOut, Output.Shape);
        }
    }

    sealed class SubRecord<T> : BinaryRecord<T, SubRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public override void Backward()
        {
            if (Left.RequiresGrad) AccumulateBroadcast(Left, GradOut, Output.Shape);
            if (Right.RequiresGrad)
            {
                var t = Scratch<T>.First(Output.Size);
                TensorPrimitives.Negate(GradOut, t);
                AccumulateBroadcast(Right, t, Output.Shape);
            }
        }
    }

    sealed class MulRecord<T> : BinaryRecord<T, MulRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public override void Backward()
        {
            var shape = Output.Shape;
            var t = Scratch<T>.First(Output.Size);
            if (Left.RequiresGrad)
            {
                Broadcast.Binary<T, MultiplyOperator<T>>(GradOut, shape, Right.Span, Right.Shape, t, shape);
                AccumulateBroadcast(Left, t, shape);
            }
            if (Right.RequiresGrad)
            {
                Broadcast.Binary<T, MultiplyOperator<T>>(GradOut, shape, Left.Span, Left.Shape, t, shape);
                AccumulateBroadcast(Right, t, shape);
            }
        }
    }

    sealed class DivRecord<T> : BinaryRecord<T, DivRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public override void Backward()
        {
            var shape = Output.Shape;
            var t = Scratch<T>.First(Output.Size);
            if (Left.RequiresGrad)
            {
                Broadcast.Binary<T, DivideOperator<T>>(GradOut, shape, Right.Span, Right.Shape, t, shape);
                AccumulateBroadcast(Left, t, shape);
            }
            if (Right.RequiresGrad)
            {
                // d(a/b)/db = -y/b
                TensorPrimitives.Multiply(GradOut, Output.Span, t);
                TensorPrimitives.Negate(t, t);
                Broadcast.Binary<T, DivideOperator<T>>(t, shape, Right.Span, Right.Shape, t, shape);
                AccumulateBroadcast(Right, t, shape);
            }
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
            Tape<T>.Current.Record(WhereRecord<T>.Rent(y, mask, a, b));
        return y;
    }

    /// <summary>where: the mask and the values taken where it is nonzero and where it is zero.</summary>
    sealed class WhereRecord<T> : PooledRecord<T, WhereRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public Tensor<T> Mask = null!, IfNonzero = null!, IfZero = null!;

        public static WhereRecord<T> Rent(Tensor<T> output, Tensor<T> mask, Tensor<T> ifNonzero, Tensor<T> ifZero)
        {
            var r = FromPool("where", output);
            r.Mask = mask;
            r.IfNonzero = ifNonzero;
            r.IfZero = ifZero;
            return r;
        }

        public override void Backward()
        {
            var m = Mask.Span; var dy = GradOut;
            if (IfNonzero.RequiresGrad) { var g = Tape<T>.GradSpan(IfNonzero); for (int i = 0; i < g.Length; i++) if (m[i] != T.Zero) g[i] += dy[i]; }
            if (IfZero.RequiresGrad) { var g = Tape<T>.GradSpan(IfZero); for (int i = 0; i < g.Length; i++) if (m[i] == T.Zero) g[i] += dy[i]; }
        }

        public override void CheckInputs(Tape<T> tape)
        {
            tape.CheckSameTape(IfNonzero, Op);
            tape.CheckSameTape(IfZero, Op);
            tape.CheckSameTape(Mask, Op);
        }

        protected override void ClearReferences()
        {
            Mask = null!;
            IfNonzero = null!;
            IfZero = null!;
        }
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
            Tape<T>.Current.Record(BceRecord<T>.Rent("bce_with_logits", y, logits, targets));
        return y;
    }

    /// <summary>A record of an op of logits (the left operand) and targets (the right), as the Bernoulli cross-entropy and likelihood take them.</summary>
    abstract class LogitsTargetsRecord<T, TSelf> : BinaryRecord<T, TSelf>
        where T : unmanaged, IBinaryFloatingPointIeee754<T> where TSelf : LogitsTargetsRecord<T, TSelf>, new()
    {
        public Tensor<T> Logits => Left;
        public Tensor<T> Targets => Right;
    }

    /// <summary>bce_with_logits: the logits and the targets.</summary>
    sealed class BceRecord<T> : LogitsTargetsRecord<T, BceRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public override void Backward()
        {
            var dy = GradOut; var x = Logits.Span; var t = Targets.Span;
            if (Logits.RequiresGrad)
                InParts(static (g, x, t, dy, p) =>
                {
                    var s = Scratch<T>.First(g.Length);
                    Special.Sigmoid(x, s);
                    for (int i = 0; i < g.Length; i++) g[i] += dy[i] * (s[i] - t[i]);
                }, Tape<T>.GradSpan(Logits), x, t, dy, T.Zero);
            if (Targets.RequiresGrad)
            {
                var g = Tape<T>.GradSpan(Targets);
                Elementwise.Map<T, SubtractProductOperator<T>>(g, dy, x, g);
            }
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
            Tape<T>.Current.Record(LogisticLogDensitySumRecord<T>.Rent(y, location, value, lambda, t));
        return y;
    }

    /// <summary>logistic_log_density_sum: μ, x, λ and the forward's t = μ − λx.</summary>
    sealed class LogisticLogDensitySumRecord<T> : PooledRecord<T, LogisticLogDensitySumRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public Tensor<T> Location = null!, Value = null!, LocationMinusScaledValue = null!;
        public double Lambda;

        public static LogisticLogDensitySumRecord<T> Rent(Tensor<T> output, Tensor<T> location, Tensor<T> value, double lambda, Tensor<T> locationMinusScaledValue)
        {
            var r = FromPool("logistic_log_density_sum", output);
            r.Location = location;
            r.Value = value;
            r.Lambda = lambda;
            r.LocationMinusScaledValue = locationMinusScaledValue;
            return r;
        }

        /// <summary>Pinned operands of the backward: the sum's adjoint (one per row of Length values), t = μ − λx
        /// (overwritten by σ(t)), the inputs' gradients (null when not required) and whether each adds to what it holds.</summary>
        unsafe struct BackwardOperands
        {
            public T* GradOut, LocationMinusScaledValue, GradLocation, GradValue;
            public int N, Length;
            public bool AccumulateLocation, AccumulateValue;
            public T Lambda;
        }

        /// <summary>
        /// The backward of the unfused chain, step by step: ∂/∂t = g − 2g·σ(t); ∂/∂μ = ∂/∂t; ∂/∂x = −λ·∂/∂t, each
        /// gradient added to what it holds or, when it holds none yet, written as 0 + value would be (the same bits,
        /// without clearing it first). Long inputs run in parts on the worker pool, cut at multiples of 64 so that
        /// every value takes the same vector path as in one pass.
        /// </summary>
        public override unsafe void Backward()
        {
            var location = Location; var value = Value;
            var ops = new BackwardOperands { N = location.Shape.Size, Length = location.Shape.Last, Lambda = T.CreateChecked(Lambda) };
            Span<T> gradLocation = location.RequiresGrad ? Tape<T>.GradSpanToWrite(location, out ops.AccumulateLocation) : default;
            Span<T> gradValue = value.RequiresGrad ? Tape<T>.GradSpanToWrite(value, out ops.AccumulateValue) : default;
            fixed (T* gy = GradOut, t = LocationMinusScaledValue.Span, gl = gradLocation, gv = gradValue)
            {
                ops.GradOut = gy;
                ops.LocationMinusScaledValue = t;
                ops.GradLocation = gl;
                ops.GradValue = gv;
                if (ops.N < Elementwise.ParallelLength || !WorkerPool.TryRun(&BackwardPart, &ops, null, WorkerPool.Parts))
                    BackwardPart(&ops, null, 0, 1);
            }
        }

        static unsafe void BackwardPart(void* operands, object? state, int part, int parts)
        {
            var o = (BackwardOperands*)operands;
            var (begin, end) = WorkerPool.Part(o->N, part, parts, 64);
            int n = end - begin, length = o->Length;
            if (n <= 0) return;
            var g = Scratch<T>.First(n);
            var s = Scratch<T>.Second(n);
            for (int i = begin; i < end;)   // the sum's adjoint, row by row
            {
                int rowEnd = Math.Min((i / length + 1) * length, end);
                g.Slice(i - begin, rowEnd - i).Fill(o->GradOut[i / length]);
                i = rowEnd;
            }
            TensorPrimitives.Negate(g, s);
            Elementwise.MapScalarRight<T, MultiplyOperator<T>>(s, T.CreateChecked(2.0), s);   // ∂/∂softplus = −2g
            var sigmoid = new Span<T>(o->LocationMinusScaledValue + begin, n);   // t is read only here, so σ(t) may replace it
            Special.Sigmoid(sigmoid, sigmoid);
            TensorPrimitives.MultiplyAdd(s, sigmoid, g, g);                               // ∂/∂t
            if (o->GradLocation != null) AddTo(new Span<T>(o->GradLocation + begin, n), g, o->AccumulateLocation);
            if (o->GradValue != null)
            {
                TensorPrimitives.Negate(g, s);
                Elementwise.MapScalarRight<T, MultiplyOperator<T>>(s, o->Lambda, s);
                AddTo(new Span<T>(o->GradValue + begin, n), s, o->AccumulateValue);
            }
        }

        /// <summary>grad += value, or grad = value + 0 (the bits of adding to a cleared buffer).</summary>
        static void AddTo(Span<T> grad, ReadOnlySpan<T> value, bool accumulate)
        {
            if (accumulate) TensorPrimitives.Add(grad, value, grad);
            else TensorPrimitives.Add(value, T.Zero, grad);
        }

        public override void CheckInputs(Tape<T> tape)
        {
            tape.CheckSameTape(Location, Op);
            tape.CheckSameTape(Value, Op);
        }

        protected override void ClearReferences()
        {
            Location = null!;
            Value = null!;
            LocationMinusScaledValue = null!;
        }
    }
}
