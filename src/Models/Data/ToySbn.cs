using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Data;

/// <summary>
/// The embedded data set "sbn-toy": binary vectors drawn from a small fixed sigmoid belief network
/// (<see cref="Spec"/>, weights from a fixed seed, sharpened) whose 2^12 latent states can be enumerated, so the
/// true negative log-likelihood of the test split is known exactly. Nothing is downloaded.
/// </summary>
public static class ToySbn
{
    /// <summary>The data set's name.</summary>
    public const string Name = "sbn-toy";
    /// <summary>The generating network's layer spec.</summary>
    public const string Spec = "4H~8H~32V";
    const ulong Seed = 20170305;
    const int TrainRows = 5000, ValidRows = 1000, TestRows = 1000;
    const float Sharpness = 3f;

    /// <summary>The generating network (fixed weights).</summary>
    public static SigmoidBeliefNet TrueModel()
    {
        var model = new SigmoidBeliefNet(LayerSpec.Parse(Spec), new SbnOptions(), new ScoreFunctionNodes<float>(new NodeLayout(2)), new Rng(Seed));
        foreach (var p in model.Parameters()) System.Numerics.Tensors.TensorPrimitives.Multiply(p.Span, Sharpness, p.Span);
        return model;
    }

    /// <summary>5,000 train, 1,000 valid and 1,000 test rows drawn from the generating network with a fixed seed: the same rows every time.</summary>
    public static DataSplits Load()
    {
        var model = TrueModel();
        var rng = new Rng(Seed, stream: 1);
        BinaryDataset Draw(int rows) => BinaryDataset.FromBits(model.Generate(rows, rng).ToArray(), rows, model.OutputFeatures);
        var train = Draw(TrainRows);
        return new DataSplits { Name = Name, Train = train, Valid = Draw(ValidRows), Test = Draw(TestRows), BaseRate = train.FeatureMeans() };
    }

    /// <summary>The exact mean negative log-likelihood of <paramref name="data"/> under the generating network.</summary>
    public static double TrueNll(BinaryDataset data) => -Evaluation.ExactLogLikelihood(TrueModel(), data.Values, data.Features);
}
