using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>Accurate special functions over spans (log1p, expm1, softplus) and sampling transforms.</summary>
internal static class Special
{
    /// <summary>log(1 + x), accurate for small |x| (Goldberg's correction of log(1+x)·x/((1+x)-1)).</summary>
    public static T Log1p<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        if (u == T.One) return x;
        if (T.IsPositiveInfinity(u)) return u;
        return T.Log(u) * (x / (u - T.One)); // x/(u-1) ≈ 1: log(u)·x would overflow for x near the maximum
    }

    /// <summary>e^x - 1, accurate for small |x| (Kahan's correction (u-1)·x/log u).</summary>
    public static T Expm1<T>(T x) where T : IFloatingPointIeee754<T>
    {
        T u = T.Exp(x);
        if (u == T.One) return x;
        T um1 = u - T.One;
        if (um1 == -T.One || T.IsPositiveInfinity(u)) return um1;
        return um1 * (x / T.Log(u)); // x/log(u) ≈ 1: (u-1)·x would overflow for e^x near the maximum
    }

    /// <summary>log(1 + e^x) = max(x,0) + log1p(e^-|x|), stable for any x; NaN stays NaN.</summary>
    public static T Softplus<T>(T x) where T : IFloatingPointIeee754<T>
        => T.MaxNumber(x, T.Zero) + Log1p(T.Exp(-T.Abs(x))) + (T.IsNaN(x) ? x : T.Zero);

    /// <summary>y = log1p(x), vectorized with the same correction as the scalar form.</summary>
    public static void Log1p<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, Log1pOperator<T>>(x, y);

    public static void Expm1<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = Expm1(x[i]);
    }

    /// <summary>y = softplus(x), vectorized.</summary>
    public static void Softplus<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> =>
        Elementwise.Map<T, SoftplusOperator<T>>(x, y);

    /// <summary>y = σ(x): float spans by <see cref="FloatMath.Sigmoid"/>, double spans by TensorPrimitives.</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) Elementwise.Map<float, FloatSigmoidOperator>(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
        else TensorPrimitives.Sigmoid(x, y);
    }

    /// <summary>y = tanh x: float spans by <see cref="FloatMath.Tanh"/>, double spans by TensorPrimitives.</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) Elementwise.Map<float, FloatTanhOperator>(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(y));
        else TensorPrimitives.Tanh(x, y);
    }

    /// <summary>Turns uniform draws in (0,1) into standard Gumbel draws, in place: -log(-log U); in parts on the pool
    /// when long (<see cref="Elementwise.ParallelLength"/>).</summary>
    public static unsafe void GumbelFromUniform<T>(Span<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* pg = g)
        {
            var o = new Elementwise.Operands<T> { Y = pg, N = g.Length };
            if (!Elementwise.TrySplit(&InPlacePart<T, GumbelTransform<T>>, ref o)) GumbelTransform<T>.Apply(g);
        }
    }

    /// <summary>Turns uniform draws in (0,1) into standard logistic draws, in place: log U - log1p(-U); in parts on
    /// the pool when long.</summary>
    public static unsafe void LogisticFromUniform<T>(Span<T> l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* pl = l)
        {
            var o = new Elementwise.Operands<T> { Y = pl, N = l.Length };
            if (!Elementwise.TrySplit(&InPlacePart<T, LogisticTransform<T>>, ref o)) LogisticTransform<T>.Apply(l);
        }
    }

    static unsafe void InPlacePart<T, TTransform>(void* operands, object? state, int part, int parts)
        where T : unmanaged where TTransform : IInPlaceTransform<T>
    {
        var (i, n) = Elementwise.Range<T>(operands, part, parts);
        TTransform.Apply(new Span<T>(((Elementwise.Operands<T>*)operands)->Y + i, n));
    }

    interface IInPlaceTransform<T> where T : unmanaged { static abstract void Apply(Span<T> x); }

    readonly struct GumbelTransform<T> : IInPlaceTransform<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Apply(Span<T> g)
        {
            if (typeof(T) == typeof(float))
            {
                var f = MemoryMarshal.Cast<T, float>(g);
                Elementwise.Map<float, FloatGumbelOperator>(f, f);
                return;
            }
            TensorPrimitives.Log(g, g);
            TensorPrimitives.Negate(g, g);
            TensorPrimitives.Log(g, g);
            TensorPrimitives.Negate(g, g);
        }
    }

    readonly struct LogisticTransform<T> : IInPlaceTransform<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static void Apply(Span<T> l)
        {
            if (typeof(T) == typeof(float))
            {
                var f = MemoryMarshal.Cast<T, float>(l);
                Elementwise.Map<float, FloatLogisticOperator>(f, f);
                return;
            }
            var log1m = Scratch<T>.First(l.Length);   // per thread: each part has its own
            TensorPrimitives.Negate(l, log1m);
            Log1p<T>(log1m, log1m);
            TensorPrimitives.Log(l, l);
            TensorPrimitives.Subtract(l, log1m, l);
        }
    }
}

