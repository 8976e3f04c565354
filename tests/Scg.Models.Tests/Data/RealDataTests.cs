using Scg.Models.Data;

namespace Scg.Models.Tests.Data;

/// <summary>
/// A fact about a real data set: skipped when its files are absent, unless SCG_REQUIRE_DATA=1 (then it runs and
/// fails with the loader's message).
/// </summary>
public sealed class DataFactAttribute : FactAttribute
{
    public DataFactAttribute(string name)
    {
        string[] files = name switch
        {
            "mnist" => [Path.Combine(Mnist.Folder(), Mnist.TrainImagesFile), Path.Combine(Mnist.Folder(), Mnist.TestImagesFile)],
            "fashion-mnist" => [Path.Combine(FashionMnist.DefaultDataDir, FashionMnist.TrainImagesFile), Path.Combine(FashionMnist.DefaultDataDir, FashionMnist.TestImagesFile)],
            _ => throw new ArgumentException($"no data files known for '{name}'", nameof(name)),
        };
        if (Environment.GetEnvironmentVariable("SCG_REQUIRE_DATA") != "1" && !files.All(File.Exists))
            Skip = $"{name} is absent ({string.Join(", ", files)}); set SCG_REQUIRE_DATA=1 to fail instead";
    }
}

public sealed class RealDataTests : IDisposable
{
    readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [DataFact("mnist")]
    public void MnistHasTheStandardSplit()
    {
        DataSplits s = DataSets.Load("mnist", Binarization.Fixed);
        CheckStandardSplit(s, expectedMean: 0.1307);

        DataSplits dynamic = DataSets.Load("mnist", Binarization.Dynamic);
        Assert.Equal(Binarization.Dynamic, dynamic.Train.Binarization);
        Assert.True(dynamic.Valid.Values.SequenceEqual(s.Valid.Values));
    }

    [DataFact("fashion-mnist")]
    public void FashionMnistHasTheStandardSplit()
    {
        CheckStandardSplit(DataSets.Load("fashion-mnist", Binarization.Fixed, _dir.Path), expectedMean: 0.286);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "fashion-mnist", "binarized-train.bits")));
    }

    static void CheckStandardSplit(DataSplits s, double expectedMean)
    {
        Assert.Equal((50_000, 10_000, 10_000), (s.Train.Rows, s.Valid.Rows, s.Test.Rows));
        Assert.All([s.Train, s.Valid, s.Test], d => Assert.Equal((784, 28, 28), (d.Features, d.ImageWidth, d.ImageHeight)));
        Assert.Equal(784, s.BaseRate.Length);
        Assert.InRange(s.BaseRate.Average(), expectedMean - 0.01, expectedMean + 0.01); // mean intensity of the set
    }
}
