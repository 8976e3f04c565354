using Scg.Autodiff;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>IGR nodes whose Gaussians have σ held at 1: only the means are parameters.</summary>
public class IgrScaleTests
{
    public static TheoryData<int, NodeEncoding> Layouts => new() { { 2, NodeEncoding.Corners }, { 4, NodeEncoding.OneHot } };

    static IgrNodes<double> Family(NodeLayout layout, IgrScale scale) => new(layout, TemperatureSchedule.Constant(0.5)) { Scale = scale };

    static Tensor<double> Random(int rows, int width, ulong seed)
    {
        var rng = new Rng(seed);
        var values = new double[rows * width];
        for (int i = 0; i < values.Length; i++) values[i] = 2 * rng.NextDouble() - 1;
        return Tensor<double>.FromDoubles(values, rows, width);
    }

    /// <summary>
    /// A unit-scale node on means μ is the learned-scale node on [μ | log σ = 0]: the same draw, value, density of the
    /// draw, prior density and closed-form KL, and the same exact masses of its argmax; its layer takes half the parameters.
    /// </summary>
    [Theory]
    [MemberData(nameof(Layouts))]
    public void AUnitScaleNodeIsTheLearnedNodeWithLogScaleZero(int arity, NodeEncoding encoding)
    {
        const int rows = 4, units = 6;
        var layout = new NodeLayout(arity, encoding);
        var unit = Family(layout, IgrScale.Unit);
        var learned = Family(layout, IgrScale.Learned);
        int width = (int)unit.ParameterWidth(units);
        Assert.Equal(2L * width, learned.ParameterWidth(units));
        Assert.Equal((long)layout.Nodes(units) * (arity - 1), width);

        var mean = Random(rows, width, 3);
        var withLogScale = Ops.Concat(1, mean, Tensor<double>.Zeros(rows, width));
        var priorMean = Random(rows, width, 5);
        var priorWithLogScale = Ops.Concat(1, priorMean, Tensor<double>.Zeros(rows, width));

        var a = unit.Sample(mean, new Rng(9), step: 0);
        var b = learned.Sample(withLogScale, new Rng(9), step: 0);
        Assert.Equal(b.Value.ToDoubles(), a.Value.ToDoubles());
        Assert.Equal(b.LogProb.ToDoubles(), a.LogProb.ToDoubles());
        Assert.Equal(b.LogPrior(priorWithLogScale).ToDoubles(), a.LogPrior(priorMean).ToDoubles());
        Assert.Equal(b.KlToPrior(priorWithLogScale)!.ToDoubles(), a.KlToPrior(priorMean)!.ToDoubles());

        var argMaxUnit = (IgrArgMaxNodes<double>)unit.Discrete;
        var argMaxLearned = (IgrArgMaxNodes<double>)learned.Discrete;
        Assert.Equal(argMaxLearned.Logits(withLogScale, 0.5).ToDoubles(), argMaxUnit.Logits(mean, 0.5).ToDoubles());
    }

    /// <summary>The draw is y = μ + ε with ε ~ N(0, 1) whatever the means: over many draws y − μ has mean 0 and variance 1.</summary>
    [Fact]
    public void UnitScaleDrawsHaveUnitVariance()
    {
        const int rows = 2000, units = 8;
        var unit = Family(new NodeLayout(2), IgrScale.Unit);
        var mean = Random(rows, units, 7) * 3.0;
        var node = unit.Sample(mean, new Rng(11), step: 0);
        // a binary unit's value is the corner coordinate 2σ((y/τ) − log δ) − 1: recover y from it
        var values = node.Value.ToDoubles();
        var means = mean.ToDoubles();
        var noise = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double p = (values[i] + 1) / 2, logit = Math.Log(p / (1 - p));
            noise[i] = 0.5 * (logit + Math.Log(unit.Delta)) - means[i];
        }
        double average = noise.Average(), variance = noise.Sum(e => (e - average) * (e - average)) / (noise.Length - 1);
        Assert.Equal(0, average, 0.03);     // 16,000 draws: standard error 0.008
        Assert.Equal(1, variance, 0.05);    // standard error 0.011
    }

    /// <summary>The draw y = μ + ε is pathwise in the means: ∂/∂μ log N(y; 0, 1) = −y reaches each mean.</summary>
    [Fact]
    public void ThePriorDensityOfTheDrawReachesTheMeansPathwise()
    {
        const int rows = 3, units = 4;
        var unit = Family(new NodeLayout(2), IgrScale.Unit);
        var mean = Random(rows, units, 13).AsParameter("mean");
        var node = unit.Sample(mean, new Rng(17), step: 0);
        node.LogPrior(Tensor<double>.Zeros(rows, units)).Sum().Backward();
        var y = node.Value.ToDoubles().Select((v, i) => 0.5 * (Math.Log((v + 1) / (1 - v)) + Math.Log(unit.Delta))).ToArray();
        var grad = mean.Grad!.ToDoubles();
        for (int i = 0; i < grad.Length; i++) Assert.Equal(-y[i], grad[i], 1e-9);
    }

    /// <summary>A uniform prior is fitted with its σ0 (IGR Eq. 20): a unit-scale family has none to fit and says so.</summary>
    [Fact]
    public void AUnitScaleFamilyRefusesAUniformPrior()
    {
        var e = Assert.Throws<ArgumentException>(() => Family(new NodeLayout(2), IgrScale.Unit).UniformPriorParameters(4));
        Assert.Contains("held at 1", e.Message);
        Assert.Equal(8, Family(new NodeLayout(2), IgrScale.Learned).UniformPriorParameters(4).Shape.Size);
    }
}
