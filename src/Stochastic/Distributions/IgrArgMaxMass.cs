using System.Runtime.InteropServices;

namespace Scg.Stochastic.Distributions;

/// <summary>
/// Mass of the argmax of an IGR with softmax++ (not in the paper): category k &lt; K wins when y_k exceeds every other
/// y_j and the threshold c = τ log δ, category K when every y_j is below c. With independent y_j ~ N(μ_j, σ_j²):
/// P(K) = Π_j Φ((c − μ_j)/σ_j) and P(k) = ∫_{s₀}^∞ φ(s) Π_{j≠k} Φ(a_j s + b_j) ds with s₀ = (c − μ_k)/σ_k,
/// a_j = σ_k/σ_j and b_j = (μ_k − μ_j)/σ_j, by composite Gauss–Legendre on panels fitted to the integrand.
/// </summary>
static class IgrArgMaxMass
{
    const double SmallestMass = 1e-300;  // floor so the log stays finite

    /// <summary>
    /// Φ(−Cut) ≈ 1e-21: the integral is cut where φ's tail or any Φ factor is that small. Above Saturated a factor Φ
    /// rounds to 1.
    /// </summary>
    const double Cut = 9.5, Saturated = 8.3;

    /// <summary>
    /// Nodes of each Gauss–Legendre panel, and the panel width where the log-integrand's curvature is 1 (only φ varies);
    /// it shrinks as 1/√κ where Φ factors vary too (see WinMass). Chosen by an accuracy study against adaptive Simpson
    /// over random and near-degenerate rows up to d = 19 (errors near 1e-13; width 8 reached 2e-10), which
    /// IgrArgMaxMassTests repeats on a smaller grid.
    /// </summary>
    const int Nodes = 16;
    const double PanelWidth = 6;

    /// <summary>
    /// Floor on the panel width: a factor steeper than that (σ_j below about 1e-13 σ_k) then costs a few panels, not
    /// billions, and at most about 1e-13 of mass.
    /// </summary>
    const double ShortestPanel = 1e-13;

    static readonly (double[] Node, double[] Weight) Legendre = GaussLegendre(Nodes);

    /// <summary>Log masses [rows·(d+1)] for location and scale [rows·d]; rows repeated verbatim are computed once.</summary>
    public static double[] LogMass(double[] location, double[] scale, int d, double threshold)
    {
        RequireFinite(location, scale, threshold);
        int rows = location.Length / d;
        var logMass = new double[rows * (d + 1)];
        var saturation = new double[d - 1];
        var factor = new (double Slope, double Offset)[d - 1];
        var firstRowWithHash = new Dictionary<int, int>();
        for (int r = 0; r < rows; r++)
        {
            var mu = location.AsSpan(r * d, d);
            var sigma = scale.AsSpan(r * d, d);
            var row = logMass.AsSpan(r * (d + 1), d + 1);
            var hash = new HashCode();
            hash.AddBytes(MemoryMarshal.AsBytes(mu));
            hash.AddBytes(MemoryMarshal.AsBytes(sigma));
            int key = hash.ToHashCode();
            if (firstRowWithHash.TryGetValue(key, out int first)
                && mu.SequenceEqual(location.AsSpan(first * d, d)) && sigma.SequenceEqual(scale.AsSpan(first * d, d)))
            {
                logMass.AsSpan(first * (d + 1), d + 1).CopyTo(row);
                continue;
            }
            firstRowWithHash.TryAdd(key, r);

            double last = 1;
            for (int j = 0; j < d; j++) last *= NormalCdf((threshold - mu[j]) / sigma[j]);
            row[d] = Math.Log(Math.Max(last, SmallestMass));
            if (d == 1)
            {
                // two categories: y_1 wins exactly when it exceeds c, Φ((μ − c)/σ), no quadrature needed
                row[0] = Math.Log(Math.Max(NormalCdf((mu[0] - threshold) / sigma[0]), SmallestMass));
                continue;
            }
            for (int k = 0; k < d; k++)
                row[k] = Math.Log(Math.Max(WinMass(mu, sigma, k, threshold, saturation, factor), SmallestMass));
        }
        return logMass;
    }

