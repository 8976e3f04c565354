using Scg.Autodiff;
using Scg.Stochastic.Diagnostics;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;
using Xunit.Abstractions;
using static Scg.Stochastic.Tests.Estimators.Harness;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>
/// A graph that mixes node families: z₁ is one relaxed Binary Concrete unit (pathwise gradient) with value v₁ ∈ (−1, 1),
/// z₂ a Bernoulli unit with logit a + w·v₁ (score-function gradient) with value v₂ = ±1. Two costs: c₁ = −(v₁ − 0.3)²
/// depends on z₁ only, c₂ = −(v₁v₂ − 0.5)² + 0.7·v₂ on both. The objective is J = E[c₁ + c₂].
/// </summary>
public class MixedGraphTests(ITestOutputHelper output)
{
    const double Lambda = 0.5, C1Target = 0.3;

    sealed class Model
    {
        public readonly Tensor<double> Theta = Tensor<double>.FromDoubles([0.4], 1).AsParameter("θ");
        public readonly Tensor<double> A = Tensor<double>.FromDoubles([-0.2], 1).AsParameter("a");
        public readonly Tensor<double> W = Tensor<double>.FromDoubles([0.9], 1).AsParameter("w");
        public Tensor<double>[] Parameters => [Theta, A, W];
        public readonly ConcreteNodes<double> Relaxed = new(new NodeLayout(2), TemperatureSchedule.Constant(Lambda), TemperatureSchedule.Constant(Lambda));
        public readonly ScoreFunctionNodes<double> Discrete = new(new NodeLayout(2));
    }

    static Tensor<double> C1(Tensor<double> v1) => -(v1 - C1Target).Square();
    static Tensor<double> C2(Tensor<double> v1, Tensor<double> v2) => -(v1 * v2 - 0.5).Square() + 0.7 * v2;

    /// <summary>One pass of <paramref name="rows"/> rows through the graph API; returns the graph with its costs and the two nodes.</summary>
    static (StochasticGraph<double> Graph, Node<double> Z1, Node<double> Z2) Pass(Model model, Rng rng, int rows, double c1Shift = 0) =>
        Draw(new StochasticGraph<double>(rng), model, rows, c1Shift);

    /// <summary>The pass of <see cref="Pass"/> on <paramref name="graph"/>.</summary>
    static (StochasticGraph<double> Graph, Node<double> Z1, Node<double> Z2) Draw(StochasticGraph<double> graph, Model model, int rows, double c1Shift = 0)
    {
        var z1 = graph.Sample(model.Relaxed, model.Theta.Reshape(1, 1).Expand(new Shape(rows, 1)));
        var z2 = graph.Sample(model.Discrete, model.A + z1.Value * model.W);
        graph.AddCost((C1(z1.Value) + c1Shift).Reshape(rows), z1);
        graph.AddCost(C2(z1.Value, z2.Value).Reshape(rows), z1, z2);
        return (graph, z1, z2);
    }

    /// <summary>
    /// ∇J without the graph API: the logistic noise of z₁ by the midpoint rule over its CDF u ∈ (0, 1), so
    /// v₁(u) = 2σ((θ + logit u)/λ) − 1, and z₂ by enumerating both states.
    /// </summary>
    static double[] ExactGradient(Model model)
    {
        const int grid = 200_000;
        var u = new double[grid];
        for (int i = 0; i < grid; i++) u[i] = (i + 0.5) / grid;
        var logitU = Tensor<double>.FromDoubles(u.Select(x => Math.Log(x) - Math.Log(1 - x)).ToArray(), grid, 1);
        ZeroGrad(model.Parameters);
        var v1 = ((model.Theta + logitU) / Lambda).Sigmoid() * 2.0 - 1.0;
        var p2 = (model.A + v1 * model.W).Sigmoid();     // P(z₂ = 1 | v₁)
        var plus = Tensor<double>.Full(new Shape(grid, 1), 1.0);
        var expected = C1(v1) + p2 * C2(v1, plus) + (1.0 - p2) * C2(v1, -plus);
        expected.Mean().Backward();
        return Gradient(model.Parameters);
    }

