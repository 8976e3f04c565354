using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using static Scg.Stochastic.Tests.Distributions.Statistics;

namespace Scg.Stochastic.Tests.Distributions;

public class ConcreteTests
{
    static readonly double[] Alpha = [2, 0.5, 1];   // the Concrete paper's Figure 2

    static Tensor<double> RepeatedLogits(double[] alpha, int rows)
    {
        var logits = new double[rows * alpha.Length];
        for (int i = 0; i < logits.Length; i++) logits[i] = Math.Log(alpha[i % alpha.Length]);
        return Tensor<double>.FromDoubles(logits, rows, alpha.Length);
    }

    static double LogFactorial(int m) => Enumerable.Range(2, Math.Max(0, m - 1)).Sum(k => Math.Log(k));

    // ---- sampling properties ----------------------------------------------------------------------

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void ConcreteRoundingMatchesAlphaOverSum(double lambda)
    {
        var concrete = new Concrete<double>(RepeatedLogits(Alpha, 100_000), lambda);
        var counts = new long[3];
        foreach (int k in Hard.ArgMax(concrete.Sample(new Rng(21)))) counts[k]++;
        AssertFits(counts, Alpha.Select(a => a / Alpha.Sum()).ToArray(), $"Concrete rounding (Prop. 1b) at λ = {lambda}");
    }

