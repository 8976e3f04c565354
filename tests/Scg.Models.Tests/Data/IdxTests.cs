using Scg.Models.Data;

namespace Scg.Models.Tests.Data;

public sealed class IdxTests : IDisposable
{
    readonly TempDir _dir = new();
    static readonly int[] Dims = [5, 3, 4];
    static readonly byte[] Pixels = TestFiles.Pixels(5 * 3 * 4, seed: 11);

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsRawAndGzipFiles(bool gzip)
    {
        // A gzip file named like a raw one: detection goes by the magic.
        string path = TestFiles.WriteIdx(_dir.File("images-idx3-ubyte"), Dims, Pixels, gzip);

        IdxArray idx = Idx.Read(path);

        Assert.Equal(Dims, idx.Dims);
        Assert.Equal(Pixels, idx.Data);
    }

    [Fact]
    public void ReadsAGzipFileBiggerThanOneReadChunk()
    {
        int[] dims = [3, 1000, 1000];
        byte[] pixels = TestFiles.Pixels(3_000_000, seed: 12);
        string path = TestFiles.WriteIdx(_dir.File("big.gz"), dims, pixels, gzip: true);

        Assert.Equal(pixels, Idx.Read(path).Data);
    }

    public static TheoryData<string, string> CorruptFiles()
    {
        byte[] good = TestFiles.IdxBytes(Dims, Pixels);
        byte[] gz = TestFiles.Gzip(good);
        byte[] badDeflate = (byte[])gz.Clone();
        badDeflate[10] = 0xFF; // first deflate block: final, reserved block type 11
        byte[] badCrc = (byte[])gz.Clone();
        badCrc[^8] ^= 0x55; // CRC-32 of the trailer
        byte[] negativeDim = (byte[])good.Clone();
        negativeDim[8] = 0xFF; // dimension 1 becomes negative
        byte[] hugeDims = TestFiles.IdxBytes([1 << 16, 1 << 16, 1 << 16], []);
        return new TheoryData<string, string>
        {
            { Convert.ToHexString([0x1F, 0x00, .. good[2..]]), "bad magic: expected 00 00 at offset 0, found 1F 00" },
            { Convert.ToHexString([0x00, 0x00, 0x0D, .. good[3..]]), "unsupported type code 0x0D (float32)" },
            { Convert.ToHexString(good[..3]), "truncated header: expected 4 magic bytes, found 3" },
            { Convert.ToHexString(good[..10]), "truncated header: 3 dimensions need 12 bytes, found 6" },
            { Convert.ToHexString([0x00, 0x00, 0x08, 0x00]), "declares 0 dimensions" },
            { Convert.ToHexString(negativeDim), "dimension 1 is -16777213; expected a positive size" },
            { Convert.ToHexString(hugeDims), "promise more than" },
            { Convert.ToHexString(good[..^7]), "truncated data: dims [5, 3, 4] promise 60 data bytes, found 53" },
            { Convert.ToHexString([.. good, 1, 2]), "trailing bytes: dims [5, 3, 4] promise 60 data bytes, found 2 more" },
            { Convert.ToHexString(TestFiles.Gzip(good[..^7])), "truncated data after gzip decompression: dims [5, 3, 4] promise 60 data bytes, found 53" },
            { Convert.ToHexString(TestFiles.Gzip([.. good, 9])), "trailing bytes after gzip decompression" },
            { Convert.ToHexString(TestFiles.Gzip([0x08, 0x03, .. good[2..]])), "bad magic after gzip decompression" },
            { Convert.ToHexString(badDeflate), "corrupt gzip stream" },
            { Convert.ToHexString(badCrc), "corrupt gzip stream" },
        };
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void RejectsCorruptFilesNamingFileAndProblem(string hex, string problem)
    {
        string path = _dir.File("corrupt-idx3-ubyte");
        File.WriteAllBytes(path, Convert.FromHexString(hex));

        var e = Assert.Throws<IdxFormatException>(() => Idx.Read(path));

        Assert.Equal(path, e.FilePath);
        Assert.Contains($"'{path}'", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void TruncatedGzipIsRejected()
    {
        byte[] gz = TestFiles.Gzip(TestFiles.IdxBytes(Dims, Pixels));
        string path = _dir.File("cut.gz");
        File.WriteAllBytes(path, gz[..(gz.Length / 2)]);

        var e = Assert.Throws<IdxFormatException>(() => Idx.Read(path));

        Assert.Contains($"'{path}'", e.Message);
        Assert.Matches("truncated|corrupt gzip", e.Message);
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        string path = _dir.File("absent");
        var e = Assert.Throws<FileNotFoundException>(() => Idx.Read(path));
        Assert.Equal(path, e.FileName);
    }
}
