using Scg.Autodiff;
using Scg.Models.Data;
using Scg.Models.Sbn;

namespace Scg.Models.Tests;

public sealed class ReconstructionTests
{
    static readonly DataSplits Toy = ToySbn.Load();
    const int Rows = 8, Features = 32;

    static ReadOnlySpan<float> TestRows => Toy.Test.Values[..(Rows * Features)];

    static SigmoidBeliefNet Model(string spec, SbnOptions? options = null) => new(LayerSpec.Parse(spec), options ?? new SbnOptions(), new Rng(3));

    public static TheoryData<string, SbnOptions> DensityModels => new()
    {
        { "4H~8H~32V", new SbnOptions() },
        { "8H-32V", new SbnOptions { Arity = 4 } },
        { "3H~32V", new SbnOptions { Arity = 4, Encoding = Stochastic.Graph.NodeEncoding.OneHot, UniformPrior = true } },
        { "4H-32V", new SbnOptions { GaussianParameters = true } },
    };

    [Theory]
    [MemberData(nameof(DensityModels))]
    public void DensityReconstructionsAreSeededMeanImages(string spec, SbnOptions options)
    {
        var model = Model(spec, options);
        var igr = new TrainSettings().IgrAt(0);   // used by the Gaussian (IGR) model only
        float[] means = Reconstruction.Means(model, TestRows, new Rng(5), igr);

        Assert.Equal(Rows * Features, means.Length);
        Assert.All(means, v => Assert.InRange(v, 0f, 1f));
        Assert.Contains(means, v => v is > 0f and < 1f);
        Assert.Equal(means, Reconstruction.Means(model, TestRows, new Rng(5), igr));
        Assert.NotEqual(means, Reconstruction.Means(model, TestRows, new Rng(6), igr));   // h is drawn, not a fixed mode
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
