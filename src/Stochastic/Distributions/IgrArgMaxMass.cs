namespace Scg.Stochastic.Distributions;

/// <summary>
/// Mass of the argmax of an IGR with softmax++ (not in the paper): category k &lt; K wins when y_k exceeds every other
/// y_j and the threshold c = τ log δ, category K when every y_j is below c. With independent y_j ~ N(μ_j, σ_j²):
/// P(K) = Π_j Φ((c − μ_j)/σ_j) and P(k) = ∫_{s₀}^∞ φ(s) Π_{j≠k} Φ((μ_k + σ_k s − μ_j)/σ_j) ds, s₀ = (c − μ_k)/σ_k.
/// </summary>
static class IgrArgMaxMass
{
    const double Tail = 12;              // φ(±12) < 1e-31: the integral beyond is negligible
    const double SmallestMass = 1e-300;  // floor so the log stays finite

    /// <summary>Log masses [rows·(d+1)] for location and scale [rows·d].</summary>
    public static double[] LogMass(double[] location, double[] scale, int d, double threshold)
    {
        int rows = location.Length / d;
        var logMass = new double[rows * (d + 1)];
        for (int r = 0; r < rows; r++)
        {
            var mu = location.AsSpan(r * d, d).ToArray();
            var sigma = scale.AsSpan(r * d, d).ToArray();
            double last = 1;
            for (int j = 0; j < d; j++) last *= NormalCdf((threshold - mu[j]) / sigma[j]);
            if (d == 1)
            {
                // two categories: y_1 wins exactly when it exceeds c, Φ((μ − c)/σ), no quadrature needed
                logMass[r * 2] = Math.Log(Math.Max(NormalCdf((mu[0] - threshold) / sigma[0]), SmallestMass));
                logMass[r * 2 + 1] = Math.Log(Math.Max(last, SmallestMass));
                continue;
            }
            for (int k = 0; k < d; k++)
            {
                int winner = k;
                double lower = Math.Max((threshold - mu[k]) / sigma[k], -Tail);
                double mass = lower >= Tail ? 0 : AdaptiveSimpson(s => WinDensity(s, winner, mu, sigma), lower, Tail, 1e-13, 50);
                logMass[r * (d + 1) + k] = Math.Log(Math.Max(mass, SmallestMass));
            }
            logMass[r * (d + 1) + d] = Math.Log(Math.Max(last, SmallestMass));
        }
        return logMass;
    }

    /// <summary>φ(s) Π_{j≠k} Φ((μ_k + σ_k s − μ_j)/σ_j).</summary>
    static double WinDensity(double s, int k, double[] mu, double[] sigma)
    {
        double y = mu[k] + sigma[k] * s, f = Math.Exp(-0.5 * s * s) / Math.Sqrt(2 * Math.PI);
        for (int j = 0; j < mu.Length; j++)
            if (j != k) f *= NormalCdf((y - mu[j]) / sigma[j]);
        return f;
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

    /// <summary>Φ(x) = erfc(−x/√2)/2.</summary>
    public static double NormalCdf(double x) => 0.5 * Erfc(-x / Math.Sqrt(2));

    /// <summary>
    /// erfc to about 1e-15 relative: 1 − erf by the all-positive series erf(x) = (2/√π) e^{−x²} Σ 2ⁿ x^{2n+1}/(2n+1)!!
    /// for |x| &lt; 3, and the continued fraction erfc(x) = (e^{−x²}/√π) / (x + (1/2)/(x + 1/(x + (3/2)/(x + …)))) beyond.
    /// </summary>
    public static double Erfc(double x)
    {
        if (x < 0) return 2 - Erfc(-x);
        if (x < 3)
        {
            double term = x, sum = x;
            for (int n = 1; n < 200 && term > 1e-17 * sum; n++)
            {
                term *= 2 * x * x / (2 * n + 1);
                sum += term;
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * Math.Exp(-x * x) * sum;
        }
        double t = x;
        for (int n = 60; n >= 1; n--) t = x + n / 2.0 / t;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / t;
    }
}