/// <summary>log(1 + x) with Goldberg's correction log(u)·(x/(u-1)), u = 1 + x (exact x where u rounds to 1).</summary>
internal readonly struct Log1pOperator<T> : IUnaryOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x) => Special.Log1p(x);

    public static Vector128<T> Invoke(Vector128<T> x)
    {
        var u = Vector128<T>.One + x;
        var d = u - Vector128<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector128.ConditionalSelect(Vector128.Equals(d, Vector128<T>.Zero), x, r);
        return Vector128.ConditionalSelect(Vector128.Equals(u, Vector128.Create(T.PositiveInfinity)), u, r);
    }

    public static Vector256<T> Invoke(Vector256<T> x)
    {
        var u = Vector256<T>.One + x;
        var d = u - Vector256<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector256.ConditionalSelect(Vector256.Equals(d, Vector256<T>.Zero), x, r);
        return Vector256.ConditionalSelect(Vector256.Equals(u, Vector256.Create(T.PositiveInfinity)), u, r);
    }

    public static Vector512<T> Invoke(Vector512<T> x)
    {
        var u = Vector512<T>.One + x;
        var d = u - Vector512<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector512.ConditionalSelect(Vector512.Equals(d, Vector512<T>.Zero), x, r);
        return Vector512.ConditionalSelect(Vector512.Equals(u, Vector512.Create(T.PositiveInfinity)), u, r);
    }
}

/// <summary>
/// softplus(x) = max(x, 0) + log1p(e^-|x|); NaN propagates through the IEEE maximum. Float vectors take
/// <see cref="FloatMath.Softplus"/>, computed in float lanes.
/// </summary>
internal readonly struct SoftplusOperator<T> : IUnaryOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static T Invoke(T x) => Special.Softplus(x);

    public static Vector128<T> Invoke(Vector128<T> x) => typeof(T) == typeof(float)
        ? FloatMath.Softplus<FloatVector128, Vector128<float>>(x.AsSingle()).As<float, T>()
        : Vector128.Max(x, Vector128<T>.Zero) + Log1pOperator<T>.Invoke(VectorMath.Exp(-Vector128.Abs(x)));

    public static Vector256<T> Invoke(Vector256<T> x) => typeof(T) == typeof(float)
        ? FloatMath.Softplus<FloatVector256, Vector256<float>>(x.AsSingle()).As<float, T>()
        : Vector256.Max(x, Vector256<T>.Zero) + Log1pOperator<T>.Invoke(VectorMath.Exp(-Vector256.Abs(x)));

    public static Vector512<T> Invoke(Vector512<T> x) => typeof(T) == typeof(float)
        ? FloatMath.Softplus<FloatVector512, Vector512<float>>(x.AsSingle()).As<float, T>()
        : Vector512.Max(x, Vector512<T>.Zero) + Log1pOperator<T>.Invoke(VectorMath.Exp(-Vector512.Abs(x)));
}

