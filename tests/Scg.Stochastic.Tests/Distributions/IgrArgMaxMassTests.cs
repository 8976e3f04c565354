using Scg.Stochastic.Distributions;
using Xunit.Abstractions;

namespace Scg.Stochastic.Tests.Distributions;

/// <summary>The exact argmax mass of IGR's softmax++ (IgrArgMaxMass) against an independent quadrature and closed forms.</summary>
public class IgrArgMaxMassTests(ITestOutputHelper output)
{
    // ---- reference: adaptive Simpson with a relative tolerance ----------------------------------------------

    /// <summary>
    /// P(k) = ∫_{s₀}^{12} φ(s) Π_{j≠k} Φ((μ_k + σ_k s − μ_j)/σ_j) ds by adaptive Simpson on 64 equal parts split further
    /// where μ_k + σ_k s = μ_j (so no step of a small-σ factor falls between the first samples), once at 1e-14 and again
    /// at 1e-11 of that first estimate. Also for d = 1, where it checks the closed form.
    /// </summary>
    static double ReferenceWinMass(double[] mu, double[] sigma, int k, double threshold)
    {
        const double tail = 12;   // Φ(−12) ≈ 2e-33
        const int parts = 64;
        double lower = Math.Max((threshold - mu[k]) / sigma[k], -tail);
        if (lower >= tail) return 0;
        var edges = Enumerable.Range(0, parts + 1).Select(p => lower + (tail - lower) * p / parts)
            .Concat(Enumerable.Range(0, mu.Length).Where(j => j != k).Select(j => (mu[j] - mu[k]) / sigma[k]).Where(s => s > lower && s < tail))
            .Order().ToArray();
        double Integrand(double s)
        {
            double y = mu[k] + sigma[k] * s, f = Math.Exp(-0.5 * s * s) / Math.Sqrt(2 * Math.PI);
            for (int j = 0; j < mu.Length; j++)
                if (j != k) f *= IgrArgMaxMass.NormalCdf((y - mu[j]) / sigma[j]);
            return f;
        }
        double Integral(double tolerance)
        {
            double sum = 0;
            for (int p = 0; p + 1 < edges.Length; p++) sum += AdaptiveSimpson(Integrand, edges[p], edges[p + 1], tolerance / parts, 50);
            return sum;
        }
        double first = Integral(1e-14);
        return first < 1e-290 ? first : Integral(1e-11 * first);
    }

    static double AdaptiveSimpson(Func<double, double> f, double a, double b, double tolerance, int depth)
    {
        double fa = f(a), fb = f(b), m = 0.5 * (a + b), fm = f(m);
        return Refine(f, a, b, fa, fm, fb, (b - a) / 6 * (fa + 4 * fm + fb), tolerance, depth);
    }

    static double Refine(Func<double, double> f, double a, double b, double fa, double fm, double fb, double whole, double tolerance, int depth)
    {
        double m = 0.5 * (a + b), lm = 0.5 * (a + m), rm = 0.5 * (m + b);
        double flm = f(lm), frm = f(rm);
        double left = (m - a) / 6 * (fa + 4 * flm + fm), right = (b - m) / 6 * (fm + 4 * frm + fb);
        if (depth <= 0 || Math.Abs(left + right - whole) <= 15 * tolerance) return left + right + (left + right - whole) / 15;
        return Refine(f, a, m, fa, flm, fm, left, tolerance / 2, depth - 1) + Refine(f, m, b, fm, frm, fb, right, tolerance / 2, depth - 1);
    }

    /// <summary>Reference masses [d+1] of one row: the quadrature above for k ≤ d, Π_j Φ((c − μ_j)/σ_j) for the last.</summary>
    static double[] ReferenceRow(double[] mu, double[] sigma, double threshold)
    {
        int d = mu.Length;
        var mass = new double[d + 1];
        mass[d] = 1;
        for (int j = 0; j < d; j++) mass[d] *= IgrArgMaxMass.NormalCdf((threshold - mu[j]) / sigma[j]);
        for (int k = 0; k < d; k++) mass[k] = ReferenceWinMass(mu, sigma, k, threshold);
        return mass;
    }

    // ---- rows ------------------------------------------------------------------------------------------------

