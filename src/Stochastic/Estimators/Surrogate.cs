using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Estimators;

/// <summary>
/// What an estimator builds from one forward pass: the objective to report (its value is the bound, unchanged by the
/// estimator), the loss whose gradient is minus the estimator, and the baseline's own loss when it learns one.
/// </summary>
public sealed record Surrogate<T>(Tensor<T> Objective, Tensor<T> Loss, Tensor<T>? BaselineLoss)
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Loss plus the baseline's loss: one backward trains both.</summary>
    public Tensor<T> TotalLoss => BaselineLoss is null ? Loss : Loss + BaselineLoss;

    /// <summary>
    /// <paramref name="last"/> when it holds these very tensors, else a new surrogate kept in it. A step in an arena that
    /// reuses its tensor headers gets the same tensors every time, so its estimator builds no new surrogate.
    /// </summary>
    internal static Surrogate<T> Reusing(ref Surrogate<T>? last, Tensor<T> objective, Tensor<T> loss, Tensor<T>? baselineLoss) =>
        last is { } s && ReferenceEquals(s.Objective, objective) && ReferenceEquals(s.Loss, loss) && ReferenceEquals(s.BaselineLoss, baselineLoss)
            ? s
            : last = new Surrogate<T>(objective, loss, baselineLoss);
}

/// <summary>The multi-sample bound L_m = log (1/m) Σ_i w_i (Eq. 8), computed stably from log-weights.</summary>
public static class MultiSampleBound
{
    /// <summary>log-weights [m, batch] → L_m per data point [batch] (a shifted log-sum-exp over the samples).</summary>
    public static Tensor<T> PerDataPoint<T>(Tensor<T> logWeights) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireSamplesByBatch(logWeights, "MultiSampleBound");
        return logWeights.LogSumExp(0) - Math.Log(logWeights.Shape[0]);
    }

    internal static void RequireSamplesByBatch<T>(Tensor<T> t, string who) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (t.Shape.Rank != 2 || t.Shape[0] < 1)
            throw new ShapeMismatchException($"{who}: expected log-weights of shape [m ≥ 1 samples, batch], got {t.Shape}.");
    }
}