    static double[] SurrogateGradient(Model model, Rng rng, int rows, double c1Shift = 0)
    {
        ZeroGrad(model.Parameters);
        var (graph, _, _) = Pass(model, rng, rows, c1Shift);
        ScoreFunctionSurrogate.Build(graph).Loss.Backward();
        return Gradient(model.Parameters, -1);
    }

    [Fact]
    public void MixedSurrogateIsUnbiasedForTheGradientByQuadratureAndEnumeration()
    {
        var model = new Model();
        var exact = ExactGradient(model);
        var rng = new Rng(2024);
        var stats = GradientStatistics.Collect(_ => SurrogateGradient(model, rng, rows: 8), 20_000, exact);
        output.WriteLine($"exact {Format(exact)}; max |bias|/se = {stats.MaxStandardizedBias:F2}");
        Assert.True(stats.MaxStandardizedBias < BiasThreshold,
            $"mixed graph: max |bias|/se = {stats.MaxStandardizedBias:F2} (bias {Format(stats.Bias)}, exact {Format(exact)})");
        Assert.All(exact, g => Assert.True(Math.Abs(g) > 1e-2, $"exact gradient {Format(exact)} has a near-zero component: the check would be weak"));
    }

    /// <summary>
    /// The same check rejects a surrogate that drops the score term (the relaxed-only gradient), and one that lets z₂'s
    /// score multiply a cost without its pathwise part: both are biased for ∇J.
    /// </summary>
    [Fact]
    public void TheCheckRejectsASurrogateWithoutTheScoreTerm()
    {
        var model = new Model();
        var exact = ExactGradient(model);
        var rng = new Rng(2024);
        double[] PathwiseOnly(int _)
        {
            ZeroGrad(model.Parameters);
            var (graph, _, _) = Pass(model, rng, rows: 8);
            Tensor<double>? total = null;
            foreach (var (cost, _) in graph.Costs) total = total is null ? cost : total + cost;
            (-total!.Mean()).Backward();
            return Gradient(model.Parameters, -1);
        }
        var stats = GradientStatistics.Collect(PathwiseOnly, 5_000, exact);
        Assert.True(stats.MaxStandardizedBias > 4 * BiasThreshold, $"dropping the score term went unnoticed: max |bias|/se = {stats.MaxStandardizedBias:F2}");
    }