    [Fact]
    public void BinaryConcreteExceedsOneHalfWithProbabilityAlphaOverOnePlusAlpha()
    {
        foreach (double alpha in new[] { 0.2, 1, 3 })
            foreach (double lambda in new[] { 0.1, 0.5, 1, 2 })
            {
                var x = new BinaryConcrete<double>(Tensor<double>.Full(new Shape(100_000), Math.Log(alpha)), lambda).Sample(new Rng(31));
                long above = x.ToDoubles().Count(v => v > 0.5);
                double p = alpha / (1 + alpha);
                AssertFits([above, 100_000 - above], [p, 1 - p], $"Binary Concrete rounding (Prop. 2b) α = {alpha}, λ = {lambda}");
            }
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.7)]
    public void SamplesMatchTheDirectFormulasOnTheSameUniforms(double lambda)
    {
        double[] logits = [0.3, -1.2, 2.0, 0.0];
        var logitsTensor = Tensor<double>.FromDoubles(logits, 4);

        // ExpConcrete: Y_k = (log α_k + G_k)/λ − LSE_i((log α_i + G_i)/λ), G = −log(−log U) (appendix C.3).
        var y = new ExpConcrete<double>(logitsTensor, lambda).Sample(new Rng(41)).ToDoubles();
        var x = new Concrete<double>(logitsTensor, lambda).Sample(new Rng(41)).ToDoubles();
        var rng = new Rng(41);
        var scaled = logits.Select(l => (l - Math.Log(-Math.Log(rng.NextDouble()))) / lambda).ToArray();
        double lse = LogSumExp(scaled);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(scaled[k] - lse, y[k], 1e-9 * (1 + Math.Abs(y[k])));
            Assert.Equal(Math.Exp(scaled[k] - lse), x[k], 1e-9);
        }

        // Binary: Y = (log α + log U − log(1 − U))/λ (Eq. 26), X = σ(Y) (Eq. 16).
        var node = new LogitBinaryConcrete<double>(logitsTensor, lambda).Sample(new Rng(43)).ToDoubles();
        var binary = new BinaryConcrete<double>(logitsTensor, lambda).Sample(new Rng(43)).ToDoubles();
        rng = new Rng(43);
        for (int i = 0; i < 4; i++)
        {
            double u = rng.NextDouble(), expected = (logits[i] + Math.Log(u) - Math.Log(1 - u)) / lambda;
            Assert.Equal(expected, node[i], 1e-9 * (1 + Math.Abs(expected)));
            Assert.Equal(Sigmoid(expected), binary[i], 1e-9);
        }
    }

    // ---- densities against direct formulas ----------------------------------------------------------

    public static TheoryData<double> Temperatures => [0.05, 0.3, 1.0, 2.5];

    [Theory]
    [MemberData(nameof(Temperatures))]
    public void LogitNodeAndBinaryConcreteMatchTheirDirectFormulas(double lambda)
    {
        double[] logits = [-1.5, 0.2, 0.2, 2.0, 0.0, -0.4];
        double[] y = [-30, -1.3, 0.0, 4.0, 70, 12];
        var logitsTensor = Tensor<double>.FromDoubles(logits, 6);
        var node = new LogitBinaryConcrete<double>(logitsTensor, lambda);
        var logG = node.LogProb(Tensor<double>.FromDoubles(y, 6)).ToDoubles();
        var xs = y.Select(Sigmoid).ToArray();
        for (int i = 0; i < 6; i++)
        {
            // Appendix C.3.2: log g(y) = log λ − λy + log α − 2 log(1 + exp(−λy + log α)).
            double direct = Math.Log(lambda) - lambda * y[i] + logits[i] - 2 * Math.Log(1 + Math.Exp(-lambda * y[i] + logits[i]));
            Assert.Equal(direct, logG[i], 1e-10 * (1 + Math.Abs(direct)));

            // Eq. 17: p(x) = λ α x^{−λ−1} (1−x)^{−λ−1} / (α x^{−λ} + (1−x)^{−λ})², and log g(y) = log p(σ(y)) + log σ'(y).
            double xi = xs[i], alpha = Math.Exp(logits[i]);
            if (xi is <= 1e-12 or >= 1 - 1e-12) continue;    // σ(y) rounds to 1 (y = 70), and Eq. 17 in powers of x loses precision at the ends
            double logP = new BinaryConcrete<double>(Tensor<double>.Scalar(logits[i]), lambda).LogProb(Tensor<double>.Scalar(xi)).Item();
            double eq17 = Math.Log(lambda * alpha) + (-lambda - 1) * (Math.Log(xi) + Math.Log(1 - xi))
                          - 2 * Math.Log(alpha * Math.Pow(xi, -lambda) + Math.Pow(1 - xi, -lambda));
            Assert.Equal(eq17, logP, 1e-8 * (1 + Math.Abs(eq17)));
            Assert.Equal(logG[i], eq17 + Math.Log(xi * (1 - xi)), 1e-8 * (1 + Math.Abs(eq17)));
        }
    }

    [Theory]
    [MemberData(nameof(Temperatures))]
    public void ExpConcreteAndConcreteMatchTheirDirectFormulas(double lambda)
    {
        double[] logits = [0.3, -1.2, 2.0, 0.0, 1.0, 1.0, -3.0, 0.5];
        double[] free = [0.5, -2.0, 1.0, 0.1, -0.4, 3.0, 0.0, -1.0];
        int n = 4;
        var y = new double[8];
        for (int r = 0; r < 2; r++)
        {
            double lse = LogSumExp(free.AsSpan(r * n, n));
            for (int k = 0; k < n; k++) y[r * n + k] = free[r * n + k] - lse;
        }
        var logitsTensor = Tensor<double>.FromDoubles(logits, 2, n);
        var logKappa = new ExpConcrete<double>(logitsTensor, lambda).LogProb(Tensor<double>.FromDoubles(y, 2, n)).ToDoubles();
        var logP = new Concrete<double>(logitsTensor, lambda).LogProb(Tensor<double>.FromDoubles(y.Select(v => Math.Exp(v)).ToArray(), 2, n)).ToDoubles();
        for (int r = 0; r < 2; r++)
        {
            var a = logits.AsSpan(r * n, n).ToArray().Select(v => Math.Exp(v)).ToArray();
            var yr = y.AsSpan(r * n, n).ToArray();
            var xr = yr.Select(v => Math.Exp(v)).ToArray();
            double constant = LogFactorial(n - 1) + (n - 1) * Math.Log(lambda);
            // Cheat sheet: κ(y) = (n−1)! λ^{n−1} Π_k α_k e^{−λy_k} / Σ_i α_i e^{−λy_i}.
            double kappaDenominator = Enumerable.Range(0, n).Sum(i => a[i] * Math.Exp(-lambda * yr[i]));
            double kappa = constant + Enumerable.Range(0, n).Sum(k => Math.Log(a[k]) - lambda * yr[k] - Math.Log(kappaDenominator));
            // Eq. 11: p(x) = (n−1)! λ^{n−1} Π_k α_k x_k^{−λ−1} / Σ_i α_i x_i^{−λ}.
            double denominator = Enumerable.Range(0, n).Sum(i => a[i] * Math.Pow(xr[i], -lambda));
            double eq11 = constant + Enumerable.Range(0, n).Sum(k => Math.Log(a[k]) + (-lambda - 1) * Math.Log(xr[k]) - Math.Log(denominator));
            Assert.Equal(kappa, logKappa[r], 1e-9 * (1 + Math.Abs(kappa)));
            Assert.Equal(eq11, logP[r], 1e-9 * (1 + Math.Abs(eq11)));
            // ExpConcrete is Concrete plus the log-Jacobian Σ_k y_k of exp.
            Assert.Equal(logKappa[r], logP[r] + yr.Sum(), 1e-9 * (1 + Math.Abs(kappa)));
        }
    }

    [Fact]
    public void LogProbAtAnotherTemperatureEqualsTheDistributionAtThatTemperature()
    {
        var logits = Tensor<double>.FromDoubles([0.3, -1.2, 2.0], 3);
        var y = new ExpConcrete<double>(logits, 0.5).Sample(new Rng(1));
        Assert.Equal(new ExpConcrete<double>(logits, 2.0).LogProb(y).Item(), new ExpConcrete<double>(logits, 0.5).LogProb(y, 2.0).Item(), 12);
        var node = new LogitBinaryConcrete<double>(logits, 0.5);
        var v = node.Sample(new Rng(2));
        Assert.Equal(new LogitBinaryConcrete<double>(logits, 0.1).LogProb(v).ToDoubles(), node.LogProb(v, 0.1).ToDoubles());
    }

    // ---- normalization ------------------------------------------------------------------------------

    [Theory]
    [InlineData(0.5, 0.5)]
    [InlineData(3.0, 1.0)]
    [InlineData(1.0, 2.0)]
    [InlineData(0.2, 0.7)]
    public void BinaryConcreteDensityIntegratesToOne(double alpha, double lambda)
    {
        // ∫₀¹ p(x) dx = ∫ p(σ(t)) σ'(t) dt; σ(t) < 1 in double needs t ≤ 36, where the right tail left out is below e^{−36λ}·α^{1/λ}.
        double lower = -(45 + Math.Abs(Math.Log(alpha))) / lambda, upper = 36, h = 0.01;
        int points = (int)Math.Round((upper - lower) / h) | 1;
        h = (upper - lower) / (points - 1);
        var t = Enumerable.Range(0, points).Select(i => lower + i * h).ToArray();
        var x = Tensor<double>.FromDoubles(t.Select(Sigmoid).ToArray(), points);
        var logP = new BinaryConcrete<double>(Tensor<double>.Full(new Shape(points), Math.Log(alpha)), lambda).LogProb(x).ToDoubles();
        var w = SimpsonWeights(points, h);
        double integral = Enumerable.Range(0, points).Sum(i => w[i] * Math.Exp(logP[i]) * Sigmoid(t[i]) * Sigmoid(-t[i]));
        Assert.Equal(1.0, integral, 1e-6);
    }

    [Theory]
    [InlineData(0.7)]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void ConcreteDensityIntegratesToOneForTwoClasses(double lambda)
    {
        // x = (σ(t), σ(−t)), dx₁ = σ(t)σ(−t) dt; |t| ≤ 36 keeps x₁ < 1; the tails left out are below e^{−36λ + 1}.
        double h = 0.01;
        int points = 7201;
        var t = Enumerable.Range(0, points).Select(i => -36 + i * h).ToArray();
        var x = Tensor<double>.FromDoubles(t.SelectMany(v => new[] { Sigmoid(v), Sigmoid(-v) }).ToArray(), points, 2);
        var logits = RepeatedLogits([2, 0.5], points);
        var logP = new Concrete<double>(logits, lambda).LogProb(x).ToDoubles();
        var w = SimpsonWeights(points, h);
        double integral = Enumerable.Range(0, points).Sum(i => w[i] * Math.Exp(logP[i]) * Sigmoid(t[i]) * Sigmoid(-t[i]));
        Assert.Equal(1.0, integral, 1e-6);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(2.0)]
    public void ConcreteDensityIntegratesToOneForThreeClasses(double lambda)
    {
        // x = softmax(t₁, t₂, 0): the Jacobian of (t₁, t₂) ↦ (x₁, x₂) is x₁x₂x₃ (matrix determinant lemma).
        const double range = 35, h = 0.1;
        int side = (int)(2 * range / h) + 1, points = side * side;
        var values = new double[points * 3];
        var jacobian = new double[points];
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++)
            {
                double t1 = -range + i * h, t2 = -range + j * h;
                int p = i * side + j;
                // Each coordinate as 1/(1 + Σ e^{t_i − t_k}) so none rounds to 1 near the corners.
                values[3 * p] = 1 / (1 + Math.Exp(t2 - t1) + Math.Exp(-t1));
                values[3 * p + 1] = 1 / (1 + Math.Exp(t1 - t2) + Math.Exp(-t2));
                values[3 * p + 2] = 1 / (1 + Math.Exp(t1) + Math.Exp(t2));
                jacobian[p] = values[3 * p] * values[3 * p + 1] * values[3 * p + 2];
            }
        var logP = new Concrete<double>(RepeatedLogits(Alpha, points), lambda).LogProb(Tensor<double>.FromDoubles(values, points, 3)).ToDoubles();
        var w = SimpsonWeights(side, h);
        double integral = 0;
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++)
                integral += w[i] * w[j] * Math.Exp(logP[i * side + j]) * jacobian[i * side + j];
        Assert.Equal(1.0, integral, 1e-6);
    }

    // ---- low temperature in float -------------------------------------------------------------------

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.1)]
    public void ExpConcreteLogProbsAndGradientsStayFiniteOverAMillionFloatDraws(double lambda)
    {
        const int batches = 10, rows = 100_000, n = 5;
        var rng = new Rng(51);
        for (int b = 0; b < batches; b++)
        {
            var posteriorLogits = RandomLogits(rng, rows * n, 8).Reshape(rows, n).Detach().AsParameter();
            var priorLogits = RandomLogits(rng, rows * n, 8).Reshape(rows, n).Detach().AsParameter();
            var posterior = new ExpConcrete<float>(posteriorLogits, lambda);
            var y = posterior.RSample(rng);
            var logQ = posterior.LogProb(y);
            var logP = new ExpConcrete<float>(priorLogits, 2 * lambda).LogProb(y);
            AssertFinite(y, "ExpConcrete draw");
            AssertFinite(logQ, "log κ posterior");
            AssertFinite(logP, "log κ prior at λ2 = 2λ");
            (logQ - logP).Sum().Backward();
            AssertFinite(posteriorLogits.Grad!, "∂/∂ posterior logits");
            AssertFinite(priorLogits.Grad!, "∂/∂ prior logits");
        }
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.1)]
    public void LogitBinaryConcreteLogProbsAndGradientsStayFiniteOverAMillionFloatDraws(double lambda)
    {
        const int batches = 10, rows = 100_000;
        var rng = new Rng(53);
        for (int b = 0; b < batches; b++)
        {
            var posteriorLogits = RandomLogits(rng, rows, 8).AsParameter();
            var priorLogits = RandomLogits(rng, rows, 8).AsParameter();
            var posterior = new LogitBinaryConcrete<float>(posteriorLogits, lambda);
            var y = posterior.RSample(rng);
            var logQ = posterior.LogProb(y);
            var logP = new LogitBinaryConcrete<float>(priorLogits, 2 * lambda).LogProb(y);
            AssertFinite(y, "logit node draw");
            AssertFinite(logQ, "log g posterior");
            AssertFinite(logP, "log g prior at λ2 = 2λ");
            (logQ - logP + posterior.StraightThrough(y)).Sum().Backward();
            AssertFinite(posteriorLogits.Grad!, "∂/∂ posterior logits");
            AssertFinite(priorLogits.Grad!, "∂/∂ prior logits");
        }
    }

    static Tensor<float> RandomLogits(Rng rng, int size, double range)
    {
        var t = Tensor<float>.Zeros(size);
        var s = t.Span;
        for (int i = 0; i < size; i++) s[i] = (float)(range * (2 * rng.NextDouble() - 1));
        return t;
    }

    static void AssertFinite(Tensor<float> t, string what)
    {
        var s = t.Span;
        for (int i = 0; i < s.Length; i++)
            Assert.True(float.IsFinite(s[i]), $"{what}: element {i} is {s[i]}.");
    }

    // ---- discrete counterparts and straight-through ---------------------------------------------------

    [Fact]
    public void ToDiscreteRunsTheSameGraphWithArgmaxOrStep()
    {
        var logits = Tensor<double>.FromDoubles([0.5, -0.2, 1.0, 0.0, -2.0, 0.3], 2, 3);
        var expConcrete = new ExpConcrete<double>(logits, 0.3);
        Assert.Equal(expConcrete.ToDiscrete().Sample(new Rng(61)).ToDoubles(), expConcrete.Discretize(expConcrete.RSample(new Rng(61))).ToDoubles());
        var concrete = new Concrete<double>(logits, 0.3);
        Assert.Equal(concrete.ToDiscrete().Sample(new Rng(62)).ToDoubles(), concrete.Discretize(concrete.RSample(new Rng(62))).ToDoubles());

        var binaryLogits = Tensor<double>.FromDoubles([0.5, -0.2, 1.0, 0.0, -2.0, 0.3], 6);
        var node = new LogitBinaryConcrete<double>(binaryLogits, 0.3);
        Assert.Equal(node.ToDiscrete().Sample(new Rng(63)).ToDoubles(), node.Discretize(node.RSample(new Rng(63))).ToDoubles());
        var binary = new BinaryConcrete<double>(binaryLogits, 0.3);
        Assert.Equal(binary.ToDiscrete().Sample(new Rng(64)).ToDoubles(), binary.Discretize(binary.RSample(new Rng(64))).ToDoubles());
        Assert.Equal(binaryLogits.ToDoubles(), binary.ToDiscrete().Logits.ToDoubles());
    }

    [Fact]
    public void StraightThroughIsHardForwardAndRelaxedBackward()
    {
        var logits = Tensor<double>.FromDoubles([0.5, -0.2, 1.0, 0.0], 4).AsParameter();
        var node = new LogitBinaryConcrete<double>(logits, 0.5);
        var y = node.RSample(new Rng(71));
        var hard = node.StraightThrough(y);
        Assert.Equal(node.Discretize(y).ToDoubles(), hard.ToDoubles());
        var weights = Tensor<double>.FromDoubles([1, -2, 3, 0.5], 4);
        (hard * weights).Sum().Backward();
        var straightThrough = logits.Grad!.ToDoubles();
        logits.ZeroGrad();
        (node.RSample(new Rng(71)).Sigmoid() * weights).Sum().Backward();
        Assert.Equal(logits.Grad!.ToDoubles(), straightThrough);

        var nLogits = Tensor<double>.FromDoubles([0.5, -0.2, 1.0, 0.0, 2.0, -1.0], 2, 3).AsParameter();
        var expConcrete = new ExpConcrete<double>(nLogits, 0.5);
        var oneHot = expConcrete.StraightThrough(expConcrete.RSample(new Rng(72)));
        Assert.Equal(expConcrete.Discretize(expConcrete.RSample(new Rng(72))).ToDoubles(), oneHot.ToDoubles());
        var nWeights = Tensor<double>.FromDoubles([1, -2, 3, 0.5, 0.1, -1], 2, 3);
        (oneHot * nWeights).Sum().Backward();
        straightThrough = nLogits.Grad!.ToDoubles();
        nLogits.ZeroGrad();
        (expConcrete.RSample(new Rng(72)).Exp() * nWeights).Sum().Backward();
        Assert.Equal(nLogits.Grad!.ToDoubles(), straightThrough);
    }

    // ---- gradients of the composed log-densities ------------------------------------------------------

    static void AssertPasses(string what, GradCheckResult result) => Assert.True(result.Passed, $"{what}: {result}");

    [Fact]
    public void LogDensityGradientsMatchFiniteDifferences()
    {
        var logits = Tensor<double>.FromDoubles([0.3, -1.2, 2.0, 0.0, 1.0, -0.5], 2, 3);
        var free = Tensor<double>.FromDoubles([0.5, -2.0, 1.0, 0.1, -0.4, 3.0], 2, 3);
        AssertPasses("ExpConcrete", GradCheck.Check(x => new ExpConcrete<double>(x[0], 0.4).LogProb(x[1].LogSoftmax(), 1.3), [logits, free]));
        AssertPasses("Concrete", GradCheck.Check(x => new Concrete<double>(x[0], 0.4).LogProb(x[1].Softmax()), [logits.Clone(), free.Clone()]));
        var binaryLogits = Tensor<double>.FromDoubles([0.3, -1.2, 2.0], 3);
        var y = Tensor<double>.FromDoubles([4.0, -0.5, 30.0], 3);
        AssertPasses("LogitBinaryConcrete", GradCheck.Check(x => new LogitBinaryConcrete<double>(x[0], 0.2).LogProb(x[1]), [binaryLogits, y]));
        AssertPasses("BinaryConcrete", GradCheck.Check(x => new BinaryConcrete<double>(x[0], 0.7).LogProb(x[1].Sigmoid()), [binaryLogits.Clone(), Tensor<double>.FromDoubles([1.0, -0.5, 3.0], 3)]));
        // the fused Σ over the last axis, at the prior temperature (not the distribution's own)
        AssertPasses("LogitBinaryConcrete.LogProbSum", GradCheck.Check(x => new LogitBinaryConcrete<double>(x[0], 0.2).LogProbSum(x[1], 0.5), [logits.Clone(), free.Clone()]));
    }

    /// <summary>The fused LogProbSum is LogProb(...).Sum(-1) to the bit, value and both gradients, short and long (split over the pool).</summary>
    [Theory]
    [InlineData(3, 7)]
    [InlineData(64, 200)]
    [InlineData(400, 200)]
    public void FusedLogProbSumEqualsTheChainBitForBit(int rows, int units)
    {
        var rng = new Rng(91);
        float[] Draw(double scale) => Enumerable.Range(0, rows * units).Select(_ => (float)(scale * rng.NextNormal())).ToArray();
        var logits = Draw(2); var y = Draw(6); var upstream = Draw(1).Take(rows).ToArray();
        (float[] Value, float[] GLogits, float[] GValue) Run(bool fused)
        {
            var l = Tensor<float>.FromArray(logits, rows, units).AsParameter("logits");
            var v = Tensor<float>.FromArray(y, rows, units).AsParameter("y");
            var q = new LogitBinaryConcrete<float>(l, 2.0 / 3);
            var sum = fused ? q.LogProbSum(v, 0.5) : q.LogProb(v, 0.5).Sum(-1);
            var value = sum.Span.ToArray();
            sum.Backward(Tensor<float>.FromArray(upstream, rows));
            return (value, l.Grad!.Span.ToArray(), v.Grad!.Span.ToArray());
        }
        var chain = Run(fused: false);
        var fusedRun = Run(fused: true);
        static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();
        Assert.Equal(Bits(chain.Value), Bits(fusedRun.Value));
        Assert.Equal(Bits(chain.GLogits), Bits(fusedRun.GLogits));
        Assert.Equal(Bits(chain.GValue), Bits(fusedRun.GValue));
    }
}
