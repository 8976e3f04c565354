using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Scg.Autodiff;

namespace Scg.Models.Data;

/// <summary>
/// Fixed binarization of 8-bit grayscale pixels: bit i is U_i &lt; pixel_i/255, with U drawn in pixel order from
/// <c>new Rng(seed, stream)</c>. The bits are cached in a file whose header records the shape, seed, stream and
/// SHA-256 digests of the source pixels and of the packed bits; a file that does not match is regenerated.
/// </summary>
internal static class FixedBinarization
{
    /// <summary>The seed of the published splits' bits.</summary>
    public const ulong DefaultSeed = 0x5EED_B175UL;

    static ReadOnlySpan<byte> Magic => "SCGBITS1"u8;

    // Magic, rows, features, seed, stream, SHA-256 of the pixels, SHA-256 of the packed bits.
    const int HeaderLength = 8 + 4 + 4 + 8 + 4 + 32 + 32;

    /// <summary>Intensity in [0,1] of an 8-bit pixel; shared by fixed and dynamic binarization.</summary>
    public static float Intensity(byte pixel) => pixel / 255f;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    public static float[] Draw(ReadOnlySpan<byte> pixels, ulong seed, int stream = 0)
    {
        var rng = new Rng(seed, stream);
        var bits = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
            bits[i] = rng.NextSingle() < Intensity(pixels[i]) ? 1f : 0f;
        return bits;
    }

    /// <summary>
    /// The bits of <paramref name="pixels"/> (rows × features) for <paramref name="seed"/> and <paramref name="stream"/>: read from
    /// <paramref name="cacheFile"/> when it holds exactly them, else drawn and written there atomically. When that file
    /// cannot be written (a read-only or full data folder), the bits are cached in <paramref name="fallbackDir"/> under a
    /// name taken from the pixels' digest; when neither can be written they are used uncached (they are the same bits).
    /// </summary>
    public static float[] LoadOrCreate(string cacheFile, ReadOnlySpan<byte> pixels, int rows, int features, ulong seed, int stream = 0, string? fallbackDir = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheFile);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        ArgumentOutOfRangeException.ThrowIfNegative(stream);
        if ((long)rows * features != pixels.Length)
            throw new ArgumentException($"pixels has {pixels.Length} bytes; {rows} rows × {features} features need {(long)rows * features}.", nameof(pixels));

        byte[] pixelHash = SHA256.HashData(pixels);
        string? fallback = fallbackDir is null ? null
            : Path.Combine(fallbackDir, $"{Path.GetFileNameWithoutExtension(cacheFile)}-{Convert.ToHexStringLower(pixelHash, 0, 8)}.bits");
        foreach (string? file in (string?[])[cacheFile, fallback])
            if (file is not null && TryLoad(file, pixels.Length, rows, features, seed, stream, pixelHash) is float[] cached)
                return cached;

        float[] bits = Draw(pixels, seed, stream);
        foreach (string? file in (string?[])[cacheFile, fallback])
        {
            if (file is null) continue;
            try
            {
                Write(file, bits, rows, features, seed, stream, pixelHash);
                break;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // not writable here: try the next place
        }
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    static float[]? TryLoad(string path, int count, int rows, int features, ulong seed, int stream, byte[] pixelHash)
    {
        var info = new FileInfo(path);
        if (!info.Exists || info.Length != HeaderLength + PackedLength(count)) return null;
        byte[] file;
        try { file = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }   // unreadable: as if absent
        ReadOnlySpan<byte> f = file;
        ReadOnlySpan<byte> packed = f[HeaderLength..];
        bool valid = f[..8].SequenceEqual(Magic)
            && BinaryPrimitives.ReadInt32LittleEndian(f[8..]) == rows
            && BinaryPrimitives.ReadInt32LittleEndian(f[12..]) == features
            && BinaryPrimitives.ReadUInt64LittleEndian(f[16..]) == seed
            && BinaryPrimitives.ReadInt32LittleEndian(f[24..]) == stream
            && f.Slice(28, 32).SequenceEqual(pixelHash)
            && f.Slice(60, 32).SequenceEqual(SHA256.HashData(packed));
        if (!valid) return null;
        var bits = new float[count];
        for (int i = 0; i < count; i++)
            bits[i] = (packed[i >> 3] >> (i & 7)) & 1;
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    static void Write(string path, float[] bits, int rows, int features, ulong seed, int stream, byte[] pixelHash)
    {
        var file = new byte[HeaderLength + PackedLength(bits.Length)];
        Span<byte> packed = file.AsSpan(HeaderLength);
        for (int i = 0; i < bits.Length; i++)
            if (bits[i] != 0f) packed[i >> 3] |= (byte)(1 << (i & 7));
        Magic.CopyTo(file);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(12), features);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(16), seed);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(24), stream);
        pixelHash.CopyTo(file, 28);
        SHA256.HashData(packed, file.AsSpan(60, 32));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Reporting.AtomicFile.WriteAllBytes(path, file);
    }

    static int PackedLength(int count) => (count + 7) / 8;
}
