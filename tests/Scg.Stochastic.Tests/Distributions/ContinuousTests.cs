using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using static Scg.Stochastic.Tests.Distributions.Statistics;

namespace Scg.Stochastic.Tests.Distributions;

public class ContinuousTests
{
    const int MonteCarloDraws = 200_000;

    /// <summary>Asserts a Monte-Carlo mean lies within 6 standard errors of the closed form (two-sided p ≈ 2e-9).</summary>
    static void AssertMonteCarloAgrees(double closedForm, double[] draws, string what)
    {
        var (mean, error) = MeanAndError(draws);
        Assert.True(Math.Abs(mean - closedForm) < 6 * error, $"{what}: closed form {closedForm:G6}, Monte-Carlo {mean:G6} ± {error:G3}.");
    }

    [Fact]
    public void GumbelSamplesLogProbAndEntropyMatchDirectFormulas()
    {
        double[] mu = [0.0, -1.5, 2.0], beta = [1.0, 0.3, 2.5];
        var gumbel = new Gumbel<double>(Tensor<double>.FromDoubles(mu, 3), Tensor<double>.FromDoubles(beta, 3));
        var x = gumbel.Sample(new Rng(81)).ToDoubles();
        var rng = new Rng(81);
        var logP = gumbel.LogProb(Tensor<double>.FromDoubles(x, 3)).ToDoubles();
        var entropy = gumbel.Entropy().ToDoubles();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(mu[i] - beta[i] * Math.Log(-Math.Log(rng.NextDouble())), x[i], 1e-12);
            double z = (x[i] - mu[i]) / beta[i];
            Assert.Equal(-Math.Log(beta[i]) - z - Math.Exp(-z), logP[i], 1e-12);
            Assert.Equal(Math.Log(beta[i]) + 0.5772156649015329 + 1, entropy[i], 12);
        }
        var many = new Gumbel<double>(Tensor<double>.Full(new Shape(MonteCarloDraws), 0.5), Tensor<double>.Full(new Shape(MonteCarloDraws), 0.3));
        AssertMonteCarloAgrees(many.Entropy().ToDoubles()[0], many.LogProb(many.Sample(new Rng(82))).ToDoubles().Select(v => -v).ToArray(), "Gumbel entropy");
    }

    [Fact]
    public void LogisticFollowsTheCheatSheetParameterization()
    {
        double[] mu = [0.0, -1.5, 2.0];
        const double lambda = 0.4;
        var logistic = new Logistic<double>(Tensor<double>.FromDoubles(mu, 3), lambda);
        var x = logistic.Sample(new Rng(83)).ToDoubles();
        var rng = new Rng(83);
        var logP = logistic.LogProb(Tensor<double>.FromDoubles(x, 3)).ToDoubles();
        for (int i = 0; i < 3; i++)
        {
            double u = rng.NextDouble();
            Assert.Equal((Math.Log(u) - Math.Log(1 - u) + mu[i]) / lambda, x[i], 1e-9);
            // λ e^{−λx+μ} / (1 + e^{−λx+μ})²
            double e = Math.Exp(-lambda * x[i] + mu[i]);
            Assert.Equal(Math.Log(lambda * e / ((1 + e) * (1 + e))), logP[i], 1e-10);
        }
        // The logit Binary Concrete node is Logistic(log α, λ) (appendix C.3.2).
        var node = new LogitBinaryConcrete<double>(Tensor<double>.FromDoubles(mu, 3), lambda);
        Assert.Equal(logP, node.LogProb(Tensor<double>.FromDoubles(x, 3)).ToDoubles());

        var many = new Logistic<double>(Tensor<double>.Full(new Shape(MonteCarloDraws), 0.7), lambda);
        AssertMonteCarloAgrees(many.Entropy().ToDoubles()[0], many.LogProb(many.Sample(new Rng(84))).ToDoubles().Select(v => -v).ToArray(), "Logistic entropy");
    }

    [Fact]
    public void NormalLogProbEntropyAndKlMatchDirectFormulasAndMonteCarlo()
    {
        double[] mu = [0.5, -1, 2], sigma = [1, 0.2, 3], muQ = [0, 0, 1], sigmaQ = [2, 0.5, 1];
        var p = new Normal<double>(Tensor<double>.FromDoubles(mu, 3), Tensor<double>.FromDoubles(sigma, 3));
        var q = new Normal<double>(Tensor<double>.FromDoubles(muQ, 3), Tensor<double>.FromDoubles(sigmaQ, 3));
        Assert.Equal(Shape.Scalar, p.BatchShape);
        double[] x = [0.1, -1.3, 4];
        double direct = Enumerable.Range(0, 3).Sum(i => -0.5 * Math.Pow((x[i] - mu[i]) / sigma[i], 2) - Math.Log(sigma[i]) - 0.5 * Math.Log(2 * Math.PI));
        Assert.Equal(direct, p.LogProb(Tensor<double>.FromDoubles(x, 3)).Item(), 12);
        Assert.Equal(Enumerable.Range(0, 3).Sum(i => 0.5 * Math.Log(2 * Math.PI * Math.E * sigma[i] * sigma[i])), p.Entropy().Item(), 12);
        double kl = Enumerable.Range(0, 3).Sum(i => Math.Log(sigmaQ[i] / sigma[i]) + (sigma[i] * sigma[i] + Math.Pow(mu[i] - muQ[i], 2)) / (2 * sigmaQ[i] * sigmaQ[i]) - 0.5);
        Assert.Equal(kl, Kl.Divergence(p, q).Item(), 12);

        var rng = new Rng(85);
        var ratios = new double[20_000];
        for (int s = 0; s < ratios.Length; s++)
        {
            var draw = p.Sample(rng);
            ratios[s] = p.LogProb(draw).Item() - q.LogProb(draw).Item();
        }
        AssertMonteCarloAgrees(kl, ratios, "Normal KL");
    }
}
