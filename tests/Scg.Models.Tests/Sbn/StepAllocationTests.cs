using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

/// <summary>
/// After warm-up a training step allocates nothing: the trainer's arena reuses tensor buffers and headers, its graph is
/// reset and reuses its node objects, layers are drawn without distribution objects, and the estimator hands back the
/// same surrogate for the same tensors. Measured on the stepping thread, for every estimator and both node layouts.
/// </summary>
public class StepAllocationTests
{
    public static TheoryData<string, int, int> Cases => new()
    {
        { "concrete", 2, 1 }, { "concrete", 10, 1 }, { "concrete", 2, 3 },
        { "st", 2, 1 }, { "st", 10, 1 },
        { "reinforce", 2, 1 }, { "nvil", 2, 1 }, { "nvil", 10, 1 },
        { "vimco", 2, 3 }, { "vimco", 10, 3 },
        { "igr", 2, 1 }, { "igr", 10, 1 },
    };

    static long BytesPerStep(Trainer<SigmoidBeliefNet> trainer, float[] x)
    {
        for (int i = 0; i < 40; i++) trainer.Step(x);   // warm-up: buffers, headers, records, nodes, JIT (past tier-up at 30 calls)
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) trainer.Step(x);
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
    }

    internal static float[] Data(int rows, int features)
    {
        var rng = new Rng(5);
        var x = new float[rows * features];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() < 0.3f ? 1f : 0f;
        return x;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ATrainingStepAllocatesNothingAfterWarmUp(string estimator, int arity, int samples)
    {
        const int rows = 16, features = 24;
        var encoding = arity == 2 ? NodeEncoding.Corners : NodeEncoding.OneHot;
        var choice = EstimatorChoice.Parse(estimator);
        var model = new SigmoidBeliefNet(LayerSpec.Parse($"{(arity == 2 ? 6 : 20)}H~{(arity == 2 ? 8 : 30)}H~{features}V"),
            new SbnOptions { BaselineUnits = choice.NeedsBaseline ? 8 : 0, HiddenUnits = 12 }, TestModels.Family(estimator, arity, encoding), new Rng(1));
        var trainer = TestModels.Trainer(model, estimator, new TrainSettings { Samples = samples, BatchSize = rows }, new Rng(2));
        Assert.Equal(0, BytesPerStep(trainer, Data(rows, features)));
    }

    /// <summary>The IGR paper's discrete VAE as the reproduction trains it: ReLU networks, log-simplex values, the KL in closed form.</summary>
    [Theory]
    [InlineData("igr", RelaxedOutput.LogSimplex)]
    [InlineData("igr", RelaxedOutput.GaussianLogSoftmax)]
    [InlineData("concrete", RelaxedOutput.LogSimplex)]
    public void ADiscreteVaeStepAllocatesNothingAfterWarmUp(string estimator, RelaxedOutput output)
    {
        const int rows = 16, features = 24;
        var settings = new NodeSettings { Arity = 10, Encoding = NodeEncoding.OneHot, RelaxedOutput = output };
        var options = new SbnOptions { Activation = Scg.Autodiff.Layers.Activation.Relu, UniformPrior = true, AnalyticKl = estimator == "igr" };
        var model = new SigmoidBeliefNet(LayerSpec.Parse($"30H~16~20~{features}V"), options, EstimatorChoice.Parse(estimator).Family(settings), new Rng(1));
        var trainer = TestModels.Trainer(model, estimator, new TrainSettings { BatchSize = rows }, new Rng(2));
        Assert.Equal(0, BytesPerStep(trainer, Data(rows, features)));
    }

    /// <summary>Structured prediction (bottom half given top half) draws its layers from the generative networks.</summary>
    [Theory]
    [InlineData("concrete", 1)]
    [InlineData("vimco", 3)]
    public void AStructuredPredictionStepAllocatesNothingAfterWarmUp(string estimator, int samples)
    {
        const int rows = 16;
        var model = new SigmoidBeliefNet(LayerSpec.Parse("12V-6H-6H-12V"), new SbnOptions(), TestModels.Family(estimator), new Rng(1));
        var trainer = TestModels.Trainer(model, estimator, new TrainSettings { Samples = samples, BatchSize = rows }, new Rng(2));
        Assert.Equal(0, BytesPerStep(trainer, Data(rows, 24)));
    }
}

/// <summary>
/// Evaluation reuses its chunks' memory, tensor headers and graph nodes, so a repeated L_k allocates nothing, on one
/// chunk per row (large k) and on several rows per chunk; it leaves a tape the caller is recording on intact.
/// </summary>
public class EvaluationAllocationTests
{
    static SigmoidBeliefNet Model() =>
        new(LayerSpec.Parse("6H~8H~24V"), new SbnOptions { HiddenUnits = 12 }, TestModels.Family("vimco"), new Rng(1));

    [Theory]
    [InlineData(500, 256)]   // one row per chunk, two chunks per row
    [InlineData(8, 256)]     // 32 rows per chunk
    public void ARepeatedEvaluationAllocatesNothing(int k, int maxRows)
    {
        var model = Model();
        var x = StepAllocationTests.Data(40, 24);
        var rng = new Rng(3);
        for (int i = 0; i < 40; i++) Evaluation.Bound(model, x, k, rng, maxRows: maxRows);   // warm-up, past tier-up
        long before = GC.GetAllocatedBytesForCurrentThread();
        double bound = Evaluation.Bound(model, x, k, rng, maxRows: maxRows);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(double.IsFinite(bound));
    }

    [Fact]
    public void ReusingItsMemoryKeepsTheBoundsBits()
    {
        var model = Model();
        var x = StepAllocationTests.Data(40, 24);
        double first = Evaluation.Bound(model, x, 50, new Rng(3), maxRows: 256);
        Evaluation.Bound(model, x, 7, new Rng(4), maxRows: 64);    // other shapes in between
        Assert.Equal(first, Evaluation.Bound(model, x, 50, new Rng(3), maxRows: 256));
    }

    [Fact]
    public void AnEvaluationBetweenForwardAndBackwardLeavesTheTapeIntact()
    {
        var model = Model();
        var trainer = TestModels.Trainer(model, "vimco", new TrainSettings { Samples = 2, BatchSize = 8 }, new Rng(2));
        var x = StepAllocationTests.Data(8, 24);
        trainer.Step(x);
        var w = Tensor<float>.FromArray([1f, 2f, 3f], 3).AsParameter();
        var loss = (w * w).Sum();
        Evaluation.Bound(model, x, 20, new Rng(3));
        loss.Backward();
        Assert.Equal([2f, 4f, 6f], w.Grad!.Span.ToArray());
    }
}
