using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>The float vector operations <see cref="FloatMath"/> is written in, for one vector width.</summary>
internal interface IFloatVector<TV> where TV : struct
{
    static abstract TV Splat(float c);
    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);
    static abstract TV Divide(TV a, TV b);
    /// <summary>a·b + c, fused where the hardware has FMA.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);
    /// <summary>IEEE maximum: NaN in either operand gives NaN.</summary>
    static abstract TV Max(TV a, TV b);
    static abstract TV NegativeAbs(TV a);
    static abstract TV CopySign(TV magnitude, TV sign);
    /// <summary>Per lane: whenNonNegative where x ≥ 0, otherwise (NaN included) otherwise.</summary>
    static abstract TV IfNonNegative(TV x, TV whenNonNegative, TV otherwise);
    static abstract TV Round(TV a);
    static abstract TV Floor(TV a);
    /// <summary>2^n for integral n in [-126, 127].</summary>
    static abstract TV Pow2(TV n);
    /// <summary>For positive normal x: x = 2^k · m with m in [√½, √2); returns k, sets m (integer operations on the bits).</summary>
    static abstract TV Decompose(TV x, out TV mantissa);
}

internal readonly struct FloatVector128 : IFloatVector<Vector128<float>>
{
    public static Vector128<float> Splat(float c) => Vector128.Create(c);
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    public static Vector128<float> Divide(Vector128<float> a, Vector128<float> b) => a / b;
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    public static Vector128<float> NegativeAbs(Vector128<float> a) => -Vector128.Abs(a);
    public static Vector128<float> CopySign(Vector128<float> magnitude, Vector128<float> sign) => Vector128.CopySign(magnitude, sign);
    public static Vector128<float> IfNonNegative(Vector128<float> x, Vector128<float> whenNonNegative, Vector128<float> otherwise) =>
        Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x, Vector128<float>.Zero), whenNonNegative, otherwise);
    public static Vector128<float> Round(Vector128<float> a) => Vector128.Round(a);
    public static Vector128<float> Floor(Vector128<float> a) => Vector128.Floor(a);
    public static Vector128<float> Pow2(Vector128<float> n) => ((Vector128.ConvertToInt32(n) + Vector128.Create(127)) << 23).AsSingle();
    public static Vector128<float> Decompose(Vector128<float> x, out Vector128<float> mantissa)
    {
        var shifted = x.AsInt32() - Vector128.Create(FloatMath.SqrtHalfBits);
        mantissa = ((shifted & Vector128.Create(0x007FFFFF)) + Vector128.Create(FloatMath.SqrtHalfBits)).AsSingle();
        return Vector128.ConvertToSingle(shifted >> 23);
    }
}

internal readonly struct FloatVector256 : IFloatVector<Vector256<float>>
{
    public static Vector256<float> Splat(float c) => Vector256.Create(c);
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    public static Vector256<float> NegativeAbs(Vector256<float> a) => -Vector256.Abs(a);
    public static Vector256<float> CopySign(Vector256<float> magnitude, Vector256<float> sign) => Vector256.CopySign(magnitude, sign);
    public static Vector256<float> IfNonNegative(Vector256<float> x, Vector256<float> whenNonNegative, Vector256<float> otherwise) =>
        Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), whenNonNegative, otherwise);
    public static Vector256<float> Round(Vector256<float> a) => Vector256.Round(a);
    public static Vector256<float> Floor(Vector256<float> a) => Vector256.Floor(a);
    public static Vector256<float> Pow2(Vector256<float> n) => ((Vector256.ConvertToInt32(n) + Vector256.Create(127)) << 23).AsSingle();
    public static Vector256<float> Decompose(Vector256<float> x, out Vector256<float> mantissa)
    {
        var shifted = x.AsInt32() - Vector256.Create(FloatMath.SqrtHalfBits);
        mantissa = ((shifted & Vector256.Create(0x007FFFFF)) + Vector256.Create(FloatMath.SqrtHalfBits)).AsSingle();
        return Vector256.ConvertToSingle(shifted >> 23);
    }
}