/// <summary>σ(x) of floats: the scalar tail by MathF, vectors by <see cref="FloatMath.Sigmoid"/>.</summary>
internal readonly struct FloatSigmoidOperator : IUnaryOperator<float>
{
    public static float Invoke(float x)
    {
        float e = MathF.Exp(-MathF.Abs(x));
        return (x >= 0 ? 1 : e) / (1 + e);
    }

    public static Vector128<float> Invoke(Vector128<float> x) => FloatMath.Sigmoid<FloatVector128, Vector128<float>>(x);
    public static Vector256<float> Invoke(Vector256<float> x) => FloatMath.Sigmoid<FloatVector256, Vector256<float>>(x);
    public static Vector512<float> Invoke(Vector512<float> x) => FloatMath.Sigmoid<FloatVector512, Vector512<float>>(x);
}

/// <summary>tanh of floats: the scalar tail by MathF, vectors by <see cref="FloatMath.Tanh"/>.</summary>
internal readonly struct FloatTanhOperator : IUnaryOperator<float>
{
    public static float Invoke(float x) => MathF.Tanh(x);
    public static Vector128<float> Invoke(Vector128<float> x) => FloatMath.Tanh<FloatVector128, Vector128<float>>(x);
    public static Vector256<float> Invoke(Vector256<float> x) => FloatMath.Tanh<FloatVector256, Vector256<float>>(x);
    public static Vector512<float> Invoke(Vector512<float> x) => FloatMath.Tanh<FloatVector512, Vector512<float>>(x);
}

/// <summary>
/// −log(−log u) of float uniform draws u in [2^-24, 1 − 2^-24] (both logs of positive normal floats): the scalar tail
/// by MathF, vectors by <see cref="FloatMath.LogPositiveNormal"/>.
/// </summary>
internal readonly struct FloatGumbelOperator : IUnaryOperator<float>
{
    public static float Invoke(float u) => -MathF.Log(-MathF.Log(u));
    public static Vector128<float> Invoke(Vector128<float> u) => -FloatMath.LogPositiveNormal<FloatVector128, Vector128<float>>(-FloatMath.LogPositiveNormal<FloatVector128, Vector128<float>>(u));
    public static Vector256<float> Invoke(Vector256<float> u) => -FloatMath.LogPositiveNormal<FloatVector256, Vector256<float>>(-FloatMath.LogPositiveNormal<FloatVector256, Vector256<float>>(u));
    public static Vector512<float> Invoke(Vector512<float> u) => -FloatMath.LogPositiveNormal<FloatVector512, Vector512<float>>(-FloatMath.LogPositiveNormal<FloatVector512, Vector512<float>>(u));
}

/// <summary>
/// log u − log(1 − u) of float uniform draws u, odd multiples of 2^-24, for which 1 − u is exact: the scalar tail by
/// MathF, vectors by <see cref="FloatMath.LogPositiveNormal"/>.
/// </summary>
internal readonly struct FloatLogisticOperator : IUnaryOperator<float>
{
    public static float Invoke(float u) => MathF.Log(u) - MathF.Log(1 - u);
    public static Vector128<float> Invoke(Vector128<float> u) =>
        FloatMath.LogPositiveNormal<FloatVector128, Vector128<float>>(u) - FloatMath.LogPositiveNormal<FloatVector128, Vector128<float>>(Vector128<float>.One - u);
    public static Vector256<float> Invoke(Vector256<float> u) =>
        FloatMath.LogPositiveNormal<FloatVector256, Vector256<float>>(u) - FloatMath.LogPositiveNormal<FloatVector256, Vector256<float>>(Vector256<float>.One - u);
    public static Vector512<float> Invoke(Vector512<float> u) =>
        FloatMath.LogPositiveNormal<FloatVector512, Vector512<float>>(u) - FloatMath.LogPositiveNormal<FloatVector512, Vector512<float>>(Vector512<float>.One - u);
}
