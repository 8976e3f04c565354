using Scg.Models.Data;

namespace Scg.Models.Tests.Data;

public sealed class DataSetsTests : IDisposable
{
    const int TrainImages = 12, TestImages = 4, ValidRows = 5, Height = 3, Width = 2, Features = Height * Width;
    readonly TempDir _dir = new();
    readonly byte[] _trainPixels = TestFiles.Pixels(TrainImages * Features, seed: 31);
    readonly byte[] _testPixels = TestFiles.Pixels(TestImages * Features, seed: 32);
    readonly string _train, _test;

    public DataSetsTests()
    {
        _train = TestFiles.WriteIdx(_dir.File("train-images-idx3-ubyte"), [TrainImages, Height, Width], _trainPixels);
        _test = TestFiles.WriteIdx(_dir.File("t10k-images-idx3-ubyte.gz"), [TestImages, Height, Width], _testPixels, gzip: true);
    }

    public void Dispose() => _dir.Dispose();

    DataSplits Load(Binarization binarization) =>
        DataSets.FromIdxImages("fake", _train, _test, binarization, _dir.File("bits"), ValidRows);

    [Fact]
    public void FixedSplitTakesValidFromTheEndOfTheTrainingFile()
    {
        DataSplits s = Load(Binarization.Fixed);
        float[] trainFileBits = FixedBinarization.Draw(_trainPixels, FixedBinarization.DefaultSeed, stream: 0);
        float[] testBits = FixedBinarization.Draw(_testPixels, FixedBinarization.DefaultSeed, stream: 1);

        Assert.Equal("fake", s.Name);
        Assert.Equal((7, 5, 4), (s.Train.Rows, s.Valid.Rows, s.Test.Rows));
        Assert.All([s.Train, s.Valid, s.Test], d =>
        {
            Assert.Equal((Features, Width, Height, Binarization.Fixed), (d.Features, d.ImageWidth, d.ImageHeight, d.Binarization));
        });
        Assert.Equal(trainFileBits[..(7 * Features)], s.Train.Values.ToArray());
        Assert.Equal(trainFileBits[(7 * Features)..], s.Valid.Values.ToArray());
        Assert.Equal(testBits, s.Test.Values.ToArray());
        Assert.Equal(s.Train.FeatureMeans(), s.BaseRate);
        Assert.True(File.Exists(_dir.File(Path.Combine("bits", "binarized-train.bits"))));
        Assert.True(File.Exists(_dir.File(Path.Combine("bits", "binarized-test.bits"))));
    }

    [Fact]
    public void DynamicSplitTrainsOnIntensitiesAndEvaluatesOnFixedBits()
    {
        DataSplits fixedSplit = Load(Binarization.Fixed), s = Load(Binarization.Dynamic);

        Assert.Equal(Binarization.Dynamic, s.Train.Binarization);
        Assert.Equal(_trainPixels[..(7 * Features)].Select(FixedBinarization.Intensity).ToArray(), s.Train.Values.ToArray());
        Assert.Equal(s.Train.FeatureMeans(), s.BaseRate);
        Assert.Equal(fixedSplit.Valid.Values.ToArray(), s.Valid.Values.ToArray());
        Assert.Equal(fixedSplit.Test.Values.ToArray(), s.Test.Values.ToArray());
    }

    [Fact]
    public void ThresholdSplitThresholdsEverySplitAtHalfIntensityAndCachesNothing()
    {
        DataSplits s = Load(Binarization.Threshold);
        float[] Thresholded(IEnumerable<byte> pixels) => pixels.Select(p => FixedBinarization.Intensity(p) >= 0.5f ? 1f : 0f).ToArray();

        Assert.All([s.Train, s.Valid, s.Test], d => Assert.Equal(Binarization.Threshold, d.Binarization));
        Assert.Equal((7, 5, 4), (s.Train.Rows, s.Valid.Rows, s.Test.Rows));
        Assert.Equal(Thresholded(_trainPixels[..(7 * Features)]), s.Train.Values.ToArray());
        Assert.Equal(Thresholded(_trainPixels[(7 * Features)..]), s.Valid.Values.ToArray());
        Assert.Equal(Thresholded(_testPixels), s.Test.Values.ToArray());
        Assert.Equal(s.Train.FeatureMeans(), s.BaseRate);
        Assert.False(Directory.Exists(_dir.File("bits")));
    }

