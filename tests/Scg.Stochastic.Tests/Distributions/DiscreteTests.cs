using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using static Scg.Stochastic.Tests.Distributions.Statistics;

namespace Scg.Stochastic.Tests.Distributions;

public class DiscreteTests
{
    static readonly double[] Alpha = [2, 0.5, 1, 0.25];

    static Tensor<double> RepeatedLogits(double[] alpha, int rows)
    {
        var logits = new double[rows * alpha.Length];
        for (int i = 0; i < logits.Length; i++) logits[i] = Math.Log(alpha[i % alpha.Length]);
        return Tensor<double>.FromDoubles(logits, rows, alpha.Length);
    }

    static double[] Normalized(double[] alpha) => alpha.Select(a => a / alpha.Sum()).ToArray();

    [Fact]
    public void GumbelMaxFrequenciesMatchAlphaOverSum()
    {
        var categorical = new Categorical<double>(RepeatedLogits(Alpha, 200_000));
        var counts = new long[Alpha.Length];
        foreach (int k in categorical.SampleIndices(new Rng(11))) counts[k]++;
        AssertFits(counts, Normalized(Alpha), "Gumbel-max (Eq. 9)");
    }

    [Fact]
    public void OneHotSamplesAgreeWithIndicesAndLogProbIndices()
    {
        var categorical = new Categorical<double>(RepeatedLogits(Alpha, 50));
        var indices = categorical.SampleIndices(new Rng(3));
        var oneHot = categorical.Sample(new Rng(3));
        Assert.Equal(new Shape(50, 4), oneHot.Shape);
        Assert.Equal(indices, Hard.ArgMax(oneHot));
        var fromOneHot = categorical.LogProb(oneHot).ToDoubles();
        var fromIndices = categorical.LogProbIndices(indices).ToDoubles();
        for (int r = 0; r < 50; r++)
        {
            double direct = Math.Log(Alpha[indices[r]] / Alpha.Sum());
            Assert.Equal(direct, fromOneHot[r], 12);
            Assert.Equal(direct, fromIndices[r], 12);
        }
    }

    [Fact]
    public void CategoricalSamplesAreGumbelMaxOfTheSameUniforms()
    {
        var logits = Alpha.Select(a => Math.Log(a)).ToArray();
        var indices = new Categorical<double>(RepeatedLogits(Alpha, 20)).SampleIndices(new Rng(5));
        var rng = new Rng(5);
        for (int r = 0; r < 20; r++)
        {
            var perturbed = logits.Select(l => l - Math.Log(-Math.Log(rng.NextDouble()))).ToArray();
            Assert.Equal(Array.IndexOf(perturbed, perturbed.Max()), indices[r]);
        }
    }

    [Fact]
    public void BernoulliFrequencyMatchesAlphaOverOnePlusAlpha()
    {
        foreach (double alpha in new[] { 0.1, 1, 4 })
        {
            var bernoulli = new Bernoulli<double>(Tensor<double>.Full(new Shape(100_000), Math.Log(alpha)));
            long ones = (long)bernoulli.Sample(new Rng(7)).ToDoubles().Sum();
            double p = alpha / (1 + alpha);
            AssertFits([ones, 100_000 - ones], [p, 1 - p], $"Bernoulli α = {alpha}");
        }
    }

    [Fact]
    public void BernoulliSamplesAreTheStepOfLogitPlusLogisticNoise()
    {
        double[] logits = [-2, -0.3, 0, 0.7, 3];
        var sample = new Bernoulli<double>(Tensor<double>.FromDoubles(logits, 5)).Sample(new Rng(9)).ToDoubles();
        var rng = new Rng(9);
        for (int i = 0; i < 5; i++)
        {
            double u = rng.NextDouble();
            Assert.Equal(logits[i] + Math.Log(u) - Math.Log(1 - u) > 0 ? 1.0 : 0.0, sample[i]);
        }
    }

    [Fact]
    public void BernoulliLogProbEntropyAndKlMatchEnumeration()
    {
        double[] a = [-3, -0.5, 0, 1.2, 6], b = [0.4, -2, 1, 1.2, -1];
        var p = new Bernoulli<double>(Tensor<double>.FromDoubles(a, 5));
        var q = new Bernoulli<double>(Tensor<double>.FromDoubles(b, 5));
        var logProbOne = p.LogProb(Tensor<double>.Full(new Shape(5), 1)).ToDoubles();
        var logProbZero = p.LogProb(Tensor<double>.Zeros(5)).ToDoubles();
        var entropy = p.Entropy().ToDoubles();
        var kl = Kl.Divergence(p, q).ToDoubles();
        for (int i = 0; i < 5; i++)
        {
            double p1 = Sigmoid(a[i]), q1 = Sigmoid(b[i]);
            Assert.Equal(Math.Log(p1), logProbOne[i], 12);
            Assert.Equal(Math.Log(1 - p1), logProbZero[i], 12);
            Assert.Equal(-(p1 * Math.Log(p1) + (1 - p1) * Math.Log(1 - p1)), entropy[i], 12);
            Assert.Equal(p1 * Math.Log(p1 / q1) + (1 - p1) * Math.Log((1 - p1) / (1 - q1)), kl[i], 12);
        }
    }

    [Fact]
    public void CategoricalEntropyAndKlMatchEnumeration()
    {
        double[] a = [0.3, -1, 2, 0, 5, -4, 0.1, 0.2], b = [1, 1, -1, 0.5, 0, 0, 3, -2];
        var p = new Categorical<double>(Tensor<double>.FromDoubles(a, 2, 4));
        var q = Categorical<double>.FromProbabilities(new Categorical<double>(Tensor<double>.FromDoubles(b, 2, 4)).Probabilities);
        var entropy = p.Entropy().ToDoubles();
        var kl = Kl.Divergence(p, q).ToDoubles();
        for (int r = 0; r < 2; r++)
        {
            var pr = a.Skip(4 * r).Take(4).Select(x => Math.Exp(x)).ToArray();
            var qr = b.Skip(4 * r).Take(4).Select(x => Math.Exp(x)).ToArray();
            double ps = pr.Sum(), qs = qr.Sum();
            double h = 0, d = 0;
            for (int k = 0; k < 4; k++)
            {
                double pk = pr[k] / ps, qk = qr[k] / qs;
                h -= pk * Math.Log(pk);
                d += pk * Math.Log(pk / qk);
            }
            Assert.Equal(h, entropy[r], 12);
            Assert.Equal(d, kl[r], 12);
        }
    }

    [Fact]
    public void FromProbabilitiesRecoversTheProbabilities()
    {
        double[] probabilities = [0.1, 0.25, 0.5, 0.999];
        var bernoulli = Bernoulli<double>.FromProbabilities(Tensor<double>.FromDoubles(probabilities, 4));
        Assert.Equal(probabilities, bernoulli.Probabilities.ToDoubles(), (x, y) => Math.Abs(x - y) < 1e-12);
        var categorical = Categorical<double>.FromProbabilities(Tensor<double>.FromDoubles([0.2, 0.3, 0.5], 3));
        Assert.Equal([0.2, 0.3, 0.5], categorical.Probabilities.ToDoubles(), (x, y) => Math.Abs(x - y) < 1e-12);
        Assert.Equal(Shape.Scalar, categorical.BatchShape);
    }
}
