using Scg.Autodiff;
using Scg.Stochastic.Diagnostics;
using Scg.Stochastic.Estimators;
using Xunit.Abstractions;
using static Scg.Stochastic.Tests.Estimators.Harness;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>Baselines reduce the variance of the score-function estimator on the same problem, same seed, same draw count.</summary>
public class VarianceTests(ITestOutputHelper output)
{
    const int Draws = 4_000;
    const ulong Seed = 4242;

    /// <summary>
    /// On the 2H-3H-4V SBN the ELBO's magnitude multiplies every score in plain REINFORCE; NVIL centres the signal with
    /// its running mean and a learned input-dependent baseline b(x) (trained on its squared-error loss as the draws go),
    /// which cuts the mean per-parameter variance several-fold. Both stay unbiased.
    /// </summary>
    [Fact]
    public void NvilVarianceIsBelowPlainReinforce()
    {
        var problem = new TinySbn(seed: 5);
        var exact = Exact(problem, 1).Gradient;

        var reinforceRng = new Rng(Seed);
        var reinforce = new ReinforceEstimator<double>(BaselineKind.None);
        var plain = GradientStatistics.Collect(_ => Draw(problem, reinforce, reinforceRng, 1), Draws, exact);

        var emaRng = new Rng(Seed);
        var ema = new ReinforceEstimator<double>(BaselineKind.MovingAverage);
        var moving = GradientStatistics.Collect(_ => Draw(problem, ema, emaRng, 1), Draws, exact);

        // b(x) = u·x + u₀, trained by SGD on the estimator's own baseline loss after each draw.
        var u = Tensor<double>.Zeros(1, TinySbn.Visible).AsParameter("baseline.u");
        var u0 = Tensor<double>.Zeros(1).AsParameter("baseline.u0");
        var nvilRng = new Rng(Seed);
        var nvil = new ReinforceEstimator<double>(BaselineKind.Nvil);
        var learned = GradientStatistics.Collect(_ =>
        {
            ZeroGrad(problem.Parameters);
            u.ZeroGrad(); u0.ZeroGrad();
            var (logWeights, score) = problem.Sample(nvilRng, 1);
            var baseline = Ops.Linear(problem.Input(1), u, u0).Reshape(1);
            var surrogate = nvil.Build(logWeights, score, baseline);
            Assert.NotNull(surrogate.BaselineLoss);
            surrogate.TotalLoss.Backward();
            foreach (var p in new[] { u, u0 })
            {
                var v = p.Span;
                var g = p.Grad!.Span;
                for (int i = 0; i < v.Length; i++) v[i] -= 0.05 * g[i];
            }
            return Gradient(problem.Parameters, -1);
        }, Draws, exact);

        output.WriteLine($"mean per-parameter variance: reinforce {plain.AverageVariance:G4}, reinforce-ema {moving.AverageVariance:G4}, nvil {learned.AverageVariance:G4}");
        output.WriteLine($"max |bias|/se: reinforce {plain.MaxStandardizedBias:F2}, reinforce-ema {moving.MaxStandardizedBias:F2}, nvil {learned.MaxStandardizedBias:F2}");
        Assert.True(learned.AverageVariance < 0.5 * plain.AverageVariance, $"nvil {learned.AverageVariance} vs reinforce {plain.AverageVariance}");
        Assert.True(moving.AverageVariance < 0.5 * plain.AverageVariance, $"reinforce-ema {moving.AverageVariance} vs reinforce {plain.AverageVariance}");
        foreach (var stats in new[] { plain, moving, learned })
            Assert.True(stats.MaxStandardizedBias < BiasThreshold, $"max |bias|/se {stats.MaxStandardizedBias:F2}");
    }

    /// <summary>VIMCO's leave-one-out baselines give a lower variance than REINFORCE on the same multi-sample bound L_3.</summary>
    [Fact]
    public void VimcoVarianceIsBelowReinforceOnTheSameMultiSampleBound()
    {
        var problem = new TinySbn(seed: 5);
        var exact = Exact(problem, 3).Gradient;
        var rngA = new Rng(Seed);
        var reinforce = new ReinforceEstimator<double>(BaselineKind.None);
        var plain = GradientStatistics.Collect(_ => Draw(problem, reinforce, rngA, 3), Draws, exact);
        var rngB = new Rng(Seed);
        var vimco = new VimcoEstimator<double>();
        var loo = GradientStatistics.Collect(_ => Draw(problem, vimco, rngB, 3), Draws, exact);
        output.WriteLine($"L_3: reinforce variance {plain.AverageVariance:G4} (z {plain.MaxStandardizedBias:F2}), vimco {loo.AverageVariance:G4} (z {loo.MaxStandardizedBias:F2})");
        Assert.True(plain.MaxStandardizedBias < BiasThreshold, "multi-sample REINFORCE is unbiased for ∇L_m too");
        Assert.True(loo.AverageVariance < 0.5 * plain.AverageVariance, $"vimco {loo.AverageVariance} vs reinforce {plain.AverageVariance}");
    }
}
