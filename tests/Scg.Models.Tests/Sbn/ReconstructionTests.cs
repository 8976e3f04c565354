using Scg.Autodiff;
using Scg.Models.Data;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

public sealed class ReconstructionTests
{
    static readonly DataSplits Toy = ToySbn.Load();
    const int Rows = 8, Features = 32;

    static ReadOnlySpan<float> TestRows => Toy.Test.Values[..(Rows * Features)];

    static SigmoidBeliefNet Model(string spec, NodeFamily<float>? family = null, SbnOptions? options = null) =>
        new(LayerSpec.Parse(spec), options ?? new SbnOptions(), family ?? TestModels.Family("nvil"), new Rng(3));

    /// <summary>1 / (1 + e^-l) in double for each logit.</summary>
    static double[] Sigmoid(Tensor<float> logits) => [.. logits.ToArray().Select(l => 1 / (1 + Math.Exp(-(double)l)))];

    /// <summary>|expected - actual| ≤ 1e-6 elementwise (float rounding of a probability), naming the first element that is not.</summary>
    static void AssertClose(double[] expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6, $"{what}: element {i}: σ(logits) {expected[i]:R}, mean {actual[i]:R}");
    }

    public static TheoryData<string, string, int, string, bool> DensityModels => new()
    {
        { "4H~8H~32V", "nvil", 2, "corners", false },
        { "8H-32V", "nvil", 4, "corners", false },
        { "3H~32V", "nvil", 4, "onehot", true },
        { "4H-32V", "igr", 2, "corners", false },
    };

    [Theory]
    [MemberData(nameof(DensityModels))]
    public void DensityReconstructionsAreSeededMeanImages(string spec, string estimator, int arity, string encoding, bool uniformPrior)
    {
        var family = TestModels.Family(estimator, arity, encoding == "onehot" ? NodeEncoding.OneHot : NodeEncoding.Corners);
        var model = Model(spec, family, new SbnOptions { UniformPrior = uniformPrior });
        float[] means = Reconstruction.Means(model, TestRows, new Rng(5));

        Assert.Equal(Rows * Features, means.Length);
        Assert.All(means, v => Assert.InRange(v, 0f, 1f));
        Assert.Contains(means, v => v is > 0f and < 1f);
        Assert.Equal(means, Reconstruction.Means(model, TestRows, new Rng(5)));
        Assert.NotEqual(means, Reconstruction.Means(model, TestRows, new Rng(6)));   // h is drawn, not a fixed mode

        // the same h drawn here from q(h | x) on the discrete graph, with the same generator state: σ(logits of p(x | h))
        int last = model.Spec.Layers.Count - 2;
        var graph = new StochasticGraph<float>(new Rng(5), discrete: true);
        var h = graph.Sample(family, model.InferenceParameters(last, Tensor<float>.FromArray(TestRows, Rows, Features))).Value;
        AssertClose(Sigmoid(model.GenerativeLogits(last, h)), means, spec);
    }

    [Fact]
    public void AConditionalModelKeepsTheGivenHalfAndPredictsTheOther()
    {
        var model = Model("16V-8H-8H-16V");
        float[] rows = Reconstruction.Means(model, TestRows, new Rng(9));

        Assert.Equal(Rows * Features, rows.Length);
        for (int r = 0; r < Rows; r++)
        {
            var given = TestRows.Slice(r * Features, 16).ToArray();
            Assert.Equal(given, rows.AsSpan(r * Features, 16).ToArray());
            var predicted = rows.AsSpan(r * Features + 16, 16).ToArray();
            Assert.All(predicted, v => Assert.InRange(v, 0f, 1f));
            Assert.Contains(predicted, v => v is > 0f and < 1f);   // probabilities, not the true bits
        }
        Assert.Equal(rows, Reconstruction.Means(model, TestRows, new Rng(9)));

        // the same h drawn here layer by layer from p(h | x_in), with the same generator state: σ(logits of p(x_out | h))
        var graph = new StochasticGraph<float>(new Rng(9), discrete: true);
        var h = Tensor<float>.FromArray(TestRows, Rows, Features).Narrow(1, 0, 16);
        for (int k = 0; k < 2; k++) h = graph.Sample(model.Family, model.GenerativeLogits(k, h)).Value;
        double[] expected = Sigmoid(model.GenerativeLogits(2, h));
        for (int r = 0; r < Rows; r++) AssertClose(expected[(r * 16)..((r + 1) * 16)], rows.AsSpan(r * Features + 16, 16), $"row {r}");
    }

    [Fact]
    public void RowsThatAreNotWholeRowsOfTheModelAreRejected()
    {
        var model = Model("4H~8H~32V");
        var e = Assert.Throws<ArgumentException>(() => Reconstruction.Means(model, TestRows[..40], new Rng(1)));
        Assert.Contains("40 values are not whole rows of the 32 features", e.Message);
        Assert.Throws<ArgumentException>(() => Reconstruction.Means(model, [], new Rng(1)));
    }
}
