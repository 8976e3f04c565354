using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Distributions;

/// <summary>Closed-form KL(p ‖ q) for pairs of the same family, batch-shaped and differentiable in both arguments.</summary>
public static class Kl
{
    /// <summary>σ(a)(log σ(a) − log σ(b)) + σ(−a)(log σ(−a) − log σ(−b)) for logits a of p and b of q.</summary>
    public static Tensor<T> Divergence<T>(Bernoulli<T> p, Bernoulli<T> q) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        SameBatch(p, q);
        var (logP1, logP0) = (p.Logits.LogSigmoid(), (-p.Logits).LogSigmoid());
        return logP1.Exp() * (logP1 - q.Logits.LogSigmoid()) + logP0.Exp() * (logP0 - (-q.Logits).LogSigmoid());
    }

    /// <summary>Σ_k p_k (log p_k − log q_k).</summary>
    public static Tensor<T> Divergence<T>(Categorical<T> p, Categorical<T> q) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        SameBatch(p, q);
        SameEvent(p, q);
        var logP = p.Logits.LogSoftmax();
        return (logP.Exp() * (logP - q.Logits.LogSoftmax())).Sum(-1);
    }

    /// <summary>Σ_i [log(σq_i/σp_i) + (σp_i² + (μp_i − μq_i)²)/(2σq_i²) − 1/2].</summary>
    public static Tensor<T> Divergence<T>(Normal<T> p, Normal<T> q) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        SameBatch(p, q);
        SameEvent(p, q);
        return GaussianDivergence(p.Location, p.Scale, q.Location, q.Scale);
    }

    /// <summary>KL(N(μp, σp²) ‖ N(μq, σq²)) of checked parameters of one shape, summed over the last axis, without instances.</summary>
    internal static Tensor<T> GaussianDivergence<T>(Tensor<T> pLocation, Tensor<T> pScale, Tensor<T> qLocation, Tensor<T> qScale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (pLocation.Shape != qLocation.Shape)
            throw new ShapeMismatchException($"Kl.Divergence(Normal, Normal): the Gaussians' shapes differ, {pLocation.Shape} vs {qLocation.Shape}.");
        var ratio = pScale / qScale;
        var shift = (pLocation - qLocation) / qScale;
        return (0.5 * (ratio.Square() + shift.Square()) - ratio.Log() - 0.5).Sum(-1);
    }

    /// <summary>
    /// KL between two IGRs of the same map, temperature and δ: the KL of their Gaussians (IGR paper Eq. 19), since KL is
    /// invariant under the same invertible transformation.
    /// </summary>
    public static Tensor<T> Divergence<T>(Igr<T> p, Igr<T> q) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (p.Map != q.Map || p.Temperature != q.Temperature || p.Delta != q.Delta)
            throw new ArgumentException(
                $"Kl.Divergence(Igr, Igr): Eq. 19 needs the same map, temperature and δ, got ({p.Map}, τ={p.Temperature}, δ={p.Delta}) and ({q.Map}, τ={q.Temperature}, δ={q.Delta}).", nameof(q));
        return Divergence(p.Gaussian, q.Gaussian);
    }

    static void SameBatch<T>(IDistribution<T> p, IDistribution<T> q) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (p.BatchShape != q.BatchShape)
            throw new ShapeMismatchException($"Kl.Divergence({p.Name}, {q.Name}): batch shapes differ, {p.BatchShape} vs {q.BatchShape}.");
    }

    static void SameEvent<T>(IDistribution<T> p, IDistribution<T> q) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (p.EventShape != q.EventShape)
            throw new ShapeMismatchException($"Kl.Divergence({p.Name}, {q.Name}): event shapes differ, {p.EventShape} vs {q.EventShape}.");
    }
}
