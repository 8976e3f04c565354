using Scg.Autodiff;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>What relaxed categorical nodes pass downstream: the point on the simplex, or its logarithm.</summary>
public class RelaxedOutputTests
{
    static readonly NodeLayout OneHot4 = new(4, NodeEncoding.OneHot);

    public static TheoryData<string> RelaxedFamilies => new() { "concrete", "igr" };

    static NodeFamily<double> Family(string name, RelaxedOutput output, NodeLayout layout) => name == "concrete"
        ? new ConcreteNodes<double>(layout, TemperatureSchedule.Constant(0.5), TemperatureSchedule.Constant(0.5)) { Output = output }
        : new IgrNodes<double>(layout, TemperatureSchedule.Constant(0.5)) { Output = output };

    /// <summary>
    /// The values of one draw (the same parameters and noise) from a simplex family and from one passing
    /// <paramref name="output"/> on, 3 nodes of 4 categories in 5 rows; the draw's density must be the same.
    /// </summary>
    static (double[] Simplex, double[] Other) SameDraw(string name, RelaxedOutput output)
    {
        const int rows = 5, nodes = 3;
        var simplex = Family(name, RelaxedOutput.Simplex, OneHot4);
        var other = Family(name, output, OneHot4);
        int width = (int)simplex.ParameterWidth(nodes);
        var rng = new Rng(3);
        var values = new double[rows * width];
        for (int i = 0; i < values.Length; i++) values[i] = 2 * rng.NextDouble() - 1;
        var parameters = Tensor<double>.FromDoubles(values, rows, width);

        var onSimplex = simplex.Sample(parameters, new Rng(9), step: 0);
        var onOther = other.Sample(parameters, new Rng(9), step: 0);
        Assert.Equal(onSimplex.Value.Shape, onOther.Value.Shape);
        Assert.Equal(onSimplex.LogProb.ToDoubles(), onOther.LogProb.ToDoubles());
        return (onSimplex.Value.ToDoubles(), onOther.Value.ToDoubles());
    }

    /// <summary>
    /// From the same parameters and noise, the log-simplex node's value is the logarithm of the simplex node's value,
    /// coordinate by coordinate (each node's values log-sum-exp to 0), and the draw's density is the same.
    /// </summary>
    [Theory]
    [MemberData(nameof(RelaxedFamilies))]
    public void TheLogSimplexValueIsTheLogarithmOfTheSimplexValueOfTheSameDraw(string name)
    {
        var (p, l) = SameDraw(name, RelaxedOutput.LogSimplex);
        for (int i = 0; i < p.Length; i++) Assert.Equal(p[i], Math.Exp(l[i]), 1e-12);
        for (int node = 0; node < l.Length / 4; node++)
            Assert.Equal(0, Math.Log(Enumerable.Range(0, 4).Sum(j => Math.Exp(l[node * 4 + j]))), 1e-12);
        Assert.Contains(l, v => v < -0.1);   // a value on the log scale, not the simplex point itself
    }

    /// <summary>
    /// IGR's Gaussian log-softmax value from the same parameters and noise: with p the softmax++ point of the draw,
    /// y_j/τ − log δ = log p_j − log p_n, so log softmax(y/τ)_j = log(p_j / (1 − p_n)) for j &lt; n, and the n-th value is 0.
    /// The draw's density is the same, and the family is evaluated as itself.
    /// </summary>
    [Fact]
    public void TheGaussianLogSoftmaxValueIsTheLogSoftmaxOfTheGaussianCoordinatesThenZero()
    {
        const int n = 4;
        var (p, l) = SameDraw("igr", RelaxedOutput.GaussianLogSoftmax);
        for (int node = 0; node < p.Length / n; node++)
        {
            double last = p[node * n + n - 1];
            for (int j = 0; j < n - 1; j++) Assert.Equal(Math.Log(p[node * n + j] / (1 - last)), l[node * n + j], 1e-12);
            Assert.Equal(0, l[node * n + n - 1]);
        }
        var gaussianLog = Family("igr", RelaxedOutput.GaussianLogSoftmax, OneHot4);
        Assert.Same(gaussianLog, gaussianLog.Discrete);
        Assert.True(gaussianLog.EvaluatesRelaxed);
    }

    /// <summary>Concrete nodes have no Gaussian coordinates, and binary or corner IGR nodes no categories to take a log-softmax over: both are refused.</summary>
    [Fact]
    public void TheGaussianLogSoftmaxOutputIsIgrsAndNeedsOneHotNodes()
    {
        var concrete = Assert.Throws<ArgumentException>(() => Family("concrete", RelaxedOutput.GaussianLogSoftmax, OneHot4));
        Assert.Contains("the Gaussian log-softmax output is IGR's", concrete.Message);
        foreach (var layout in new[] { new NodeLayout(2), new NodeLayout(4, NodeEncoding.Corners) })
        {
            var e = Assert.Throws<ArgumentException>(() => Family("igr", RelaxedOutput.GaussianLogSoftmax, layout));
            Assert.Contains("Gaussian log-softmax output needs one-hot nodes", e.Message);
        }
    }

    /// <summary>Log-simplex values have no discrete counterpart: such a family is its own discrete family, and evaluation scores the relaxed model.</summary>
    [Theory]
    [MemberData(nameof(RelaxedFamilies))]
    public void ALogSimplexFamilyIsEvaluatedAsItself(string name)
    {
        var simplex = Family(name, RelaxedOutput.Simplex, OneHot4);
        var log = Family(name, RelaxedOutput.LogSimplex, OneHot4);
        Assert.NotSame(simplex, simplex.Discrete);
        Assert.False(simplex.EvaluatesRelaxed);
        Assert.Same(log, log.Discrete);
        Assert.True(log.EvaluatesRelaxed);
        Assert.False(new ScoreFunctionNodes<double>(OneHot4).EvaluatesRelaxed);
    }

    /// <summary>Binary units and hypercube corners pass their point on; a log-simplex output is refused for them, naming the layout.</summary>
    [Theory]
    [MemberData(nameof(RelaxedFamilies))]
    public void ALogSimplexOutputNeedsOneHotNodes(string name)
    {
        foreach (var layout in new[] { new NodeLayout(2), new NodeLayout(4, NodeEncoding.Corners) })
        {
            var e = Assert.Throws<ArgumentException>(() => Family(name, RelaxedOutput.LogSimplex, layout));
            Assert.Contains("log-simplex output needs one-hot nodes", e.Message);
        }
    }
}
