namespace Scg.Stochastic.Diagnostics;

/// <summary>
/// Statistics of a gradient estimator over N independent draws, per parameter element: mean, variance,
/// signal-to-noise |mean|/std, and bias against an exact gradient when the expectation can be enumerated.
/// </summary>
public sealed class GradientStatistics
{
    /// <summary>The mean gradient per element.</summary>
    public double[] Mean { get; }
    /// <summary>The unbiased sample variance per element.</summary>
    public double[] Variance { get; }
    /// <summary>Number of gradients drawn, N.</summary>
    public int Draws { get; }
    /// <summary>Exact gradient (by enumeration), or null.</summary>
    public double[]? Exact { get; }
    /// <summary>Share of all drawn gradient elements that were exactly zero (vanishing gradients).</summary>
    public double VanishingFraction { get; }

    GradientStatistics(double[] mean, double[] variance, int draws, double[]? exact, double vanishing)
    {
        Mean = mean; Variance = variance; Draws = draws; Exact = exact; VanishingFraction = vanishing;
    }

    /// <summary>Draws <paramref name="draws"/> gradients with <paramref name="drawGradient"/> (given the draw index) and summarizes them.</summary>
    public static GradientStatistics Collect(Func<int, double[]> drawGradient, int draws, double[]? exact = null)
    {
        if (draws < 2) throw new ArgumentOutOfRangeException(nameof(draws), $"GradientStatistics: needs at least 2 draws, got {draws}.");
        double[]? mean = null, m2 = null;
        long zeros = 0, total = 0;
        for (int d = 0; d < draws; d++)
        {
            var g = drawGradient(d);
            mean ??= new double[g.Length];
            m2 ??= new double[g.Length];
            if (g.Length != mean.Length) throw new ArgumentException($"GradientStatistics: draw {d} has {g.Length} elements, earlier draws had {mean.Length}.");
            if (exact is not null && exact.Length != g.Length) throw new ArgumentException($"GradientStatistics: exact gradient has {exact.Length} elements, draws have {g.Length}.", nameof(exact));
            for (int i = 0; i < g.Length; i++)
            {
                if (!double.IsFinite(g[i])) throw new ArithmeticException($"GradientStatistics: draw {d} element {i} is {g[i]}.");
                if (g[i] == 0) zeros++;
                double delta = g[i] - mean[i];                 // Welford's update
                mean[i] += delta / (d + 1);
                m2[i] += delta * (g[i] - mean[i]);
            }
            total += g.Length;
        }
        var variance = m2!.Select(v => v / (draws - 1)).ToArray();
        return new GradientStatistics(mean!, variance, draws, exact, total == 0 ? 0 : (double)zeros / total);
    }

    /// <summary>|mean| / std per element (∞ where the variance is 0 and the mean is not).</summary>
    public double[] SignalToNoise => Mean.Zip(Variance, (m, v) => v > 0 ? Math.Abs(m) / Math.Sqrt(v) : m == 0 ? 0 : double.PositiveInfinity).ToArray();

    /// <summary>Mean of the per-element variances: one number to compare estimators by.</summary>
    public double AverageVariance => Variance.Average();

    /// <summary>Mean minus exact gradient per element (requires an exact gradient).</summary>
    public double[] Bias => Exact is null
        ? throw new InvalidOperationException("GradientStatistics: no exact gradient was given, so there is no bias.")
        : Mean.Zip(Exact, (m, e) => m - e).ToArray();

    /// <summary>
    /// The largest |bias| in units of its standard error √(var/N): about N(0,1) per element for an unbiased estimator.
    /// </summary>
    public double MaxStandardizedBias => Bias.Select((b, i) => Variance[i] > 0 ? Math.Abs(b) / Math.Sqrt(Variance[i] / Draws) : b == 0 ? 0 : double.PositiveInfinity).Max();
}
