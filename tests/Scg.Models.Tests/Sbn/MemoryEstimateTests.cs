using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

/// <summary>The memory estimate of an SBN against the model it sizes and the memory a step and an evaluation really take.</summary>
public sealed class MemoryEstimateTests
{
    public static TheoryData<string, int, NodeEncoding, string, int> Models => new()
    {
        { "200H-784V", 2, NodeEncoding.Corners, "concrete", 1 },
        { "2000H-32V", 2, NodeEncoding.Corners, "concrete", 1 },
        { "200H~200H~784V", 2, NodeEncoding.Corners, "vimco", 5 },
        { "200H~200H~784V", 2, NodeEncoding.Corners, "nvil", 1 },
        { "200H~200H~784V", 2, NodeEncoding.Corners, "igr", 1 },
        { "8H~32V", 256, NodeEncoding.OneHot, "concrete", 1 },
        { "8H~32V", 16, NodeEncoding.OneHot, "igr", 1 },
        { "240H~240H~784V", 8, NodeEncoding.Corners, "st", 1 },
        { "392V~240H~240H~392V", 2, NodeEncoding.Corners, "concrete", 5 },
    };

    static (SigmoidBeliefNet Model, EstimatorChoice Choice, MemoryEstimate Estimate) Build(string spec, int arity, NodeEncoding encoding, string estimator, bool uniformPrior = false, int hiddenUnits = 0)
    {
        var choice = EstimatorChoice.Parse(estimator);
        var options = new SbnOptions { BaselineUnits = choice.NeedsBaseline ? 100 : 0, UniformPrior = uniformPrior, HiddenUnits = hiddenUnits };
        var family = TestModels.Family(estimator, arity, encoding);
        var layers = LayerSpec.Parse(spec);
        return (new SigmoidBeliefNet(layers, options, family, new Rng(1)), choice, MemoryEstimate.Of(layers, options, family));
    }

    [Theory]
    [MemberData(nameof(Models))]
    [InlineData("30H~784V", 10, NodeEncoding.OneHot, "concrete", 1)]
    public void TheParameterCountIsTheBuiltModels(string spec, int arity, NodeEncoding encoding, string estimator, int _)
    {
        foreach (var (uniform, hidden) in new[] { (false, 0), (true, 0), (false, 17) })
        {
            if (uniform && (LayerSpec.Parse(spec).IsConditional || arity > 10)) continue;   // a uniform IGR prior of many categories takes seconds to fit
            var (model, _, estimate) = Build(spec, arity, encoding, estimator, uniform, hidden);
            Assert.Equal(model.Parameters().Concat(model.BaselineParameters()).Sum(p => (double)p.Size), estimate.Parameters);
        }
    }

    /// <summary>
    /// Bytes allocated on a fresh thread (so the evaluation arena is new) by a first training step beyond the gradient
    /// buffers, and by an evaluation holding 1024 rows × samples in flight: both must stay within the estimate, and the
    /// estimate within 8 times them.
    /// </summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void AStepAndAnEvaluationTakeNoMoreThanEstimated(string spec, int arity, NodeEncoding encoding, string estimator, int samples)
    {
        const int batch = 32, inFlight = 1024;
        double stepBytes = 0, evalBytes = 0;
        MemoryEstimate? estimate = null;
        var thread = new Thread(() =>
        {
            var (model, choice, e) = Build(spec, arity, encoding, estimator);
            estimate = e;
            var trainer = Trainer.Create(model, choice.Create(samples), new TrainSettings { Samples = samples, BatchSize = batch }, new Rng(2));
            var rng = new Rng(3);
            var data = new float[64 * model.RowFeatures];
            for (int i = 0; i < data.Length; i++) data[i] = rng.NextSingle() < 0.3f ? 1 : 0;
            long before = GC.GetAllocatedBytesForCurrentThread();
            trainer.Step(data.AsSpan(0, batch * model.RowFeatures));
            stepBytes = GC.GetAllocatedBytesForCurrentThread() - before - sizeof(float) * e.Parameters;   // less the gradients
            before = GC.GetAllocatedBytesForCurrentThread();
            Evaluation.Bound(model, data, 16, new Rng(4), maxRows: inFlight);
            evalBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        });
        thread.Start();
        thread.Join();

        double estimatedStep = estimate!.TrainingStepBytes(batch, samples), estimatedEval = estimate.EvaluationBytes(inFlight);
        Assert.InRange(stepBytes, estimatedStep / 8, estimatedStep);
        Assert.InRange(evalBytes, estimatedEval / 8, estimatedEval);
    }

    [Fact]
    public void EvaluationRowsFollowTheBudget()
    {
        var estimate = MemoryEstimate.Of(LayerSpec.Parse("100000H-32V"), new SbnOptions(), TestModels.Family("concrete"));
        const double budget = 4.0 * (1L << 30);
        int rows = estimate.EvaluationRows(budget);
        Assert.InRange(rows, 2, Evaluation.DefaultMaxRows - 1);
        Assert.True(estimate.EvaluationBytes(rows) <= budget && estimate.EvaluationBytes(rows + 1) > budget);
        Assert.Equal(1, estimate.EvaluationRows(0));
        Assert.Equal(Evaluation.DefaultMaxRows, MemoryEstimate.Of(LayerSpec.Parse("200H~200H~784V"), new SbnOptions(), TestModels.Family("concrete")).EvaluationRows(budget));
    }

    [Fact]
    public void AModelTooLargeToBuildCanStillBeSized()
    {
        var estimate = MemoryEstimate.Of(LayerSpec.Parse("2147483647H~2147483647H-784V"), new SbnOptions(), TestModels.Family("concrete", 1024, NodeEncoding.OneHot));
        Assert.True(double.IsFinite(estimate.Parameters) && estimate.Parameters > 1e24, $"{estimate.Parameters}");
        Assert.True(estimate.UnitsPerRow > 1e12, $"{estimate.UnitsPerRow}");
    }
}
