using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Models.Data;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

/// <summary>The networks a layer spec builds: named hidden widths, the activation, and the closed-form KL of IGR nodes.</summary>
public class NetworkShapeTests
{
    static SigmoidBeliefNet Model(string spec, string estimator, SbnOptions options, int arity = 10, ulong seed = 1) =>
        new(LayerSpec.Parse(spec), options, TestModels.Family(estimator, arity, NodeEncoding.OneHot), new Rng(seed));

    static int[][] Sizes(SigmoidBeliefNet model) =>
        [.. model.Parameters().Where(p => p.Name!.EndsWith(".weight", StringComparison.Ordinal)).Select(p => p.Shape.ToArray())];

    /// <summary>The IGR paper's dense discrete VAE: decoder 300 → 256 → 512 → 784, encoder 784 → 512 → 256 → the nodes' parameters.</summary>
    [Theory]
    [InlineData("concrete", 300)]
    [InlineData("igr", 540)]   // μ and log σ of 9 Gaussian coordinates per 10-way node
    public void TheIgrPapersDenseVaeHasItsWidthsMirroredAndReluLayers(string estimator, int parameters)
    {
        var model = Model("30H~256~512~784V", estimator, new SbnOptions { UniformPrior = true, Activation = Activation.Relu });
        int[][] expected = [[300, 256], [256, 512], [512, 784], [784, 512], [512, 256], [256, parameters]];
        var weights = Sizes(model).Select(w => w.Length == 2 ? new[] { w[1], w[0] } : w).ToArray();   // [out, in] → [in, out]
        Assert.Equal(expected.Select(e => $"{e[0]}x{e[1]}"), weights.Select(w => $"{w[0]}x{w[1]}"));
    }

    [Fact]
    public void TheActivationIsTheOneAsked()
    {
        var x = Tensor<float>.FromArray(Enumerable.Range(0, 32).Select(i => (float)(i % 2)).ToArray(), 1, 32);
        double Bound(Activation a) => Evaluation.Bound(Model("3H~8~32V", "concrete", new SbnOptions { Activation = a }, arity: 4), x.Span, 5, new Rng(4));
        Assert.NotEqual(Bound(Activation.Tanh), Bound(Activation.Relu));
    }

    /// <summary>
    /// With a closed-form KL the log-weight is log p(x | z̃) − KL(q ‖ p); its mean over draws equals that of the sampled
    /// log p(z̃) − log q(z̃) version (same expectation), while its spread is smaller.
    /// </summary>
    [Fact]
    public void ClosedFormKlHasTheSampledBoundsMeanAndLessSpread()
    {
        var toy = ToySbn.Load();
        var rows = Tensor<float>.FromArray(toy.Test.Values[..(4 * 32)].ToArray(), 4, 32);
        var sampled = Model("3H~32V", "igr", new SbnOptions(), arity: 4, seed: 7);
        var analytic = Model("3H~32V", "igr", new SbnOptions { AnalyticKl = true }, arity: 4, seed: 7);
        Assert.Equal(Sizes(sampled).Select(s => s.Length), Sizes(analytic).Select(s => s.Length));
        const int draws = 4000;
        (double Mean, double Std) Stats(SigmoidBeliefNet model)
        {
            using var noGrad = Autograd.NoGrad();
            var graph = new StochasticGraph<float>(new Rng(11));
            var w = model.LogWeights(graph, SampleMajor(rows, draws), updateCentering: false).Span.ToArray().Select(v => (double)v).ToArray();
            double mean = w.Average();
            return (mean, Math.Sqrt(w.Sum(v => (v - mean) * (v - mean)) / (w.Length - 1)));
        }
        var (ms, ss) = Stats(sampled);
        var (ma, sa) = Stats(analytic);
        Assert.InRange(ma - ms, -3 * ss / Math.Sqrt(4 * draws), 3 * ss / Math.Sqrt(4 * draws));
        Assert.True(sa < ss, $"closed-form KL: spread {sa}, sampled {ss}");
    }

    static Tensor<float> SampleMajor(Tensor<float> rows, int copies) => Stochastic.Estimators.SampleMajor.Repeat(rows, copies);

