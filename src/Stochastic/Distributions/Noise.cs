using System.Numerics;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;

namespace Scg.Stochastic.Distributions;

/// <summary>Parameter-free noise tensors (constants, no gradient) drawn from an explicit generator.</summary>
public static class Noise
{
    /// <summary>Standard Gumbel: −log(−log U).</summary>
    public static Tensor<T> Gumbel<T>(Rng rng, Shape shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = Tensor<T>.Uninitialized(shape);
        rng.FillGumbel(g.Span);
        return g;
    }

    /// <summary>Standard logistic: log U − log(1 − U).</summary>
    public static Tensor<T> Logistic<T>(Rng rng, Shape shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var l = Tensor<T>.Uninitialized(shape);
        rng.FillLogistic(l.Span);
        return l;
    }

    /// <summary>Standard normal.</summary>
    public static Tensor<T> Normal<T>(Rng rng, Shape shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var z = Tensor<T>.Uninitialized(shape);
        rng.FillNormal(z.Span);
        return z;
    }
}
