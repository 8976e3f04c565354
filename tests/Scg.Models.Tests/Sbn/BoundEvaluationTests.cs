using Xunit.Abstractions;
using Scg.Autodiff;
using Scg.Models.Sbn;

namespace Scg.Models.Tests;

/// <summary>
/// L_k on the discrete graph against the exact log-likelihood by enumeration, on a model small enough to enumerate
/// (3 binary latent units, 6 observed): L_1 ≤ L_10 ≤ L_100 ≤ log p(x) up to Monte Carlo error, and L_k → log p(x).
/// </summary>
public class BoundEvaluationTests(ITestOutputHelper output)
{
    const int Features = 6, Rows = 200;

    /// <summary>A 3H-6V model with sharpened weights (so the posterior is far from the untrained q) and data drawn from it.</summary>
    static (SigmoidBeliefNet Model, float[] Data) TinyModelAndData(string spec = "3H-6V")
    {
        var model = new SigmoidBeliefNet(LayerSpec.Parse(spec), new SbnOptions(), TestModels.Family("nvil"), new Rng(11));
        foreach (var p in model.Parameters()) System.Numerics.Tensors.TensorPrimitives.Multiply(p.Span, 2.5f, p.Span);
        var data = model.Generate(Rows, new Rng(12)).ToArray();
        return (model, data);
    }

    [Fact]
    public void BoundsIncreaseWithKTowardsTheExactLogLikelihood()
    {
        var (model, data) = TinyModelAndData();
        double exact = Evaluation.ExactLogLikelihood(model, data, Features);
        Assert.True(double.IsFinite(exact) && exact < 0);

        double l1 = Evaluation.Bound(model, data, 1, new Rng(21));
        double l10 = Evaluation.Bound(model, data, 10, new Rng(22));
        double l100 = Evaluation.Bound(model, data, 100, new Rng(23));
        double l5000 = Evaluation.Bound(model, data, 5000, new Rng(24));

        output.WriteLine($"L_1 {l1:F4}  L_10 {l10:F4}  L_100 {l100:F4}  L_5000 {l5000:F4}  exact {exact:F4}");
        // Monte Carlo error of a mean over 200 rows is a few hundredths here; the gaps between the bounds are larger.
        const double tolerance = 0.05;
        Assert.True(l1 <= l10 + tolerance, $"L_1 = {l1} > L_10 = {l10}");
        Assert.True(l10 <= l100 + tolerance, $"L_10 = {l10} > L_100 = {l100}");
        Assert.True(l100 <= exact + tolerance, $"L_100 = {l100} > exact {exact}");
        Assert.True(l5000 <= exact + 0.01, $"L_5000 = {l5000} > exact {exact}");
        Assert.True(exact - l5000 < 0.02, $"L_5000 = {l5000} is not close to the exact {exact}");
        Assert.True(exact - l1 > 0.1, $"the test model is too easy: L_1 = {l1} is already at the exact {exact}");
    }

    [Fact]
    public void ChunkedEvaluationOfManySamplesMatchesTheExactValue()
    {
        // k larger than maxRows forces Evaluation.Bound to draw the samples of each row in several chunks.
        var (model, data) = TinyModelAndData("2H~6V");
        var few = data.AsSpan(0, 40 * Features);
        double exact = Evaluation.ExactLogLikelihood(model, few, Features);
        double bound = Evaluation.Bound(model, few, 20_000, new Rng(31), maxRows: 4096);
        output.WriteLine($"L_20000 {bound:F5}  exact {exact:F5}");
        // per-row Monte Carlo error of L_20000 here is about 0.07 (heavy-tailed weights of an untrained q): 0.01 on the mean of 40 rows
        Assert.True(Math.Abs(bound - exact) < 0.03, $"L_20000 = {bound}, exact {exact}");
    }

    [Fact]
    public void SeededEvaluationIsReproducible()
    {
        var (model, data) = TinyModelAndData();
        Assert.Equal(Evaluation.Bound(model, data, 7, new Rng(5)), Evaluation.Bound(model, data, 7, new Rng(5)));
    }

    [Fact]
    public void EvaluationRejectsBadArguments()
    {
        var (model, data) = TinyModelAndData();
        Assert.Throws<ArgumentOutOfRangeException>(() => Evaluation.Bound(model, data, 0, new Rng(1)));
        Assert.Throws<ArgumentException>(() => Evaluation.Bound(model, data.AsSpan(1), 1, new Rng(1)));
    }

    /// <summary>
    /// IGR's argmax on the discrete graph depends on τ: a model's family carries the temperature it was trained with,
    /// so two models that differ only in τ evaluate differently, each with its own.
    /// </summary>
    [Fact]
    public void AnIgrModelIsEvaluatedWithTheTemperatureItWasTrainedWith()
    {
        var data = TinyModelAndData().Data;
        SigmoidBeliefNet Igr(double temperature) => new(LayerSpec.Parse("3H-6V"), new SbnOptions(),
            EstimatorChoice.Parse("igr").Family(new NodeSettings { PosteriorTemperature = Stochastic.Estimators.TemperatureSchedule.Constant(temperature) }), new Rng(11));
        double atCold = Evaluation.Bound(Igr(0.3), data, 5, new Rng(1));
        double atDefault = Evaluation.Bound(Igr(2.0 / 3), data, 5, new Rng(1));
        Assert.NotEqual(atDefault, atCold);
        Assert.Equal(atCold, Evaluation.Bound(Igr(0.3), data, 5, new Rng(1)));
    }
}
