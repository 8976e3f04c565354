using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Estimators;

namespace Scg.Models.Tests;

/// <summary>The inverse-time decay of the step size, lr / (1 + k·t) above a floor, as the IGR paper's code trains.</summary>
public sealed class LearningRateScheduleTests
{
    [Fact]
    public void TheRateFallsAsOneOverOnePlusKtToItsFloor()
    {
        var s = new TrainSettings { LearningRate = 1e-3, LearningRateDecay = 1e-3, MinimumLearningRate = 1e-4 };
        Assert.Equal(1e-3, s.LearningRateAt(0));
        Assert.Equal(1e-3 / 2, s.LearningRateAt(1000), 1e-18);
        Assert.Equal(1e-3 / 5, s.LearningRateAt(4000), 1e-18);
        Assert.Equal(1e-4, s.LearningRateAt(9000), 1e-18);
        Assert.Equal(1e-4, s.LearningRateAt(50_000));
        Assert.Equal(3e-4, new TrainSettings().LearningRateAt(1_000_000));   // no decay: constant
    }

    [Fact]
    public void EachStepTakesTheRateOfItsStepCount()
    {
        var constant = new TrainSettings { BatchSize = 8, LearningRate = 0.01 };
        var decaying = constant with { LearningRateDecay = 0.5, MinimumLearningRate = 0.001 };
        Trainer<SigmoidBeliefNet> Make(TrainSettings s)
        {
            var choice = EstimatorChoice.Parse("concrete");
            var model = new SigmoidBeliefNet(LayerSpec.Parse("8H-32V"), new SbnOptions(), choice.Family(new NodeSettings()), new Rng(1));
            return Trainer.Create(model, choice.Create(1), s, new Rng(2));
        }
        Trainer<SigmoidBeliefNet> a = Make(constant), b = Make(decaying);
        var batch = new float[8 * 32];
        var bits = new Rng(3);
        for (int i = 0; i < batch.Length; i++) batch[i] = bits.NextDouble() < 0.3 ? 1 : 0;

        for (int step = 0; step < 4; step++)
        {
            a.Step(batch);
            b.Step(batch);
            Assert.Equal(decaying.LearningRateAt(step), b.Optimizer.LearningRate);
            var pa = a.Model.Parameters().SelectMany(p => p.ToArray()).ToArray();
            var pb = b.Model.Parameters().SelectMany(p => p.ToArray()).ToArray();
            // The first step runs at lr / (1 + 0) = lr on both; from the second on the decayed rate is smaller.
            if (step == 0) Assert.Equal(pa, pb);
            else Assert.NotEqual(pa, pb);
        }
        Assert.Equal(Math.Max(0.001, 0.01 / (1 + 0.5 * 3)), b.Optimizer.LearningRate);
    }
}
