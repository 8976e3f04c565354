using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using Xunit.Abstractions;
using static Scg.Stochastic.Tests.Distributions.Statistics;

namespace Scg.Stochastic.Tests.Distributions;

public class IgrTests(ITestOutputHelper output)
{
    // ---- an independent IGR written out in double -------------------------------------------------------

    /// <summary>g(y, τ) as a K-vector: Eq. 21, or Eq. 22 (standard stick-breaking) followed by Eq. 24.</summary>
    static double[] G(double[] y, double tau, double delta, IgrMap map)
    {
        int d = y.Length;
        var x = new double[d];
        if (map == IgrMap.SoftmaxPlusPlus) Array.Copy(y, x, d);
        else
        {
            double remaining = 1;
            for (int k = 0; k < d; k++)
            {
                double v = Sigmoid(y[k]);
                x[k] = v * remaining;
                remaining *= 1 - v;
            }
        }
        double denominator = x.Sum(v => Math.Exp(v / tau)) + delta;
        return [.. x.Select(v => Math.Exp(v / tau) / denominator), delta / denominator];
    }

    /// <summary>log N(y | μ, σ) − log |det ∂g_{1..K−1}/∂y| with the Jacobian by central differences and LU.</summary>
    static double ChangeOfVariables(double[] y, double[] mu, double[] sigma, double tau, double delta, IgrMap map)
    {
        int d = y.Length;
        var jacobian = new double[d, d];
        const double h = 1e-6;
        for (int j = 0; j < d; j++)
        {
            var up = (double[])y.Clone(); up[j] += h;
            var down = (double[])y.Clone(); down[j] -= h;
            var gUp = G(up, tau, delta, map);
            var gDown = G(down, tau, delta, map);
            for (int k = 0; k < d; k++) jacobian[k, j] = (gUp[k] - gDown[k]) / (2 * h);
        }
        double logGaussian = Enumerable.Range(0, d).Sum(i => -0.5 * Math.Pow((y[i] - mu[i]) / sigma[i], 2) - Math.Log(sigma[i]) - 0.5 * Math.Log(2 * Math.PI));
        return logGaussian - LogAbsDeterminant(jacobian);
    }

    static Igr<double> Make(double[] mu, double[] sigma, double tau, IgrMap map, double delta = Igr.PaperDelta, int rows = 1)
    {
        int d = mu.Length;
        var m = new double[rows * d];
        var s = new double[rows * d];
        for (int i = 0; i < rows * d; i++) { m[i] = mu[i % d]; s[i] = sigma[i % d]; }
        return new Igr<double>(Tensor<double>.FromDoubles(m, rows, d), Tensor<double>.FromDoubles(s, rows, d), tau, map, delta);
    }

    public static TheoryData<IgrMap, double, double> Settings => new()
    {
        { IgrMap.SoftmaxPlusPlus, 1.0, 0.1 },
        { IgrMap.SoftmaxPlusPlus, 0.3, 1.0 },
        { IgrMap.StickBreaking, 1.0, 0.1 },
        { IgrMap.StickBreaking, 0.3, 1.0 },
    };

    public static TheoryData<IgrMap, double, double> SettingsWithLowTemperature => new()
    {
        { IgrMap.SoftmaxPlusPlus, 1.0, 0.1 },
        { IgrMap.SoftmaxPlusPlus, 0.3, 1.0 },
        { IgrMap.SoftmaxPlusPlus, 0.05, 0.1 },
        { IgrMap.StickBreaking, 1.0, 0.1 },
        { IgrMap.StickBreaking, 0.3, 1.0 },
        { IgrMap.StickBreaking, 0.05, 0.1 },
    };

