using Scg.Models.Data;

namespace Scg.Models.Tests.Data;

public sealed class FixedBinarizationTests : IDisposable
{
    const int Rows = 40, Features = 30;
    readonly TempDir _dir = new();
    readonly byte[] _pixels = TestFiles.Pixels(Rows * Features, seed: 21);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void SameSeedGivesIdenticalBits()
    {
        float[] a = FixedBinarization.Draw(_pixels, seed: 7), b = FixedBinarization.Draw(_pixels, seed: 7);

        Assert.Equal(a, b);
        Assert.NotEqual(a, FixedBinarization.Draw(_pixels, seed: 8));
        Assert.NotEqual(a, FixedBinarization.Draw(_pixels, seed: 7, stream: 1));
    }

    [Fact]
    public void BitsFollowTheIntensities()
    {
        byte[] pixels = new byte[30_000];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 3 == 0 ? 0 : i % 3 == 1 ? 255 : 64);

        float[] bits = FixedBinarization.Draw(pixels, seed: 3);

        Assert.All(Enumerable.Range(0, pixels.Length).Where(i => i % 3 == 0), i => Assert.Equal(0f, bits[i]));
        Assert.All(Enumerable.Range(0, pixels.Length).Where(i => i % 3 == 1), i => Assert.Equal(1f, bits[i]));
        double rate = Enumerable.Range(0, pixels.Length).Where(i => i % 3 == 2).Average(i => bits[i]);
        Assert.InRange(rate, 64 / 255.0 - 0.02, 64 / 255.0 + 0.02); // 10,000 draws: 5 standard deviations
    }

    [Fact]
    public void CacheRoundTripsWithoutRewriting()
    {
        string cache = _dir.File("bits");
        float[] created = FixedBinarization.LoadOrCreate(cache, _pixels, Rows, Features, seed: 5);
        var stamp = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(cache, stamp);

        float[] loaded = FixedBinarization.LoadOrCreate(cache, _pixels, Rows, Features, seed: 5);

        Assert.Equal(FixedBinarization.Draw(_pixels, seed: 5), created);
        Assert.Equal(created, loaded);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(cache));
        Assert.Equal([cache], Directory.GetFiles(_dir.Path)); // no temporary file left behind
    }

    public static TheoryData<string> Corruptions() => ["flip-payload", "flip-header", "truncate", "append", "empty"];

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void CorruptCacheIsDetectedAndRegenerated(string corruption)
    {
        string cache = _dir.File("bits");
        float[] original = FixedBinarization.LoadOrCreate(cache, _pixels, Rows, Features, seed: 5);
        byte[] good = File.ReadAllBytes(cache);
        byte[] bad = corruption switch
        {
            "flip-payload" => Flip(good, good.Length - 3),
            "flip-header" => Flip(good, 9),
            "truncate" => good[..^1],
            "append" => [.. good, 0],
            _ => [],
        };
        File.WriteAllBytes(cache, bad);

        float[] bits = FixedBinarization.LoadOrCreate(cache, _pixels, Rows, Features, seed: 5);

        Assert.Equal(original, bits);
        Assert.Equal(good, File.ReadAllBytes(cache));
    }

    [Fact]
    public void CacheOfOtherSeedOrPixelsIsRegenerated()
    {
        string cache = _dir.File("bits");
        FixedBinarization.LoadOrCreate(cache, _pixels, Rows, Features, seed: 5);

        Assert.Equal(FixedBinarization.Draw(_pixels, seed: 6), FixedBinarization.LoadOrCreate(cache, _pixels, Rows, Features, seed: 6));

        byte[] other = (byte[])_pixels.Clone();
        other[0] ^= 0x80;
        Assert.Equal(FixedBinarization.Draw(other, seed: 6), FixedBinarization.LoadOrCreate(cache, other, Rows, Features, seed: 6));
    }

    [Fact]
    public void ShapeMismatchIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => FixedBinarization.LoadOrCreate(_dir.File("bits"), _pixels, Rows, Features + 1, seed: 5));
        Assert.Equal("pixels", e.ParamName);
        Assert.Contains($"{Rows * Features} bytes", e.Message);
    }

    static byte[] Flip(byte[] bytes, int at)
    {
        byte[] copy = (byte[])bytes.Clone();
        copy[at] ^= 0x01;
        return copy;
    }
}
