using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

/// <summary>y = f(x) over spans.</summary>
internal delegate void SpanMap<T>(ReadOnlySpan<T> x, Span<T> y);

/// <summary>y = f(x; p) over spans for a constant parameter p.</summary>
internal delegate void SpanMapWithParameter<T>(ReadOnlySpan<T> x, Span<T> y, T p);

/// <summary>g += f'(x)·dy, given the input x, the output y and the parameter p of the op.</summary>
internal delegate void DerivativeAccumulate<T>(Span<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, T p);

/// <summary>Differentiable ops. Each checks shapes, computes with a kernel and records what backward needs.</summary>
public static partial class Ops
{
    // ---- unary elementwise: forward and derivative side by side ----------------------------------

    /// <summary>-x</summary>
    public static Tensor<T> Neg<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "neg", TensorPrimitives.Negate, static (g, x, y, dy, p) => TensorPrimitives.Subtract(g, dy, g));

    /// <summary>e^x</summary>
    public static Tensor<T> Exp<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "exp", TensorPrimitives.Exp, static (g, x, y, dy, p) => TensorPrimitives.MultiplyAdd(dy, y, g, g));

    /// <summary>natural log</summary>
    public static Tensor<T> Log<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "log", TensorPrimitives.Log, static (g, x, y, dy, p) =>
        {
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] / x[i];
        });

    /// <summary>log(1 + x), accurate near 0</summary>
    public static Tensor<T> Log1p<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "log1p", Special.Log1p, static (g, x, y, dy, p) =>
        {
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] / (T.One + x[i]);
        });

    /// <summary>e^x - 1, accurate near 0</summary>
    public static Tensor<T> Expm1<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "expm1", Special.Expm1, static (g, x, y, dy, p) =>
        {
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] * (y[i] + T.One);
        });

    /// <summary>√x</summary>
    public static Tensor<T> Sqrt<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "sqrt", TensorPrimitives.Sqrt, static (g, x, y, dy, p) =>
        {
            T half = T.CreateTruncating(0.5);
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] * half / y[i];
        });

    /// <summary>x^p for a constant exponent p</summary>
    public static Tensor<T> Pow<T>(this Tensor<T> x, double p) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "pow", static (x, y, p) => TensorPrimitives.Pow(x, p, y), static (g, x, y, dy, p) =>
        {
            T pm1 = p - T.One;
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] * p * T.Pow(x[i], pm1);
        }, T.CreateChecked(p));

    /// <summary>x²</summary>
    public static Tensor<T> Square<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "square", static (x, y) => TensorPrimitives.Multiply(x, x, y), static (g, x, y, dy, p) =>
        {
            for (int i = 0; i < g.Length; i++) g[i] += (dy[i] + dy[i]) * x[i];
        });

    /// <summary>|x| (derivative sign(x), 0 at 0)</summary>
    public static Tensor<T> Abs<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "abs", TensorPrimitives.Abs, static (g, x, y, dy, p) =>
        {
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] * T.CreateTruncating(T.Sign(x[i]));
        });

    /// <summary>tanh x</summary>
    public static Tensor<T> Tanh<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "tanh", Special.Tanh, static (g, x, y, dy, p) => Elementwise.Map<T, TanhGradAccumulate<T>>(g, y, dy, g));

    /// <summary>σ(x) = 1/(1+e^-x)</summary>
    public static Tensor<T> Sigmoid<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "sigmoid", Special.Sigmoid, static (g, x, y, dy, p) => Elementwise.Map<T, SigmoidGradAccumulate<T>>(g, y, dy, g));

    /// <summary>log σ(x) = -softplus(-x)</summary>
    public static Tensor<T> LogSigmoid<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "logsigmoid", static (x, y) =>
        {
            TensorPrimitives.Negate(x, y);
            Special.Softplus(y, y);
            TensorPrimitives.Negate(y, y);
        }, static (g, x, y, dy, p) =>
        {
            // d/dx log σ(x) = σ(-x) = e^(y - x)
            var t = Scratch<T>.Second(g.Length);
            TensorPrimitives.Subtract(y, x, t);
            TensorPrimitives.Exp(t, t);
            TensorPrimitives.MultiplyAdd(dy, t, g, g);
        });

    /// <summary>softplus(x) = log(1 + e^x), stable</summary>
    public static Tensor<T> Softplus<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "softplus", Special.Softplus, static (g, x, y, dy, p) =>
        {
            var t = Scratch<T>.Second(g.Length);
            Special.Sigmoid(x, t);
            TensorPrimitives.MultiplyAdd(dy, t, g, g);
        });

    /// <summary>max(x, 0); the derivative is gated on the input's sign</summary>
    public static Tensor<T> Relu<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Unary(x, "relu", Elementwise.Map<T, ReluOperator<T>>, static (g, x, y, dy, p) => Elementwise.Map<T, ReluGradAccumulate<T>>(g, x, dy, g));

    /// <summary>min(max(x, lo), hi); NaN stays NaN; the derivative is 1 inside [lo, hi] and 0 outside</summary>
    public static Tensor<T> Clamp<T>(this Tensor<T> x, double lo, double hi) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (!(lo <= hi)) throw new ArgumentException($"clamp: lower bound {lo} must not exceed upper bound {hi}.", nameof(lo));
        T l = T.CreateChecked(lo), h = T.CreateChecked(hi);
        var y = Tensor<T>.Uninitialized(x.Shape);
        var xs = x.Span; var ys = y.Span;
        for (int i = 0; i < xs.Length; i++) ys[i] = xs[i] < l ? l : xs[i] > h ? h : xs[i];
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(ClampRecord<T>.Rent(y, x, lo, hi));
        return y;
    }

    /// <summary>clamp: the input and the bounds.</summary>
    sealed class ClampRecord<T> : SingleInputRecord<T, ClampRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public double Lower, Upper;

        public static ClampRecord<T> Rent(Tensor<T> output, Tensor<T> input, double lower, double upper)
        {
            var r = FromPool("clamp", output, input);
            r.Lower = lower;
            r.Upper = upper;
            return r;
        }

        public override void Backward()
        {
            T l = T.CreateChecked(Lower), h = T.CreateChecked(Upper);
            var x = Input.Span; var dy = GradOut; var g = Tape<T>.GradSpan(Input);
            for (int i = 0; i < g.Length; i++) if (x[i] >= l && x[i] <= h) g[i] += dy[i];
        }
    }

    /// <summary>The same values with no gradient flowing back (the score-function estimators' building block).</summary>
    public static Tensor<T> StopGradient<T>(this Tensor<T> x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => x.Detach();

    static Tensor<T> Unary<T>(Tensor<T> x, string op, SpanMap<T> forward, DerivativeAccumulate<T> derivative)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(x.Shape);
        InParts(forward, x.Span, y.Span);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(UnaryRecord<T>.Rent(op, y, x, derivative, T.Zero));
        return y;
    }

    static Tensor<T> Unary<T>(Tensor<T> x, string op, SpanMapWithParameter<T> forward, DerivativeAccumulate<T> derivative, T p)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(x.Shape);
        forward(x.Span, y.Span, p);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(UnaryRecord<T>.Rent(op, y, x, derivative, p));
        return y;
    }

    /// <summary>A unary elementwise op: the input, the derivative declared beside the forward, and its constant parameter (0 when it has none).</summary>
    sealed class UnaryRecord<T> : SingleInputRecord<T, UnaryRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public DerivativeAccumulate<T> Derivative = null!;
        public T Parameter;

        public static UnaryRecord<T> Rent(string op, Tensor<T> output, Tensor<T> input, DerivativeAccumulate<T> derivative, T parameter)
        {
            var r = FromPool(op, output, input);
            r.Derivative = derivative;
            r.Parameter = parameter;
            return r;
        }

        public override void Backward() => InParts(Derivative, Tape<T>.GradSpan(Input), Input.Span, Output.Span, GradOut, Parameter);

        protected override void ClearReferences()
        {
            base.ClearReferences();
            Derivative = null!;
        }
    }

    /// <summary>
    /// forward(x, y), cut over the worker pool when long (see <see cref="Elementwise.ParallelLength"/>); each value
    /// takes the same vector path, so the bits equal those of one call.
    /// </summary>
    static unsafe void InParts<T>(SpanMap<T> forward, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged
    {
        fixed (T* px = x, py = y)
        {
            var o = new Elementwise.Operands<T> { A = px, Y = py, N = y.Length };
            if (!Elementwise.TrySplit(&MapPart<T>, ref o, forward)) forward(x, y);
        }
    }

    static unsafe void MapPart<T>(void* operands, object? forward, int part, int parts) where T : unmanaged
    {
        var o = (Elementwise.Operands<T>*)operands;
        var (i, n) = Elementwise.Range<T>(operands, part, parts);
        ((SpanMap<T>)forward!)(new ReadOnlySpan<T>(o->A + i, n), new Span<T>(o->Y + i, n));
    }

    /// <summary>derivative(g, x, y, dy, p) in parts, as <see cref="InParts{T}(SpanMap{T}, ReadOnlySpan{T}, Span{T})"/>.</summary>
    static unsafe void InParts<T>(DerivativeAccumulate<T> derivative, Span<T> g, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, T p) where T : unmanaged
    {
        fixed (T* pg = g, px = x, py = y, pdy = dy)
        {
            var o = new Elementwise.Operands<T> { Y = pg, A = px, B = py, C = pdy, N = g.Length, S = p };
            if (!Elementwise.TrySplit(&DerivativePart<T>, ref o, derivative)) derivative(g, x, y, dy, p);
        }
    }

    static unsafe void DerivativePart<T>(void* operands, object? derivative, int part, int parts) where T : unmanaged
    {
        var o = (Elementwise.Operands<T>*)operands;
        var (i, n) = Elementwise.Range<T>(operands, part, parts);
        ((DerivativeAccumulate<T>)derivative!)(new Span<T>(o->Y + i, n), new ReadOnlySpan<T>(o->A + i, n), new ReadOnlySpan<T>(o->B + i, n),
            new ReadOnlySpan<T>(o->C + i, n), o->S);
    }
}
