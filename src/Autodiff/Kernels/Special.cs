using System.Numerics;
using System.Numerics.Tensors;

namespace Scg.Autodiff.Kernels;

/// <summary>Accurate special functions over spans (log1p, expm1, softplus) and sampling transforms.</summary>
public static class Special
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

    public static void Log1p<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = Log1p(x[i]);
    }

    public static void Expm1<T>(ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++) y[i] = Expm1(x[i]);
    }

    /// <summary>y = softplus(x): the exponential is vectorized, the log1p correction is scalar.</summary>
    public static void Softplus<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var e = Scratch<T>.First(x.Length);
        TensorPrimitives.Abs(x, e);
        TensorPrimitives.Negate(e, e);
        TensorPrimitives.Exp(e, e);
        for (int i = 0; i < x.Length; i++)
        {
            T xi = x[i];
            y[i] = T.IsNaN(xi) ? xi : T.MaxNumber(xi, T.Zero) + Log1p(e[i]);
        }
    }

    /// <summary>Uniform draws strictly inside (0,1) (see <see cref="Rng"/> for the clamp).</summary>
    public static void FillUniform<T>(Rng rng, Span<T> u) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            for (int i = 0; i < u.Length; i++) u[i] = T.CreateTruncating(rng.NextSingle());
        else
            for (int i = 0; i < u.Length; i++) u[i] = T.CreateTruncating(rng.NextDouble());
    }

    /// <summary>Standard Gumbel draws: -log(-log U).</summary>
    public static void FillGumbel<T>(Rng rng, Span<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        FillUniform(rng, g);
        TensorPrimitives.Log(g, g);
        TensorPrimitives.Negate(g, g);
        TensorPrimitives.Log(g, g);
        TensorPrimitives.Negate(g, g);
    }

    /// <summary>Standard logistic draws: log U - log(1 - U), with log(1-U) computed as log1p(-U).</summary>
    public static void FillLogistic<T>(Rng rng, Span<T> l) where T : unmanaged, IFloatingPointIeee754<T>
    {
        FillUniform(rng, l);
        for (int i = 0; i < l.Length; i++) l[i] = T.Log(l[i]) - Log1p(-l[i]);
    }

    /// <summary>Standard normal draws (Box-Muller).</summary>
    public static void FillNormal<T>(Rng rng, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < z.Length; i++) z[i] = T.CreateTruncating(rng.NextNormal());
    }
}
