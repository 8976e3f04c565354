namespace Scg.Stochastic.Tests.Distributions;

/// <summary>Goodness-of-fit and quadrature helpers for the distribution tests (double precision).</summary>
static class Statistics
{
    /// <summary>Upper 10⁻⁶ quantile of the standard normal.</summary>
    public const double NormalQuantile1e6 = 4.753424;

    /// <summary>
    /// Upper 10⁻⁶ quantile of χ² with <paramref name="df"/> degrees of freedom by the Wilson–Hilferty approximation
    /// (it over-estimates for df = 1, 2: the test only gets more lenient there).
    /// </summary>
    public static double ChiSquareCritical(int df)
    {
        double a = 2.0 / (9 * df);
        return df * Math.Pow(1 - a + NormalQuantile1e6 * Math.Sqrt(a), 3);
    }

    /// <summary>Pearson's χ² of observed counts against expected probabilities (cells with expected count &lt; 5 are pooled).</summary>
    public static (double statistic, int df) ChiSquare(long[] counts, double[] probabilities)
    {
        long n = counts.Sum();
        double statistic = 0, pooledObserved = 0, pooledExpected = 0;
        int cells = 0;
        for (int k = 0; k < counts.Length; k++)
        {
            double expected = n * probabilities[k];
            if (expected < 5) { pooledObserved += counts[k]; pooledExpected += expected; continue; }
            statistic += (counts[k] - expected) * (counts[k] - expected) / expected;
            cells++;
        }
        if (pooledExpected > 0)
        {
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / Math.Max(pooledExpected, 1e-300);
            cells++;
        }
        return (statistic, cells - 1);
    }

    /// <summary>Asserts the counts fit the probabilities at significance 10⁻⁶.</summary>
    public static void AssertFits(long[] counts, double[] probabilities, string what)
    {
        var (statistic, df) = ChiSquare(counts, probabilities);
        double critical = ChiSquareCritical(df);
        Assert.True(statistic < critical,
            $"{what}: χ² = {statistic:F2} with {df} df exceeds the 1e-6 critical value {critical:F2}; counts [{string.Join(", ", counts)}], probabilities [{string.Join(", ", probabilities.Select(p => p.ToString("G4")))}].");
    }

    /// <summary>Composite Simpson weights for <paramref name="points"/> (odd) equally spaced nodes with spacing h.</summary>
    public static double[] SimpsonWeights(int points, double h)
    {
        Assert.True(points % 2 == 1, "Simpson needs an odd number of nodes.");
        var w = new double[points];
        for (int i = 0; i < points; i++) w[i] = h / 3 * (i == 0 || i == points - 1 ? 1 : i % 2 == 1 ? 4 : 2);
        return w;
    }

    /// <summary>Mean and standard error of the mean.</summary>
    public static (double mean, double standardError) MeanAndError(double[] x)
    {
        double mean = x.Average();
        double variance = x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1);
        return (mean, Math.Sqrt(variance / x.Length));
    }

    public static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    public static double LogSumExp(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (var v in x) max = Math.Max(max, v);
        foreach (var v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>log |det a| by Gaussian elimination with partial pivoting; overwrites a.</summary>
    public static double LogAbsDeterminant(double[,] a)
    {
        int n = a.GetLength(0);
        double logDet = 0;
        for (int c = 0; c < n; c++)
        {
            int pivot = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(a[r, c]) > Math.Abs(a[pivot, c])) pivot = r;
            for (int k = 0; k < n; k++) (a[c, k], a[pivot, k]) = (a[pivot, k], a[c, k]);
            logDet += Math.Log(Math.Abs(a[c, c]));
            for (int r = c + 1; r < n; r++)
            {
                double f = a[r, c] / a[c, c];
                for (int k = c; k < n; k++) a[r, k] -= f * a[c, k];
            }
        }
        return logDet;
    }
}