internal readonly struct FloatVector512 : IFloatVector<Vector512<float>>
{
    public static Vector512<float> Splat(float c) => Vector512.Create(c);
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.MultiplyAddEstimate(a, b, c);
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    public static Vector512<float> NegativeAbs(Vector512<float> a) => -Vector512.Abs(a);
    public static Vector512<float> CopySign(Vector512<float> magnitude, Vector512<float> sign) => Vector512.CopySign(magnitude, sign);
    public static Vector512<float> IfNonNegative(Vector512<float> x, Vector512<float> whenNonNegative, Vector512<float> otherwise) =>
        Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), whenNonNegative, otherwise);
    public static Vector512<float> Round(Vector512<float> a) => Vector512.Round(a);
    public static Vector512<float> Floor(Vector512<float> a) => Vector512.Floor(a);
    public static Vector512<float> Pow2(Vector512<float> n) => ((Vector512.ConvertToInt32(n) + Vector512.Create(127)) << 23).AsSingle();
    public static Vector512<float> Decompose(Vector512<float> x, out Vector512<float> mantissa)
    {
        var shifted = x.AsInt32() - Vector512.Create(FloatMath.SqrtHalfBits);
        mantissa = ((shifted & Vector512.Create(0x007FFFFF)) + Vector512.Create(FloatMath.SqrtHalfBits)).AsSingle();
        return Vector512.ConvertToSingle(shifted >> 23);
    }
}

/// <summary>
/// Vector float functions with short float polynomials, cheaper than the runtime's exp and log: e^t and e^t − 1 for
/// t ≤ 0, log of positive normal floats, softplus, the logistic sigmoid and tanh, each within 2.5 ulp; one kernel for
/// every width.
/// </summary>
internal static class FloatMath
{
    const float Log2E = 1.44269504f;
    const float Ln2High = 0.693145751953125f;            // ln 2 to 16 bits: n·Ln2High is exact for |n| < 2^8
    const float Ln2Low = 1.42860676533018704e-06f;       // ln 2 − Ln2High
    /// <summary>The bits of the float nearest √½: subtracted from a float's bits, it moves the exponent's boundary there.</summary>
    internal const int SqrtHalfBits = 0x3F3504F3;

    /// <summary>
    /// For t ≤ 0 (NaN stays NaN): writes t = n ln 2 + r with |r| ≤ ln 2 / 2, returns e^r − 1 by its Taylor series to
    /// r^8 (relative error below 2^-26) and sets scale = 2^n, exact down to 2^-149 and 0 below.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV ExpMinusOneOfRemainder<TL, TV>(TV t, out TV scale) where TL : IFloatVector<TV> where TV : struct
    {
        t = TL.Max(t, TL.Splat(-110f));                    // e^-110 is below half the smallest subnormal
        var n = TL.Round(TL.Multiply(t, TL.Splat(Log2E)));
        var r = TL.MultiplyAdd(n, TL.Splat(-Ln2High), t);
        r = TL.MultiplyAdd(n, TL.Splat(-Ln2Low), r);
        var p = TL.Splat(1f / 40320);
        p = TL.MultiplyAdd(p, r, TL.Splat(1f / 5040));
        p = TL.MultiplyAdd(p, r, TL.Splat(1f / 720));
        p = TL.MultiplyAdd(p, r, TL.Splat(1f / 120));
        p = TL.MultiplyAdd(p, r, TL.Splat(1f / 24));
        p = TL.MultiplyAdd(p, r, TL.Splat(1f / 6));
        p = TL.MultiplyAdd(p, r, TL.Splat(0.5f));
        var half = TL.Floor(TL.Multiply(n, TL.Splat(0.5f)));   // 2^n in two normal halves: n reaches -159
        scale = TL.Multiply(TL.Pow2(half), TL.Pow2(TL.Subtract(n, half)));
        return TL.MultiplyAdd(TL.Multiply(r, r), p, r);
    }

    /// <summary>e^t for t ≤ 0; results below 2^-126 round to subnormals and 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV ExpNonPositive<TL, TV>(TV t) where TL : IFloatVector<TV> where TV : struct
    {
        var q = ExpMinusOneOfRemainder<TL, TV>(t, out var scale);
        return TL.MultiplyAdd(scale, q, scale);
    }