    /// <summary>
    /// P(k) = ∫ φ(s) Π_{j≠k} Φ(a_j s + b_j) ds over [s₀, ∞) cut to [lower, Cut], where lower also moves up to the point
    /// below which some factor is under Φ(−Cut). Factor j varies until u_j = a_j s + b_j reaches Saturated, so as s
    /// grows the factors drop out in the order of those points. Where the varying ones are J, the log-integrand's
    /// curvature is at most κ = 1 + Σ_{j∈J} a_j² (|(log Φ)''| &lt; 1), and the next panel is PanelWidth/√κ wide.
    /// </summary>
    static double WinMass(ReadOnlySpan<double> mu, ReadOnlySpan<double> sigma, int k, double threshold,
        Span<double> saturation, Span<(double Slope, double Offset)> factor)
    {
        int count = 0;
        double lower = Math.Max((threshold - mu[k]) / sigma[k], -Cut), upper = Cut;
        for (int j = 0; j < mu.Length; j++)
        {
            if (j == k) continue;
            double a = sigma[k] / sigma[j], b = (mu[k] - mu[j]) / sigma[j];
            lower = Math.Max(lower, (-Cut - b) / a);
            saturation[count] = (Saturated - b) / a;
            factor[count++] = (a, b);
        }
        if (lower >= upper) return 0;
        saturation.Sort(factor);

        var (node, weight) = Legendre;
        double mass = 0, from = lower;
        int varying = 0;   // factors before this one are 1 from here on
        while (from < upper)
        {
            while (varying < count && saturation[varying] <= from) varying++;
            double curvature = 1;
            for (int i = varying; i < count; i++) curvature += factor[i].Slope * factor[i].Slope;
            double to = Math.Min(from + Math.Max(PanelWidth / Math.Sqrt(curvature), ShortestPanel), upper);
            double half = 0.5 * (to - from), centre = from + half, sum = 0;
            for (int n = 0; n < node.Length; n++)
            {
                double s = centre + half * node[n], logF = -0.5 * s * s;
                for (int i = varying; i < count; i++)
                {
                    double u = factor[i].Slope * s + factor[i].Offset;
                    if (u < Saturated) logF += LogNormalCdf(Math.Max(u, -Cut));   // rounding may put u a hair below
                }
                sum += weight[n] * Math.Exp(logF);
            }
            mass += half * sum * InverseSqrt2Pi;
            from = to;
        }
        return mass;
    }

