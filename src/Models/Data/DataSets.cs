using System.Runtime.CompilerServices;

namespace Scg.Models.Data;

/// <summary>
/// Train/valid/test splits of one data set. Under <see cref="Binarization.Dynamic"/> only Train is dynamic: Valid
/// and Test keep the fixed bits, so evaluations are comparable across epochs and runs. Under
/// <see cref="Binarization.Threshold"/> all three are thresholded.
/// </summary>
public sealed class DataSplits
{
    /// <summary>The data set's name, as <see cref="DataSets.Load"/> knows it.</summary>
    public required string Name { get; init; }
    /// <summary>The training rows.</summary>
    public required BinaryDataset Train { get; init; }
    /// <summary>The validation rows (fixed bits, or thresholded under <see cref="Binarization.Threshold"/>).</summary>
    public required BinaryDataset Valid { get; init; }
    /// <summary>The test rows (fixed bits, or thresholded under <see cref="Binarization.Threshold"/>).</summary>
    public required BinaryDataset Test { get; init; }

    /// <summary>Mean of each feature over Train (raw, may be 0 or 1: clamp before taking a logit).</summary>
    public required float[] BaseRate { get; init; }
}

/// <summary>The data sets by name, and where their files and cached bits are kept.</summary>
public static class DataSets
{
    /// <summary>Names <see cref="Load"/> knows.</summary>
    public static IReadOnlyList<string> Names { get; } = [ToySbn.Name, "mnist", "fashion-mnist"];

    /// <summary>Rows taken from the end of the training file for validation in the standard split.</summary>
    public const int StandardValidRows = 10_000;

    /// <summary>$SCG_DATA if set, else ~/.cache/scg (the same folder scripts/fetch-mnist.sh uses).</summary>
    public static string DefaultCacheDir
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("SCG_DATA");
            if (!string.IsNullOrEmpty(env)) return env;
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            if (string.IsNullOrEmpty(home))
                throw new InvalidOperationException("No data folder: neither SCG_DATA nor HOME is set.");
            return Path.Combine(home, ".cache", "scg");
        }
    }

    /// <summary>
    /// This user's own cache folder, $XDG_CACHE_HOME/scg or else ~/.cache/scg (null when neither is known): where fixed
    /// bits go when the data folder cannot be written, e.g. a shared read-only copy of MNIST.
    /// </summary>
    public static string? UserCacheDir
    {
        get
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "scg");
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "scg");
        }
    }

    /// <summary>The folder of fixed bits that could not be cached beside their data: &lt;<see cref="UserCacheDir"/>&gt;/binarization.</summary>
    public static string? FallbackBinarizationDir => UserCacheDir is string dir ? Path.Combine(dir, "binarization") : null;

    /// <summary>Loads a data set by name; <paramref name="cacheDir"/> defaults to <see cref="DefaultCacheDir"/>.</summary>
    public static DataSplits Load(string name, Binarization binarization, string? cacheDir = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name switch
        {
            "mnist" => Mnist.Load(binarization, cacheDir),
            "fashion-mnist" => FashionMnist.Load(binarization, cacheDir),
            ToySbn.Name => ToySbn.Load(),
            _ => throw new ArgumentException($"Unknown data set '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>
    /// Splits a pair of IDX image files ([images, height, width] unsigned bytes): the first rows of
    /// <paramref name="trainImages"/> train, its last <paramref name="validRows"/> validate, <paramref name="testImages"/>
    /// tests. Fixed bits (one fixed seed; stream 0 for the train file, 1 for the test file) are cached in
    /// <paramref name="binarizationDir"/>, or in <paramref name="fallbackDir"/> when that cannot be written; a cached file
    /// that does not match its pixels is drawn again. Under <see cref="Binarization.Threshold"/> every split is
    /// thresholded and nothing is cached.
    /// </summary>
    public static DataSplits FromIdxImages(string name, string trainImages, string testImages, Binarization binarization,
        string binarizationDir, int validRows = StandardValidRows, string? fallbackDir = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(binarizationDir);
        if (!Enum.IsDefined(binarization))
            throw new ArgumentOutOfRangeException(nameof(binarization), $"binarization is {(int)binarization}; expected Fixed, Dynamic or Threshold.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validRows);

        IdxArray train = Idx.Read(trainImages), test = Idx.Read(testImages);
        (int n, int height, int width) = ImageDims(train, trainImages);
        (int nTest, int testHeight, int testWidth) = ImageDims(test, testImages);
        if ((testHeight, testWidth) != (height, width))
            throw new InvalidDataException($"'{testImages}' holds {testHeight}×{testWidth} images but '{trainImages}' holds {height}×{width}.");
        if (validRows >= n)
            throw new InvalidDataException(
                $"'{trainImages}' holds {n} images, but the split validates on its last {validRows} and trains on the rest: expected more than {validRows} images, found {n}.");

        int features = height * width, trainRows = n - validRows;
        // The training file's bits (its last rows validate) and the test bits: thresholded, or fixed bits from the cache.
        BinaryDataset trainFile, testSet;
        if (binarization == Binarization.Threshold)
        {
            trainFile = BinaryDataset.Thresholded(train.Data, n, features, width, height);
            testSet = BinaryDataset.Thresholded(test.Data, nTest, features, width, height);
        }
        else
        {
            float[] trainFileBits = FixedBinarization.LoadOrCreate(
                Path.Combine(binarizationDir, "binarized-train.bits"), train.Data, n, features, FixedBinarization.DefaultSeed, stream: 0, fallbackDir);
            float[] testBits = FixedBinarization.LoadOrCreate(
                Path.Combine(binarizationDir, "binarized-test.bits"), test.Data, nTest, features, FixedBinarization.DefaultSeed, stream: 1, fallbackDir);
            trainFile = BinaryDataset.FromBits(trainFileBits, n, features, width, height);
            testSet = BinaryDataset.FromBits(testBits, nTest, features, width, height);
        }

        BinaryDataset trainSet = binarization == Binarization.Dynamic
            ? BinaryDataset.FromIntensities(Intensities(train.Data.AsSpan(0, trainRows * features)), trainRows, features, width, height)
            : trainFile.Slice(0, trainRows);
        return new DataSplits
        {
            Name = name,
            Train = trainSet,
            Valid = trainFile.Slice(trainRows, validRows),
            Test = testSet,
            BaseRate = trainSet.FeatureMeans(),
        };
    }

    static (int Count, int Height, int Width) ImageDims(IdxArray images, string path) =>
        images.Dims is [int count, int height, int width]
            ? (count, height, width)
            : throw new InvalidDataException($"'{path}' has dims [{string.Join(", ", images.Dims)}]; expected images as [count, height, width].");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    static float[] Intensities(ReadOnlySpan<byte> pixels)
    {
        var values = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) values[i] = FixedBinarization.Intensity(pixels[i]);
        return values;
    }
}