    /// <summary>e^t − 1 for t ≤ 0, accurate near 0 (2^n − 1 is exact, and is 0 when n = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Expm1NonPositive<TL, TV>(TV t) where TL : IFloatVector<TV> where TV : struct
    {
        var q = ExpMinusOneOfRemainder<TL, TV>(t, out var scale);
        return TL.MultiplyAdd(scale, q, TL.Subtract(scale, TL.Splat(1f)));
    }

    /// <summary>
    /// log(1 + f) = 2 atanh(s), s = f / (2 + f), by the series 2s(1 + s²/3 + s⁴/5 + …): to s^15 for |s| ≤ 1/3, to s^9
    /// for |s| ≤ 0.172 (each error below 2^-28); small f keep their relative accuracy.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TV Log1pByAtanh<TL, TV>(TV f, bool seriesToS15) where TL : IFloatVector<TV> where TV : struct
    {
        var s = TL.Divide(f, TL.Add(TL.Splat(2f), f));
        var z = TL.Multiply(s, s);
        var q = TL.Splat(1f / 9);
        if (seriesToS15)
        {
            q = TL.Splat(1f / 15);
            q = TL.MultiplyAdd(q, z, TL.Splat(1f / 13));
            q = TL.MultiplyAdd(q, z, TL.Splat(1f / 11));
            q = TL.MultiplyAdd(q, z, TL.Splat(1f / 9));
        }
        q = TL.MultiplyAdd(q, z, TL.Splat(1f / 7));
        q = TL.MultiplyAdd(q, z, TL.Splat(1f / 5));
        q = TL.MultiplyAdd(q, z, TL.Splat(1f / 3));
        var twoS = TL.Add(s, s);
        return TL.MultiplyAdd(TL.Multiply(twoS, z), q, twoS);
    }

    /// <summary>log(1 + e) for e in [0, 1] (s ≤ 1/3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Log1pUnit<TL, TV>(TV e) where TL : IFloatVector<TV> where TV : struct => Log1pByAtanh<TL, TV>(e, seriesToS15: true);

    /// <summary>
    /// log x for positive normal x (not 0, subnormal, ∞ or NaN: for uniform draws and their transforms): k ln 2 +
    /// log1p(m − 1) with x = 2^k m, m in [√½, √2), so |s| ≤ 0.172.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV LogPositiveNormal<TL, TV>(TV x) where TL : IFloatVector<TV> where TV : struct
    {
        var k = TL.Decompose(x, out var m);
        var logM = Log1pByAtanh<TL, TV>(TL.Subtract(m, TL.Splat(1f)), seriesToS15: false);
        return TL.MultiplyAdd(k, TL.Splat(Ln2High), TL.MultiplyAdd(k, TL.Splat(Ln2Low), logM));
    }

    /// <summary>softplus(x) = max(x, 0) + log1p(e^-|x|): NaN propagates through the IEEE maximum, ±∞ give ∞ and 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Softplus<TL, TV>(TV x) where TL : IFloatVector<TV> where TV : struct =>
        TL.Add(TL.Max(x, TL.Splat(0f)), Log1pUnit<TL, TV>(ExpNonPositive<TL, TV>(TL.NegativeAbs(x))));

    /// <summary>σ(x) = 1 / (1 + e^-x) for x ≥ 0 and e^x / (1 + e^x) below, so neither side loses accuracy; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid<TL, TV>(TV x) where TL : IFloatVector<TV> where TV : struct
    {
        var e = ExpNonPositive<TL, TV>(TL.NegativeAbs(x));
        return TL.Divide(TL.IfNonNegative(x, TL.Splat(1f), e), TL.Add(TL.Splat(1f), e));
    }

    /// <summary>tanh x = −m / (2 + m) with m = e^-2|x| − 1, the sign of x restored: accurate near 0, ±1 beyond ±9; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh<TL, TV>(TV x) where TL : IFloatVector<TV> where TV : struct
    {
        var m = Expm1NonPositive<TL, TV>(TL.Multiply(TL.Splat(2f), TL.NegativeAbs(x)));
        return TL.CopySign(TL.Divide(TL.Multiply(m, TL.Splat(-1f)), TL.Add(TL.Splat(2f), m)), x);
    }
}