    [Theory]
    [MemberData(nameof(SettingsWithLowTemperature))]
    public void SamplesAndLogDensityMatchAnIndependentChangeOfVariables(IgrMap map, double tau, double delta)
    {
        double[] mu = [0.4, -0.8, 1.1], sigma = [0.7, 1.3, 0.5];
        if (tau < 0.1)
        {
            // Keep z off the vertices, where the test's finite-difference determinant (not the closed form) loses its digits:
            // y/τ of order 1 for softmax++, small sticks for stick-breaking.
            mu = map == IgrMap.SoftmaxPlusPlus ? [.. mu.Select(m => m * tau)] : [.. mu.Select(m => m - 3.5)];
            sigma = map == IgrMap.SoftmaxPlusPlus ? [.. sigma.Select(v => v * tau)] : [.. sigma.Select(v => v * 0.3)];
        }
        var igr = Make(mu, sigma, tau, map, delta, rows: 6);
        var z = igr.Sample(new Rng(91));
        var logQ = igr.LogProb(z).ToDoubles();
        var zs = z.ToDoubles();
        var rng = new Rng(91);
        for (int r = 0; r < 6; r++)
        {
            var y = Enumerable.Range(0, 3).Select(i => mu[i] + sigma[i] * rng.NextNormal()).ToArray();
            var expected = G(y, tau, delta, map);
            for (int k = 0; k < 4; k++) Assert.Equal(expected[k], zs[r * 4 + k], 1e-12);
            double direct = ChangeOfVariables(y, mu, sigma, tau, delta, map);
            Assert.Equal(direct, logQ[r], 1e-5 * (1 + Math.Abs(direct)));
        }
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void DensityOfTwoCategoriesMatchesAMonteCarloHistogram(IgrMap map, double tau, double delta)
    {
        // K = 2: one Gaussian coordinate y ~ N(μ, σ²) and z₁ = g(y)₁ increasing in y. Bins are intervals of y mapped to z₁;
        // each bin's probability is ∫ q(z₁(y)) |dz₁/dy| dy with q from LogProb and dz₁/dy written out here.
        const double mu = 0.3, sigma = 1.2;
        const int bins = 12, nodesPerBin = 200, draws = 200_000;
        var edges = Enumerable.Range(0, bins + 1).Select(i => mu - 7 * sigma + 14 * sigma * i / bins).ToArray();   // beyond 7σ: 3e-12
        double Z1(double y) => G([y], tau, delta, map)[0];
        double DZ1(double y)
        {
            double z1 = Z1(y);
            return z1 * (1 - z1) / tau * (map == IgrMap.StickBreaking ? Sigmoid(y) * Sigmoid(-y) : 1);
        }

        var probabilities = new double[bins];
        var w = SimpsonWeights(nodesPerBin + 1, (edges[1] - edges[0]) / nodesPerBin);
        for (int b = 0; b < bins; b++)
        {
            var ys = Enumerable.Range(0, nodesPerBin + 1).Select(i => edges[b] + (edges[b + 1] - edges[b]) * i / nodesPerBin).ToArray();
            var values = ys.SelectMany(y => { double z1 = Z1(y); return new[] { z1, 1 - z1 }; }).ToArray();
            var logQ = Make([mu], [sigma], tau, map, delta, rows: ys.Length).LogProb(Tensor<double>.FromDoubles(values, ys.Length, 2)).ToDoubles();
            probabilities[b] = Enumerable.Range(0, ys.Length).Sum(i => w[i] * Math.Exp(logQ[i]) * DZ1(ys[i]));
        }
        Assert.Equal(1.0, probabilities.Sum(), 1e-6);

        var z = Make([mu], [sigma], tau, map, delta, rows: draws).Sample(new Rng(92)).ToDoubles();
        var zEdges = edges.Select(Z1).ToArray();
        var counts = new long[bins];
        for (int s = 0; s < draws; s++)
        {
            int b = Array.BinarySearch(zEdges, z[2 * s]);
            counts[Math.Clamp(b < 0 ? ~b - 1 : b, 0, bins - 1)]++;
        }
        AssertFits(counts, probabilities, $"IGR density vs histogram ({map}, τ = {tau}, δ = {delta})");
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void KlIsTheGaussianKlAndMatchesMonteCarlo(IgrMap map, double tau, double delta)
    {
        double[] muP = [0.4, -0.8, 1.1], sigmaP = [0.7, 1.3, 0.5], muQ = [0, 0.2, 0.5], sigmaQ = [1, 1, 0.8];
        const int draws = 20_000;
        var p = Make(muP, sigmaP, tau, map, delta, rows: draws);
        var q = Make(muQ, sigmaQ, tau, map, delta, rows: draws);
        var kl = Kl.Divergence(p, q).ToDoubles();
        Assert.Equal(Kl.Divergence(p.Gaussian, q.Gaussian).ToDoubles(), kl);

        // Eq. 19: the Jacobians cancel draw by draw, so log p(z) − log q(z) is the Gaussians' log-ratio at y.
        var y = p.Gaussian.Sample(new Rng(93));
        var z = p.Transform(y, tau);
        var ratio = (p.LogProb(z) - q.LogProb(z)).ToDoubles();
        var gaussianRatio = (p.Gaussian.LogProb(y) - q.Gaussian.LogProb(y)).ToDoubles();
        for (int s = 0; s < draws; s++) Assert.Equal(gaussianRatio[s], ratio[s], 1e-6 * (1 + Math.Abs(gaussianRatio[s])));
        var (mean, error) = MeanAndError(ratio);
        Assert.True(Math.Abs(mean - kl[0]) < 6 * error, $"KL {kl[0]:G6} vs Monte-Carlo {mean:G6} ± {error:G3}");
    }

    [Fact]
    public void KlRejectsDifferentTemperatures()
    {
        var ex = Assert.Throws<ArgumentException>(() => Kl.Divergence(Make([0.0], [1.0], 0.5, IgrMap.SoftmaxPlusPlus), Make([0.0], [1.0], 1.0, IgrMap.SoftmaxPlusPlus)));
        Assert.Contains("τ=0.5", ex.Message);
    }

    [Theory]
    [InlineData(IgrMap.SoftmaxPlusPlus)]
    [InlineData(IgrMap.StickBreaking)]
    public void MomentMatchingReproducesTheDiscretePrior(IgrMap map)
    {
        // With δ < 1, IGR-SB's last coordinate δ/(Σ_k e^{w_k/τ} + δ) never exceeds δ/(K − 1 + δ) ≈ 0.03, and w ∈ (0,1)
        // needs a low τ to reach the vertices; its prior therefore puts no mass on the last category.
        double[] prior = map == IgrMap.SoftmaxPlusPlus ? [0.4, 0.3, 0.2, 0.1] : [0.5, 0.3, 0.2, 0.0];
        double tau = map == IgrMap.SoftmaxPlusPlus ? 0.5 : 0.1;
        var (mu0, sigma0) = Igr.FitToDiscrete(prior, tau, new Rng(94), map);
        var z = Make(mu0, sigma0, tau, map, rows: 100_000).Sample(new Rng(95));
        var zs = z.ToDoubles();
        var mean = new double[4];
        var argmaxFrequency = new double[4];
        for (int s = 0; s < 100_000; s++)
            for (int k = 0; k < 4; k++) mean[k] += zs[4 * s + k] / 100_000;
        foreach (int k in Hard.ArgMax(z)) argmaxFrequency[k] += 1.0 / 100_000;
        double meanError = Enumerable.Range(0, 4).Max(k => Math.Abs(mean[k] - prior[k]));
        output.WriteLine($"{map}, τ = {tau}: μ0 = [{string.Join(", ", mu0.Select(v => v.ToString("F3")))}], σ0 = [{string.Join(", ", sigma0.Select(v => v.ToString("F3")))}]");
        output.WriteLine($"  target   [{string.Join(", ", prior.Select(v => v.ToString("F4")))}]");
        output.WriteLine($"  E[z]     [{string.Join(", ", mean.Select(v => v.ToString("F4")))}]  max |E z − p0| = {meanError:F4}");
        output.WriteLine($"  P(argmax)[{string.Join(", ", argmaxFrequency.Select(v => v.ToString("F4")))}]");
        Assert.True(meanError < 0.01, $"moment matching missed the prior by {meanError:F4}.");
    }

    [Fact]
    public void ArgmaxMassByQuadratureMatchesArgmaxOfDraws()
    {
        double[] mu = [0.4, -0.8, 1.1], sigma = [0.7, 1.3, 0.5];
        foreach (var (tau, delta) in new[] { (0.5, 0.1), (1.0, 1.0), (2.0, 3.0) })
        {
            var igr = Make(mu, sigma, tau, IgrMap.SoftmaxPlusPlus, delta, rows: 100_000);
            var mass = Make(mu, sigma, tau, IgrMap.SoftmaxPlusPlus, delta).ToDiscrete().Probabilities.ToDoubles();
            Assert.Equal(1.0, mass.Sum(), 1e-9);
            var counts = new long[4];
            foreach (int k in Hard.ArgMax(igr.Discretize(igr.Sample(new Rng(96))))) counts[k]++;
            AssertFits(counts, mass, $"IGR argmax mass (τ = {tau}, δ = {delta})");
        }
        Assert.Throws<NotSupportedException>(() => Make(mu, sigma, 0.5, IgrMap.StickBreaking).ToDiscrete());
    }

    [Fact]
    public void ArgmaxMassOfTenCategoriesMatchesAMillionDraws()
    {
        // n = 10 with two near-deterministic coordinates (σ = 0.05, 0.02) next to each other and to c = τ log δ ≈ −1.15,
        // whose steps the quadrature must resolve
        double[] mu = [-1.4, -2.3, -1.0, -1.8, -1.1, -1.3, -2.7, -1.16, -0.9], sigma = [0.7, 1.3, 0.5, 1.0, 0.05, 0.3, 2.0, 0.02, 0.8];
        const double tau = 0.5, delta = 0.1;
        const int batches = 10, rows = 100_000, draws = batches * rows;
        var mass = Make(mu, sigma, tau, IgrMap.SoftmaxPlusPlus, delta).ToDiscrete().Probabilities.ToDoubles();
        var igr = Make(mu, sigma, tau, IgrMap.SoftmaxPlusPlus, delta, rows);
        var rng = new Rng(99);
        var counts = new long[10];
        for (int b = 0; b < batches; b++)
            foreach (int k in Hard.ArgMax(igr.Sample(rng))) counts[k]++;
        for (int k = 0; k < 10; k++)
        {
            double frequency = (double)counts[k] / draws, error = Math.Sqrt(mass[k] * (1 - mass[k]) / draws);
            output.WriteLine($"category {k}: mass {mass[k]:F5}, frequency {frequency:F5} ({(frequency - mass[k]) / error:+0.00;-0.00}σ)");
            Assert.True(Math.Abs(frequency - mass[k]) <= 4 * error, $"category {k}: frequency {frequency} vs mass {mass[k]} ± {error:G3}");
        }
    }

    [Fact]
    public void NormalCdfMatchesReferenceValues()
    {
        // mpmath at 30 digits; −0.77 to −4.2 is where 1 − erf once cancelled, −9.5 and below the far tail
        (double x, double cdf)[] reference = [(0, 0.5), (1, 0.84134474606854295), (-1, 0.15865525393145705), (-0.77, 0.22064994634264961),
            (-1.5, 0.066807201268858066), (-3, 0.0013498980316300945), (2.5, 0.99379033467422386), (-4.2, 1.3345749015906338e-5),
            (5, 0.99999971334842812), (-5.5, 1.8989562465887719e-8), (-8, 6.2209605742717841e-16), (-9.5, 1.0494515075362607e-21),
            (-9.75, 9.2234135249394181e-23), (-12, 1.776482112077679e-33), (-20, 2.7536241186062337e-89),
            (-30, 4.9067139271481871e-198), (-37.5, 4.6053530095819548e-308), (8.25, 0.99999999999999992)];
        foreach (var (x, cdf) in reference)
            Assert.Equal(cdf, IgrArgMaxMass.NormalCdf(x), 2e-14 * cdf);
    }

    [Theory]
    [InlineData(IgrMap.SoftmaxPlusPlus)]
    [InlineData(IgrMap.StickBreaking)]
    public void LogDensityGradientsMatchFiniteDifferences(IgrMap map)
    {
        var location = Tensor<double>.FromDoubles([0.4, -0.8, 1.1, 0.0, 0.3, -0.2], 2, 3);
        var scale = Tensor<double>.FromDoubles([0.7, 1.3, 0.5, 1.0, 0.9, 1.1], 2, 3);
        var z = new Igr<double>(location, scale, 0.7, map).Sample(new Rng(97));
        var logZ = z.Log();
        var result = GradCheck.Check(x => new Igr<double>(x[0], x[1], 0.7, map).LogProb(x[2].Softmax()), [location, scale, logZ]);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void CountableIgrCutsAtPrecisionAndUpdatesOnlyTheFirstSticks()
    {
        const int rows = 64, coordinates = 40;
        const double rho = 0.99, tau = 0.5;
        var location = Tensor<double>.Full(new Shape(rows, coordinates), 0.0).AsParameter();
        var scale = Tensor<double>.Full(new Shape(rows, coordinates), 1.0).AsParameter();
        var countable = new CountableIgr<double>(location, scale, tau, rho);
        var draw = countable.RSample(new Rng(98));
        int sticks = draw.Sticks;
        Assert.Equal(new Shape(rows, sticks + 1), draw.Value.Shape);
        var z = draw.Value.ToDoubles();
        bool someRowNeedsAll = false;
        for (int r = 0; r < rows; r++)
        {
            var row = z.AsSpan(r * (sticks + 1), sticks + 1).ToArray();
            Assert.Equal(1.0, row.Sum(), 1e-12);
            // Stick weights from the value (inverse of Eq. 21): w_k = τ (log z_k − log z_last + log δ).
            var w = row.Take(sticks).Select(v => tau * (Math.Log(v) - Math.Log(row[sticks]) + Math.Log(Igr.PaperDelta))).ToArray();
            Assert.True(w.Sum() > rho, $"row {r}: the {sticks} sticks hold {w.Sum()}, not more than ρ = {rho}.");
            someRowNeedsAll |= w.Take(sticks - 1).Sum() <= rho;
        }
        Assert.True(someRowNeedsAll, "K is larger than every row needs (Eq. 25 takes the smallest K).");
        Assert.All(draw.Prefix.LogProb(draw.Value).ToDoubles(), v => Assert.True(double.IsFinite(v)));

        draw.Value.Square().Sum().Backward();
        var gradient = location.Grad!.ToDoubles();
        for (int r = 0; r < rows; r++)
            for (int k = sticks; k < coordinates; k++) Assert.Equal(0.0, gradient[r * coordinates + k]);
        Assert.Contains(gradient, g => g != 0);
        output.WriteLine($"ρ = {rho}: K = {sticks} sticks of {coordinates} coordinates.");
    }
}
