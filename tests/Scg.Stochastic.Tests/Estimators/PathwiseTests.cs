using Scg.Autodiff;
using Scg.Stochastic.Diagnostics;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;
using Xunit.Abstractions;
using static Scg.Stochastic.Tests.Estimators.Harness;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>The Concrete pathwise estimator is the gradient of the relaxed objective (Concrete paper Eq. 20 / 25).</summary>
public class PathwiseTests(ITestOutputHelper output)
{
    /// <summary>
    /// With the noise fixed (a fresh generator of the same seed for every evaluation) the relaxed multi-sample bound is a
    /// smooth function of the parameters; the pathwise estimator's gradient (one Backward() of its loss) equals its central
    /// finite differences in double. Binary nodes are logit-space Binary Concrete, 4-ary nodes ExpConcrete, with separate
    /// posterior and prior temperatures λ1 ≠ λ2.
    /// </summary>
    [Theory]
    [InlineData(2, 2, 3, 2.0 / 3, 0.5, 1)]
    [InlineData(2, 2, 3, 0.1, 0.1, 3)]
    [InlineData(4, 2, 4, 2.0 / 3, 0.5, 3)]
    [InlineData(4, 4, 2, 0.3, 1.0, 2)]
    public void FixedNoisePathwiseGradientEqualsFiniteDifferencesOfTheRelaxedBound(int arity, int top, int middle, double posterior, double prior, int m)
    {
        const ulong seed = 21;
        var family = new ConcreteNodes<double>(new NodeLayout(arity), TemperatureSchedule.Constant(posterior), TemperatureSchedule.Constant(prior));
        var problem = new TinySbn(seed: 8, top, middle, arity, family);
        var estimator = new PathwiseEstimator<double>();
        Surrogate<double> Build()
        {
            var graph = new StochasticGraph<double>(new Rng(seed));
            var (logWeights, score) = problem.SampleWith(graph, m);
            Assert.Null(score);   // relaxed nodes add nothing to the score
            return estimator.Build(logWeights, score);
        }

        ZeroGrad(problem.Parameters);
        var surrogate = Build();
        Assert.Equal(-surrogate.Objective.Item(), surrogate.Loss.Item());
        surrogate.Loss.Backward();
        var analytic = Gradient(problem.Parameters, -1);

        var numeric = new double[analytic.Length];
        const double step = 1e-6;
        using (Autograd.NoGrad())
        {
            int offset = 0;
            foreach (var p in problem.Parameters)
            {
                var values = p.Span;
                for (int i = 0; i < values.Length; i++)
                {
                    double original = values[i];
                    values[i] = original + step; double up = Build().Objective.Item();
                    values[i] = original - step; double down = Build().Objective.Item();
                    values[i] = original;
                    numeric[offset + i] = (up - down) / (2 * step);
                }
                offset += p.Size;
            }
        }
        double worst = analytic.Zip(numeric, (a, n) => Math.Abs(a - n) / Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(n)))).Max();
        output.WriteLine($"arity {arity}, λ1 {posterior}, λ2 {prior}, m {m}: {analytic.Length} parameters, max relative error {worst:E2}");
        Assert.True(worst < 1e-6, $"pathwise gradient differs from finite differences by {worst:E2}");
        Assert.Contains(analytic, g => Math.Abs(g) > 1e-3);
    }

    /// <summary>
    /// One binary unit, Y ~ LogitBinaryConcrete(θ, λ), objective J(θ) = E[(σ(Y) − 0.45)²]. J'(θ) by quadrature over the
    /// logistic noise is the exact gradient of the relaxed objective; the pathwise estimator's mean over N draws matches it
    /// (one parameter: P(|z| &gt; 5) ≈ 6·10⁻⁷), and the same draws are clearly biased for the discrete objective's gradient.
    /// </summary>
    [Theory]
    [InlineData(0.3, 3.0)]
    [InlineData(-0.8, 0.5)]
    [InlineData(1.2, 2.0)]
    public void PathwiseMeanMatchesTheRelaxedObjectiveGradientByQuadrature(double theta, double temperature)
    {
        const int draws = 10_000;
        var parameter = Tensor<double>.FromDoubles([theta], 1).AsParameter("θ");
        var rng = new Rng(77);
        var family = new ConcreteNodes<double>(new NodeLayout(2), TemperatureSchedule.Constant(temperature), TemperatureSchedule.Constant(temperature));
        var estimator = new PathwiseEstimator<double>();
        double[] Draw(int _)
        {
            parameter.ZeroGrad();
            var graph = new StochasticGraph<double>(rng);
            var node = graph.Sample(family, parameter.Reshape(1, 1));
            var x = (node.Value + 1.0) / 2.0;                      // σ(Y)
            var logWeights = (x - BernoulliLoss.Target).Square();  // m = 1: L_1 = E[f]
            estimator.Build(logWeights, graph.Score).Loss.Backward();
            return [-parameter.Grad!.Span[0]];
        }

        double relaxed = RelaxedGradient(theta, temperature);
        double h = 1e-5, byDifferences = (RelaxedObjective(theta + h, temperature) - RelaxedObjective(theta - h, temperature)) / (2 * h);
        Assert.Equal(byDifferences, relaxed, 1e-8);   // the quadrature of J' agrees with the quadrature of J

        var stats = GradientStatistics.Collect(Draw, draws, [relaxed]);
        double s = 1 / (1 + Math.Exp(-theta));
        double discrete = s * (1 - s) * (BernoulliLoss.F(1) - BernoulliLoss.F(0));
        var againstDiscrete = GradientStatistics.Collect(Draw, draws, [discrete]);
        output.WriteLine($"θ {theta}, λ {temperature}: relaxed J' {relaxed:G6}, discrete {discrete:G6}, mean {stats.Mean[0]:G6}; " +
                         $"z vs relaxed {stats.MaxStandardizedBias:F2}, z vs discrete {againstDiscrete.MaxStandardizedBias:F2}");
        Assert.True(stats.MaxStandardizedBias < BiasThreshold, $"|bias|/se = {stats.MaxStandardizedBias:F2} against the relaxed gradient {relaxed}");
        Assert.True(againstDiscrete.MaxStandardizedBias > BiasThreshold, $"|bias|/se = {againstDiscrete.MaxStandardizedBias:F2} against the discrete gradient {discrete}");
    }

    /// <summary>J(θ) = ∫ f(σ((θ + l)/λ)) p(l) dl with the standard logistic density p, by the trapezoid rule on [−60, 60].</summary>
    static double RelaxedObjective(double theta, double temperature) =>
        Integrate(l => BernoulliLoss.F(Sigmoid((theta + l) / temperature)));

    /// <summary>J'(θ) = ∫ f'(s) s (1 − s)/λ p(l) dl, s = σ((θ + l)/λ).</summary>
    static double RelaxedGradient(double theta, double temperature) => Integrate(l =>
    {
        double s = Sigmoid((theta + l) / temperature);
        return 2 * (s - BernoulliLoss.Target) * s * (1 - s) / temperature;
    });

    static double Integrate(Func<double, double> g)
    {
        const double lo = -60, hi = 60;
        const int n = 240_000;
        double step = (hi - lo) / n, sum = 0;
        for (int i = 0; i <= n; i++)
        {
            double l = lo + i * step, density = Sigmoid(l) * Sigmoid(-l);
            sum += (i == 0 || i == n ? 0.5 : 1) * g(l) * density;
        }
        return sum * step;
    }

    static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
}
