namespace Scg.Models.Data;

/// <summary>
/// Fashion-MNIST from Debian's dataset-fashion-mnist package (gzip IDX files in /usr/share/datasets/fashion-mnist).
/// Same split as MNIST: 50,000 train and 10,000 valid from the training file, 10,000 test. The fixed bits are
/// cached in &lt;cacheDir&gt;/fashion-mnist, since the package's folder belongs to the system.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package installs the files.</summary>
    public const string DefaultDataDir = "/usr/share/datasets/fashion-mnist";
    /// <summary>The training images' file name.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte.gz";
    /// <summary>The test images' file name.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte.gz";

    /// <summary>The splits from the files in <paramref name="dataDir"/>; throws <see cref="FileNotFoundException"/> when they are missing.</summary>
    public static DataSplits Load(Binarization binarization, string? cacheDir = null, string dataDir = DefaultDataDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDir);
        string train = Path.Combine(dataDir, TrainImagesFile), test = Path.Combine(dataDir, TestImagesFile);
        foreach (string file in (string[])[train, test])
            if (!File.Exists(file))
                throw new FileNotFoundException(
                    $"Fashion-MNIST not found: '{file}' is missing. Install it with `apt-get install dataset-fashion-mnist`.", file);
        string binarizationDir = Path.Combine(cacheDir ?? DataSets.DefaultCacheDir, "fashion-mnist");
        return DataSets.FromIdxImages("fashion-mnist", train, test, binarization, binarizationDir, fallbackDir: DataSets.FallbackBinarizationDir);
    }
}
