using Xunit.Abstractions;
using Scg.Autodiff;
using Scg.Stochastic.Estimators;
using static Scg.Stochastic.Tests.Estimators.Harness;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>
/// Each score-function estimator's mean over N seeded draws matches ∇L_m computed by enumerating every state
/// (m = 1 for REINFORCE and NVIL, m = 3 or 4 for VIMCO), and the same check rejects deliberately broken variants.
/// </summary>
public class UnbiasednessTests(ITestOutputHelper output)
{
    const int Draws = 20_000;
    /// <summary>Fewer draws suffice to reject the broken variants: their standardized bias grows like √N and is far above the threshold.</summary>
    const int ControlDraws = 5_000;

    static ToyProblem Problem(string name) => name switch
    {
        "bernoulli" => new BernoulliLoss(0.3),
        "categorical" => new CategoricalLoss(),
        "sbn" => new TinySbn(seed: 5),
        _ => throw new ArgumentException(name),
    };

    static IEstimator<double> Estimator(string name) => name switch
    {
        "reinforce" => new ReinforceEstimator<double>(BaselineKind.None),
        "reinforce-ema" => new ReinforceEstimator<double>(BaselineKind.MovingAverage),
        "nvil" => new ReinforceEstimator<double>(BaselineKind.Nvil),
        "vimco" => new VimcoEstimator<double>(),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Samples per data point: VIMCO needs m ≥ 2 and estimates ∇L_m; the others estimate ∇L_1.</summary>
    static int Samples(string problem, string estimator) => estimator != "vimco" ? 1 : problem == "categorical" ? 4 : 3;

    /// <summary>A fixed input-dependent baseline b(x) [batch = 1] for NVIL (any fixed b keeps the estimator unbiased).</summary>
    static Func<Tensor<double>?>? Baseline(ToyProblem problem, string estimator)
    {
        if (estimator != "nvil") return null;
        double b = problem switch
        {
            BernoulliLoss => 0.1,
            CategoricalLoss => -0.3,
            _ => TinySbn.Data.Select((x, i) => (0.4 - 0.3 * i) * x).Sum() - 1.3,   // a linear function of x
        };
        return () => Tensor<double>.FromDoubles([b], 1);
    }

    static Diagnostics.GradientStatistics Run(string problemName, string estimatorName, ScoreUse use, int draws = Draws)
    {
        var problem = Problem(problemName);
        return Statistics(problem, Estimator(estimatorName), Samples(problemName, estimatorName), draws, seed: 1234,
            Baseline(problem, estimatorName), use);
    }

    [Theory]
    [InlineData("bernoulli", "reinforce")]
    [InlineData("bernoulli", "reinforce-ema")]
    [InlineData("bernoulli", "nvil")]
    [InlineData("bernoulli", "vimco")]
    [InlineData("categorical", "reinforce")]
    [InlineData("categorical", "reinforce-ema")]
    [InlineData("categorical", "nvil")]
    [InlineData("categorical", "vimco")]
    [InlineData("sbn", "reinforce")]
    [InlineData("sbn", "reinforce-ema")]
    [InlineData("sbn", "nvil")]
    [InlineData("sbn", "vimco")]
    public void ScoreFunctionEstimatorIsUnbiasedForTheEnumeratedGradient(string problem, string estimator)
    {
        var stats = Run(problem, estimator, ScoreUse.AsIs);
        output.WriteLine($"{estimator} on {problem}: max |bias|/se = {stats.MaxStandardizedBias:F2}, mean variance {stats.AverageVariance:G3}");
        Assert.True(stats.MaxStandardizedBias < BiasThreshold,
            $"{estimator} on {problem}: max |bias|/se = {stats.MaxStandardizedBias:F2} ≥ {BiasThreshold} (bias {Format(stats.Bias)}, exact {Format(stats.Exact!)})");
        Assert.True(stats.AverageVariance > 0, "the draws must be random, or the bound test is vacuous");
    }

    /// <summary>
    /// The same check rejects the estimator fed a negated score (the learning signal's sign flipped) and the estimator
    /// with the score term removed (pathwise terms only), so a biased estimator cannot pass.
    /// </summary>
    [Theory]
    [InlineData("bernoulli", "reinforce", ScoreUse.Negated)]
    [InlineData("bernoulli", "reinforce-ema", ScoreUse.Negated)]
    [InlineData("bernoulli", "nvil", ScoreUse.Negated)]
    [InlineData("bernoulli", "vimco", ScoreUse.Negated)]
    [InlineData("bernoulli", "reinforce", ScoreUse.Dropped)]
    [InlineData("categorical", "reinforce", ScoreUse.Negated)]
    [InlineData("categorical", "reinforce-ema", ScoreUse.Negated)]
    [InlineData("categorical", "nvil", ScoreUse.Negated)]
    [InlineData("categorical", "vimco", ScoreUse.Negated)]
    [InlineData("sbn", "reinforce", ScoreUse.Negated)]
    [InlineData("sbn", "reinforce", ScoreUse.Dropped)]
    [InlineData("sbn", "reinforce-ema", ScoreUse.Negated)]
    [InlineData("sbn", "nvil", ScoreUse.Negated)]
    [InlineData("sbn", "vimco", ScoreUse.Negated)]
    [InlineData("sbn", "vimco", ScoreUse.Dropped)]
    public void DeliberatelyBiasedEstimatorFailsTheSameCheck(string problem, string estimator, ScoreUse use)
    {
        var stats = Run(problem, estimator, use, ControlDraws);
        output.WriteLine($"{estimator} on {problem}, score {use}: max |bias|/se = {stats.MaxStandardizedBias:F2}");
        Assert.True(stats.MaxStandardizedBias > BiasThreshold,
            $"{estimator} on {problem} with the score {use}: max |bias|/se = {stats.MaxStandardizedBias:F2} should exceed {BiasThreshold}");
    }

    [Fact]
    public void EnumeratedBernoulliGradientMatchesTheClosedForm()
    {
        var problem = new BernoulliLoss(0.3);
        var (gradient, objective) = Exact(problem, 1);
        double s = 1 / (1 + Math.Exp(-0.3));
        Assert.Equal(s * BernoulliLoss.F(1) + (1 - s) * BernoulliLoss.F(0), objective, 1e-14);
        Assert.Equal(problem.AnalyticGradient(), gradient[0], 1e-14);
    }

    [Fact]
    public void EnumeratedCategoricalLmMatchesADirectDoubleSum()
    {
        var problem = new CategoricalLoss();
        var theta = problem.Theta.ToDoubles();
        double z = theta.Sum(Math.Exp);
        var p = theta.Select(t => Math.Exp(t) / z).ToArray();
        var c = CategoricalLoss.Table;
        double l2 = 0;
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                l2 += p[i] * p[j] * Math.Log((Math.Exp(c[i]) + Math.Exp(c[j])) / 2);
        Assert.Equal(l2, Exact(problem, 2).Objective, 1e-12);
        Assert.Equal(p.Zip(c, (pk, ck) => pk * ck).Sum(), Exact(problem, 1).Objective, 1e-12);
    }

    /// <summary>Sanity of the SBN enumeration: ELBO = L_1 ≤ L_2 ≤ L_3 ≤ log p(x) (Burda et al.), with log p(x) by enumeration.</summary>
    [Fact]
    public void EnumeratedSbnBoundsIncreaseWithSamplesTowardsTheLogLikelihood()
    {
        var problem = new TinySbn(seed: 5);
        var (logQ, logW) = problem.Enumerate();
        double logLikelihood = (logQ + logW).LogSumExp(0).Item();
        double l1 = Exact(problem, 1).Objective, l2 = Exact(problem, 2).Objective, l3 = Exact(problem, 3).Objective;
        Assert.True(l1 < l2 && l2 < l3 && l3 < logLikelihood, $"L1 {l1}, L2 {l2}, L3 {l3}, log p(x) {logLikelihood}");
        Assert.Equal(50, problem.ParameterCount);
    }

    /// <summary>VIMCO estimates ∇L_m, not ∇L_1: against the ELBO's gradient it is biased (the bias check has the power to tell).</summary>
    [Fact]
    public void VimcoIsBiasedForTheGradientOfASmallerBound()
    {
        var problem = new TinySbn(seed: 5);
        var exactL1 = Exact(problem, 1).Gradient;
        var rng = new Rng(99);
        var vimco = new VimcoEstimator<double>();
        var stats = Diagnostics.GradientStatistics.Collect(_ => Draw(problem, vimco, rng, 3), ControlDraws, exactL1);
        output.WriteLine($"vimco (m = 3) against ∇L_1: max |bias|/se = {stats.MaxStandardizedBias:F2}");
        Assert.True(stats.MaxStandardizedBias > BiasThreshold, $"max |bias|/se against ∇L_1 = {stats.MaxStandardizedBias:F2}");
    }

}