    /// <summary>Reports non-finite input as Check does for tensors: the quadrature's comparisons would turn NaN into numbers.</summary>
    static void RequireFinite(double[] location, double[] scale, double threshold)
    {
        const string name = "IGR argmax mass";
        for (int i = 0; i < location.Length; i++)
            if (!double.IsFinite(location[i]))
                throw new ArgumentException($"{name}: location must be finite, but element {i} is {location[i]}.", nameof(location));
        for (int i = 0; i < scale.Length; i++)
            if (!(scale[i] > 0) || !double.IsFinite(scale[i]))
                throw new ArgumentOutOfRangeException(nameof(scale), $"{name}: scale must be positive and finite, but element {i} is {scale[i]}.");
        if (!double.IsFinite(threshold))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, $"{name}: the threshold τ log δ must be finite, got {threshold}.");
    }

    /// <summary>Nodes and weights of the n-point Gauss–Legendre rule on [−1, 1], by Newton's method on P_n.</summary>
    static (double[] Node, double[] Weight) GaussLegendre(int n)
    {
        var node = new double[n];
        var weight = new double[n];
        for (int i = 0; i < n; i++)
        {
            double x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)), step;
            do
            {
                var (p, derivative) = Legendre(n, x);
                step = p / derivative;
                x -= step;
            } while (Math.Abs(step) > 1e-15);
            node[i] = x;
            weight[i] = 2 / ((1 - x * x) * Math.Pow(Legendre(n, x).Derivative, 2));
        }
        return (node, weight);

        static (double Value, double Derivative) Legendre(int n, double x)
        {
            double previous = 1, value = x;
            for (int l = 2; l <= n; l++) (previous, value) = (value, ((2 * l - 1) * x * value - (l - 1) * previous) / l);
            return (value, n * (x * value - previous) / (x * x - 1));
        }
    }

    /// <summary>Φ(x), to about 1e-14 relative (from the table of log Φ, or φ·m below −Cut); NaN stays NaN.</summary>
    public static double NormalCdf(double x)
    {
        if (x >= Saturated) return 1;
        if (x >= -Cut) return Math.Exp(LogNormalCdf(x));
        if (x < -38.5) return 0;   // Φ(−38.5) ≈ 1.4e-324 is below the least double
        return Density(-x) * MillsRatio(-x);
    }

    /// <summary>log Φ(u) for −Cut ≤ u &lt; Saturated: the Taylor polynomial at the nearest point of the grid.</summary>
    static double LogNormalCdf(double u)
    {
        double point = Math.Round(u * GridDensity), delta = u - point / GridDensity;
        var c = LogCdfTaylor.AsSpan(((int)point - GridFirst) * (LogCdfDegree + 1), LogCdfDegree + 1);
        double log = c[LogCdfDegree];
        for (int n = LogCdfDegree - 1; n >= 0; n--) log = Math.FusedMultiplyAdd(log, delta, c[n]);
        return log;
    }

    /// <summary>Grid points per unit from −Cut to just past Saturated; with degree 7 the remainder is below 1e-16 in log Φ.</summary>
    const int GridDensity = 16, GridFirst = (int)(-Cut * GridDensity), GridLast = (int)(Saturated * GridDensity) + 1, LogCdfDegree = 7;

    /// <summary>
    /// Taylor coefficients g_n of log Φ at the grid points: g_0 = log Φ(u₀) and g_{n+1} = r_n/(n+1) for the coefficients
    /// r_n of r = φ/Φ = (log Φ)', which obeys r' = −u r − r², so (n+1) r_{n+1} = −u₀ r_n − r_{n−1} − Σ_{i≤n} r_i r_{n−i}.
    /// </summary>
    static readonly double[] LogCdfTaylor = LogCdfTaylorTable();

    static double[] LogCdfTaylorTable()
    {
        var table = new double[(GridLast - GridFirst + 1) * (LogCdfDegree + 1)];
        Span<double> r = stackalloc double[LogCdfDegree];
        for (int point = GridFirst; point <= GridLast; point++)
        {
            double u = (double)point / GridDensity, z = Math.Abs(u), tail = Density(z) * MillsRatio(z);
            var g = table.AsSpan((point - GridFirst) * (LogCdfDegree + 1), LogCdfDegree + 1);
            if (u <= 0)
            {
                g[0] = Math.Log(tail);
                r[0] = 1 / MillsRatio(z);
            }
            else
            {
                g[0] = Math.Log(1 - tail);
                r[0] = Density(z) / (1 - tail);
            }
            for (int n = 0; n + 1 < LogCdfDegree; n++)
            {
                double square = 0;
                for (int i = 0; i <= n; i++) square += r[i] * r[n - i];
                r[n + 1] = (-u * r[n] - (n > 0 ? r[n - 1] : 0) - square) / (n + 1);
            }
            for (int n = 0; n < LogCdfDegree; n++) g[n + 1] = r[n] / (n + 1);
        }
        return table;
    }

    /// <summary>φ(z) = e^{−z²/2}/√(2π), with the rounding error of z² put back (it is 2e-14 relative at z = 20).</summary>
    static double Density(double z)
    {
        double square = z * z, error = Math.FusedMultiplyAdd(z, z, -square);
        return Math.Exp(-0.5 * square) * (1 - 0.5 * error) * InverseSqrt2Pi;
    }

    const double InverseSqrt2Pi = 0.3989422804014327;

    /// <summary>
    /// Mills ratio m(z) = (1 − Φ(z))/φ(z) for z ≥ 0: below 1, √(π/2) e^{z²/2} − Σ z^{2n+1}/(2n+1)!! (from
    /// ∫₀^z e^{−t²/2} dt = e^{−z²/2} Σ …); from 1 on, the continued fraction 1/(z + 1/(z + 2/(z + 3/(z + …)))) with
    /// enough levels (512 at z = 1, fewer as 1/z²).
    /// </summary>
    static double MillsRatio(double z)
    {
        if (z < 1)
        {
            double term = z, sum = z;
            for (int n = 1; term > 1e-18 * sum; n++) sum += term *= z * z / (2 * n + 1);
            return Math.Sqrt(Math.PI / 2) * Math.Exp(0.5 * z * z) - sum;
        }
        double t = z;
        for (int n = 32 + (int)(1024 / (z * z)); n >= 1; n--) t = z + n / t;
        return 1 / t;
    }
}