    /// <summary>
    /// z₂'s score multiplies only the costs downstream of it: shifting c₁, which does not depend on z₂, by a constant
    /// changes no draw of the gradient. Were the score weighted by the whole objective, every draw of ∂/∂a and ∂/∂w
    /// would move by 100·∇ log q(z₂).
    /// </summary>
    [Fact]
    public void ScoreTermsMultiplyOnlyTheirDownstreamCosts()
    {
        var model = new Model();
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var plain = SurrogateGradient(model, new Rng(seed), rows: 4);
            var shifted = SurrogateGradient(model, new Rng(seed), rows: 4, c1Shift: 100);
            for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i], shifted[i], 1e-9);
        }
    }

    [Fact]
    public void ABaselineTrainsAndKeepsTheSurrogateValue()
    {
        var model = new Model();
        var b = Tensor<double>.Zeros(4).AsParameter("b");
        var (graph, _, z2) = Pass(model, new Rng(3), rows: 4);
        var withBaseline = ScoreFunctionSurrogate.Build(graph, new Dictionary<Node<double>, Tensor<double>> { [z2] = b });
        var (graph2, _, _) = Pass(model, new Rng(3), rows: 4);
        var without = ScoreFunctionSurrogate.Build(graph2);
        Assert.Equal(without.Objective.Item(), withBaseline.Objective.Item(), 1e-12);
        Assert.Equal(without.Loss.Item(), withBaseline.Loss.Item(), 1e-12);
        Assert.NotNull(withBaseline.BaselineLoss);
        withBaseline.TotalLoss.Backward();
        Assert.Contains(b.Grad!.ToArray(), g => Math.Abs(g) > 1e-6);
    }

    /// <summary>A graph reset for its next pass draws, scores and differentiates exactly as a new graph, reusing the last pass's node objects.</summary>
    [Fact]
    public void AResetGraphGivesTheGradientOfANewGraphAndReusesItsNodes()
    {
        var model = new Model();
        double[] GradientOf(StochasticGraph<double> graph)
        {
            ZeroGrad(model.Parameters);
            ScoreFunctionSurrogate.Build(graph).Loss.Backward();
            return Gradient(model.Parameters);
        }
        var (fresh, _, _) = Pass(model, new Rng(3), rows: 6);
        var expected = GradientOf(fresh);

        var (reused, z1, z2) = Pass(model, new Rng(99), rows: 6);
        var other = GradientOf(reused);
        reused.Reset(new Rng(3), step: 0);
        Assert.Empty(reused.ScoreNodes);
        Assert.Empty(reused.Costs);
        Assert.Null(reused.Score);
        var (_, y1, y2) = Draw(reused, model, rows: 6);
        Assert.Equal(expected, GradientOf(reused));
        Assert.NotEqual(expected, other);
        Assert.Same(z1, y1);
        Assert.Same(z2, y2);
        Assert.Equal(2, reused.Costs.Count);
        Assert.Single(reused.ScoreNodes);
    }

    [Fact]
    public void MisusesGetErrorsInTheUsersTerms()
    {
        var model = new Model();
        var (graph, z1, _) = Pass(model, new Rng(5), rows: 2);
        ScoreFunctionSurrogate.Build(graph).Loss.Backward();
        var reuse = Assert.Throws<InvalidOperationException>(() => graph.Sample(model.Discrete, model.A.Reshape(1, 1)));
        Assert.Contains("build a new StochasticGraph for every pass", reuse.Message);

        var logWeights = Tensor<double>.Zeros(1, 2);
        var noScore = Assert.Throws<ArgumentNullException>(() => new ReinforceEstimator<double>(BaselineKind.None).Build(logWeights, null));
        Assert.Contains("no score-function nodes", noScore.Message);
        Assert.Contains("no score-function nodes", Assert.Throws<ArgumentNullException>(() => new VimcoEstimator<double>().Build(Tensor<double>.Zeros(2, 2), null)).Message);
        var pathwise = Assert.Throws<ArgumentException>(() => new PathwiseEstimator<double>().Build(logWeights, Tensor<double>.Zeros(1, 2)));
        Assert.Contains("gives them no gradient", pathwise.Message);

        var igr = new IgrNodes<double>(new NodeLayout(2), TemperatureSchedule.Constant(0.5));
        var parameters = Tensor<double>.Zeros(1, (int)igr.ParameterWidth(1)).AsParameter("igr");
        var trap = Assert.Throws<InvalidOperationException>(() => new StochasticGraph<double>(new Rng(1)).Sample(igr.Discrete, parameters));
        Assert.Contains("belong on a discrete graph", trap.Message);
        Assert.Same(igr.Discrete, igr.Discrete.Discrete);
        var categorical = new ScoreFunctionNodes<double>(new NodeLayout(4, NodeEncoding.OneHot));
        var width = Assert.Throws<ShapeMismatchException>(() => new StochasticGraph<double>(new Rng(1)).Sample(categorical, Tensor<double>.Zeros(3, 7)));
        Assert.Contains("parameters of width 7; expected a positive multiple of 4", width.Message);
        var cost = Assert.Throws<ShapeMismatchException>(() => new StochasticGraph<double>(new Rng(1)).AddCost(Tensor<double>.Zeros(2, 1), z1));
        Assert.Contains("one value per row", cost.Message);
    }
}