    static double LogUniform(Random rng, double low, double high) => low * Math.Exp(rng.NextDouble() * Math.Log(high / low));

    /// <summary>μ ∈ [−6, 6], σ ∈ [0.05, 5] (log-uniform), c ∈ [−6, 6].</summary>
    static (double[] Mu, double[] Sigma, double Threshold) RandomRow(Random rng, int d)
    {
        var mu = new double[d];
        var sigma = new double[d];
        for (int j = 0; j < d; j++) { mu[j] = -6 + 12 * rng.NextDouble(); sigma[j] = LogUniform(rng, 0.05, 5); }
        return (mu, sigma, -6 + 12 * rng.NextDouble());
    }

    /// <summary>
    /// Means within 0.005–0.5 of each other, σ down to 0.01 (half the rows below 0.05), c among the means or anywhere:
    /// the factors are steps near the s where μ_k + σ_k s = μ_j.
    /// </summary>
    static (double[] Mu, double[] Sigma, double Threshold) SharpRow(Random rng, int d)
    {
        var mu = new double[d];
        var sigma = new double[d];
        double centre = -3 + 6 * rng.NextDouble(), spread = LogUniform(rng, 0.005, 0.5);
        for (int j = 0; j < d; j++)
        {
            mu[j] = centre + spread * (2 * rng.NextDouble() - 1);
            sigma[j] = rng.NextDouble() < 0.5 ? LogUniform(rng, 0.01, 0.05) : LogUniform(rng, 0.01, 5);
        }
        return (mu, sigma, rng.NextDouble() < 0.5 ? centre + spread * (2 * rng.NextDouble() - 1) : -6 + 12 * rng.NextDouble());
    }

    static double[] Masses(double[] mu, double[] sigma, double threshold) =>
        [.. IgrArgMaxMass.LogMass(mu, sigma, mu.Length, threshold).Select(Math.Exp)];

    // ---- tests -----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    [InlineData(19)]
    public void MassesMatchAdaptiveSimpson(int d)
    {
        var rng = new Random(100 + d);
        var rows = Enumerable.Range(0, 10).Select(_ => RandomRow(rng, d)).Concat(Enumerable.Range(0, 10).Select(_ => SharpRow(rng, d))).ToList();
        if (d == 3)
        {
            rows.Add(([0, 0.001, -0.002], [5, 0.01, 0.01], -0.001));
            rows.Add(([1, 1, 1], [0.01, 0.01, 0.02], 1));
        }
        double worstAbsolute = 0, worstLog = 0, worstSum = 0;
        foreach (var (mu, sigma, threshold) in rows)
        {
            var mass = Masses(mu, sigma, threshold);
            var reference = ReferenceRow(mu, sigma, threshold);
            string row = $"μ = [{string.Join(", ", mu)}], σ = [{string.Join(", ", sigma)}], c = {threshold}";
            for (int k = 0; k <= d; k++)
            {
                double absolute = Math.Abs(mass[k] - reference[k]);
                Assert.True(absolute <= 1e-9, $"mass {k}: {mass[k]:R} vs reference {reference[k]:R} for {row}");
                worstAbsolute = Math.Max(worstAbsolute, absolute);
                if (reference[k] <= 1e-12) continue;
                double log = Math.Abs(Math.Log(mass[k]) - Math.Log(reference[k]));
                Assert.True(log <= 1e-6, $"log mass {k}: {Math.Log(mass[k]):R} vs reference {Math.Log(reference[k]):R} for {row}");
                worstLog = Math.Max(worstLog, log);
            }
            worstSum = Math.Max(worstSum, Math.Abs(mass.Sum() - 1));
        }
        output.WriteLine($"d = {d}, {rows.Count} rows: worst |Δ mass| {worstAbsolute:E1}, worst |Δ log mass| (mass > 1e-12) {worstLog:E1}, worst |Σ − 1| {worstSum:E1}");
    }