    [Fact]
    public void ClosedFormKlIsRefusedWhereItDoesNotExist()
    {
        var e = Assert.Throws<ArgumentException>(() => Model("3H~32V", "concrete", new SbnOptions { AnalyticKl = true }, arity: 4));
        Assert.Contains("closed-form KL needs a density model whose nodes have one (IGR)", e.Message);
        var model = Model("3H~32V", "igr", new SbnOptions { AnalyticKl = true }, arity: 4);
        var rows = Tensor<float>.Zeros(2, 32);
        var m = Assert.Throws<ArgumentOutOfRangeException>(() => model.LogWeights(new StochasticGraph<float>(new Rng(1)), rows, updateCentering: false, samples: 2));
        Assert.Contains("one sample per data point, got 2", m.Message);
        // the discrete graph ignores it: L_k is the bound of the discrete model
        Assert.True(double.IsFinite(Evaluation.Bound(model, rows.Span, 3, new Rng(2))));
    }

    /// <summary>
    /// The relaxed test bound is the mean of one relaxed log-weight per row, drawn in chunks of at most maxRows rows;
    /// the draws come from the generator in row order, so the chunking does not change them.
    /// </summary>
    [Fact]
    public void TheRelaxedBoundIsTheMeanRelaxedLogWeight()
    {
        var toy = ToySbn.Load();
        var model = Model("3H~32V", "concrete", new SbnOptions(), arity: 4);
        var data = toy.Test.Values[..(10 * 32)];
        double expected;
        using (Autograd.NoGrad())
        {
            var w = model.LogWeights(new StochasticGraph<float>(new Rng(5), step: 3), Tensor<float>.FromArray(data.ToArray(), 10, 32), updateCentering: false).Span.ToArray();
            expected = w.Select(v => (double)v).Average();
        }
        Assert.Equal(expected, Evaluation.RelaxedBound(model, data, new Rng(5), step: 3), 12);
        double chunked = Evaluation.RelaxedBound(model, data, new Rng(5), step: 3, maxRows: 4);
        Assert.Equal(expected, chunked, 12);
    }
}

/// <summary>The vanishing-gradient count of the IGR paper's Figure 4: zeros of the gradient through the drawn values.</summary>
public class VanishingGradientTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static double Fraction(string estimator, double temperature, int scale)
    {
        var toy = ToySbn.Load();
        var nodes = new NodeSettings { Arity = 10, Encoding = NodeEncoding.OneHot, PosteriorTemperature = Stochastic.Estimators.TemperatureSchedule.Constant(temperature), PriorTemperature = Stochastic.Estimators.TemperatureSchedule.Constant(temperature) };
        var choice = EstimatorChoice.Parse(estimator);
        var model = new SigmoidBeliefNet(LayerSpec.Parse("4H~16~32V"), new SbnOptions { UniformPrior = true }, choice.Family(nodes), new Rng(3));
        foreach (var p in model.Parameters()) { var s = p.Span; for (int i = 0; i < s.Length; i++) s[i] *= scale; }   // confident encoder
        var trainer = Trainer.Create(model, choice.Create(1), new TrainSettings { BatchSize = 32 }, new Rng(4));
        var batch = Tensor<float>.FromArray(toy.Train.Values[..(32 * 32)].ToArray(), 32, 32);
        double before = trainer.Model.Parameters().Sum(p => p.Span.ToArray().Sum(v => (double)v));
        double f = trainer.VanishingFraction(batch);
        Assert.Equal(before, trainer.Model.Parameters().Sum(p => p.Span.ToArray().Sum(v => (double)v)));   // no update
        return f;
    }

    [Fact]
    public void GumbelSoftmaxGradientsVanishAtLowTemperatureAndNotAtOne()
    {
        double cold = Fraction("concrete", 0.05, 20), warm = Fraction("concrete", 1, 1), igr = Fraction("igr", 1, 1);
        output.WriteLine($"GS τ=0.05 {cold:P2}, GS τ=1 {warm:P2}, IGR τ=1 {igr:P2}");
        Assert.True(cold > 0.2, $"GS at τ = 0.05 with a confident encoder: {cold:P2} of the gradient vanished");
        Assert.Equal(0, warm);
        Assert.Equal(0, igr);
    }
}
