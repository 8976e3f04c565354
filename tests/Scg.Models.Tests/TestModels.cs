using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

/// <summary>Node families and trainers the way the program builds them, for tests that build models by hand.</summary>
static class TestModels
{
    /// <summary>The family an estimator trains, with the default temperatures and δ.</summary>
    public static NodeFamily<float> Family(string estimator, int arity = 2, NodeEncoding encoding = NodeEncoding.Corners) =>
        EstimatorChoice.Parse(estimator).Family(new NodeSettings { Arity = arity, Encoding = encoding });

    /// <summary>A trainer of <paramref name="model"/> with the named estimator.</summary>
    public static Trainer<SigmoidBeliefNet> Trainer(SigmoidBeliefNet model, string estimator, TrainSettings settings, Rng rng) =>
        Sbn.Trainer.Create(model, EstimatorChoice.Parse(estimator).Create(settings.Samples), settings, rng);
}