    [Fact]
    public void MassesOfEachRowSumToOne()
    {
        var rng = new Random(7);
        double worst = 0;
        for (int r = 0; r < 3000; r++)
        {
            int d = 2 + rng.Next(18);
            var (mu, sigma, threshold) = r % 2 == 0 ? RandomRow(rng, d) : SharpRow(rng, d);
            double error = Math.Abs(Masses(mu, sigma, threshold).Sum() - 1);
            Assert.True(error <= 1e-9, $"row {r}: masses sum to 1 {error:+0.0E+0;-0.0E+0} for μ = [{string.Join(", ", mu)}], σ = [{string.Join(", ", sigma)}], c = {threshold}");
            worst = Math.Max(worst, error);
        }
        output.WriteLine($"worst |Σ − 1| over 3000 rows: {worst:E1}");
    }

    [Fact]
    public void TwoGaussiansMatchTheirClosedForms()
    {
        var rng = new Random(8);
        for (int r = 0; r < 200; r++)
        {
            var (mu, sigma, threshold) = r % 2 == 0 ? RandomRow(rng, 2) : SharpRow(rng, 2);
            // c far below both: y_1 wins when y_1 − y_2 > 0, Φ((μ_1 − μ_2)/√(σ_1² + σ_2²))
            var race = Masses(mu, sigma, -1e3);
            double first = IgrArgMaxMass.NormalCdf((mu[0] - mu[1]) / Math.Sqrt(sigma[0] * sigma[0] + sigma[1] * sigma[1]));
            Assert.Equal(first, race[0], 1e-12);
            Assert.Equal(1 - first, race[1], 1e-12);
            // y_2 beyond reach: the quadrature gives the two-category closed form Φ((μ_1 − c)/σ_1)
            var alone = Masses([mu[0], -1e3], [sigma[0], 1], threshold);
            var closed = Masses([mu[0]], [sigma[0]], threshold);
            Assert.Equal(closed[0], alone[0], 1e-12);
            Assert.Equal(closed[1], alone[2], 1e-12);
            if (closed[0] > 1e-12) Assert.Equal(Math.Log(closed[0]), Math.Log(alone[0]), 1e-6);
        }
        // d = 1 against Φ to 17 digits (mpmath): μ = 0.3, σ = 1.2, c = −1.5 gives Φ(±1.5)
        var two = Masses([0.3], [1.2], -1.5);
        Assert.Equal(0.93319279873114193, two[0], 1e-15);
        Assert.Equal(0.066807201268858066, two[1], 1e-16);
    }

    [Fact]
    public void RepeatedRowsGetTheMassesOfTheirFirstOccurrence()
    {
        double[] a = [0.4, -0.8, 1.1], sa = [0.7, 1.3, 0.5], b = [0.0, 0.3, -0.2], sb = [1.0, 0.9, 1.1];
        var location = new[] { a, b, a, a, b }.SelectMany(x => x).ToArray();
        var scale = new[] { sa, sb, sa, sa, sb }.SelectMany(x => x).ToArray();
        var all = IgrArgMaxMass.LogMass(location, scale, 3, -1.2);
        var first = IgrArgMaxMass.LogMass(a, sa, 3, -1.2);
        var second = IgrArgMaxMass.LogMass(b, sb, 3, -1.2);
        int[] which = [0, 1, 0, 0, 1];
        for (int r = 0; r < 5; r++)
            Assert.Equal(which[r] == 0 ? first : second, all.AsSpan(4 * r, 4).ToArray());
    }

    [Fact]
    public void NonFiniteInputIsReported()
    {
        var location = Assert.Throws<ArgumentException>(() => IgrArgMaxMass.LogMass([0, double.NaN], [1, 1], 2, -1));
        Assert.Contains("element 1 is NaN", location.Message);
        var scale = Assert.Throws<ArgumentOutOfRangeException>(() => IgrArgMaxMass.LogMass([0, 0], [1, double.PositiveInfinity], 2, -1));
        Assert.Contains("scale must be positive and finite", scale.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => IgrArgMaxMass.LogMass([0, 0], [0, 1], 2, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => IgrArgMaxMass.LogMass([0, 0], [1, 1], 2, double.NaN));
        Assert.True(double.IsNaN(IgrArgMaxMass.NormalCdf(double.NaN)));
        Assert.Equal(0.0, IgrArgMaxMass.NormalCdf(double.NegativeInfinity));
        Assert.Equal(1.0, IgrArgMaxMass.NormalCdf(double.PositiveInfinity));
    }
}