    [Fact]
    public void ThresholdPutsPixel127At0And128At1()
    {
        byte[] pixels = [0, 127, 128, 255, 127, 128];
        string train = TestFiles.WriteIdx(_dir.File("edge-train"), [2, 1, 3], pixels), test = TestFiles.WriteIdx(_dir.File("edge-test"), [1, 1, 3], pixels[..3]);
        DataSplits s = DataSets.FromIdxImages("edge", train, test, Binarization.Threshold, _dir.File("edge-bits"), validRows: 1);
        Assert.Equal([0f, 0f, 1f], s.Train.Values.ToArray());
        Assert.Equal([1f, 0f, 1f], s.Valid.Values.ToArray());
        Assert.Equal([0f, 0f, 1f], s.Test.Values.ToArray());
    }

    [Fact]
    public void MismatchedFilesAreRejectedNamingThem()
    {
        string odd = TestFiles.WriteIdx(_dir.File("odd"), [TestImages, Width, Height], _testPixels);
        string flat = TestFiles.WriteIdx(_dir.File("flat"), [TestImages, Features], _testPixels);

        var e = Assert.Throws<InvalidDataException>(() => DataSets.FromIdxImages("fake", _train, odd, Binarization.Fixed, _dir.Path, ValidRows));
        Assert.Contains($"'{odd}' holds 2×3 images but '{_train}' holds 3×2", e.Message);
        e = Assert.Throws<InvalidDataException>(() => DataSets.FromIdxImages("fake", flat, _test, Binarization.Fixed, _dir.Path, ValidRows));
        Assert.Contains($"'{flat}' has dims [4, 6]; expected images as [count, height, width]", e.Message);
        e = Assert.Throws<InvalidDataException>(() => DataSets.FromIdxImages("fake", _train, _test, Binarization.Fixed, _dir.Path, TrainImages));
        Assert.Contains($"'{_train}' holds {TrainImages} images, but the split validates on its last {TrainImages} and trains on the rest: expected more than {TrainImages} images, found {TrainImages}.", e.Message);
    }

    [Fact]
    public void MissingMnistSaysHowToFetchIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => Mnist.Load(Binarization.Fixed, _dir.Path));

        Assert.Contains("scripts/fetch-mnist.sh", e.Message);
        Assert.Contains($"'{Path.Combine(_dir.Path, "mnist")}'", e.Message);
        Assert.Equal(Path.Combine(_dir.Path, "mnist", Mnist.TrainImagesFile), e.FileName);
    }

    [Fact]
    public void MissingFashionMnistSaysHowToInstallIt()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(Binarization.Fixed, _dir.Path, dataDir: _dir.Path));

        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
        Assert.Equal(Path.Combine(_dir.Path, FashionMnist.TrainImagesFile), e.FileName);
    }

    [Fact]
    public void UnknownNameListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>("name", () => DataSets.Load("cifar", Binarization.Fixed, _dir.Path));
        Assert.Contains("'cifar'", e.Message);
        Assert.Contains("mnist, fashion-mnist", e.Message);
    }

    [Fact]
    public void LoadByNameUsesTheCacheFolder()
    {
        string mnist = Directory.CreateDirectory(_dir.File("mnist")).FullName;
        File.Copy(_train, Path.Combine(mnist, Mnist.TrainImagesFile));
        TestFiles.WriteIdx(Path.Combine(mnist, Mnist.TestImagesFile), [TestImages, Height, Width], _testPixels);

        // 12 training images cannot give up the standard 10,000 for validation.
        var e = Assert.Throws<InvalidDataException>(() => DataSets.Load("mnist", Binarization.Fixed, _dir.Path));
        Assert.Contains(Path.Combine(mnist, Mnist.TrainImagesFile), e.Message);
    }
}
