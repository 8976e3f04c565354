using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Estimators;

/// <summary>
/// The layout of m samples per data point that every estimator reads: log-weights and scores are [m, batch], and a
/// row of inputs is repeated m times sample-major ([m · batch, width], sample i of row b at index i · batch + b).
/// </summary>
public static class SampleMajor
{
    /// <summary>Rows [batch, width] repeated for each of <paramref name="samples"/> samples: [samples · batch, width]; a gradient sums back over the samples.</summary>
    public static Tensor<T> Repeat<T>(Tensor<T> rows, int samples) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), $"SampleMajor.Repeat: samples per row must be ≥ 1, got {samples}.");
        if (rows.Shape.Rank != 2) throw new ShapeMismatchException($"SampleMajor.Repeat: rows must be [batch, width], got {rows.Shape}.");
        int batch = rows.Shape[0], width = rows.Shape[1];
        return samples == 1 ? rows : rows.Reshape(1, batch, width).Expand(new Shape(samples, batch, width)).Reshape(samples * batch, width);
    }
}
