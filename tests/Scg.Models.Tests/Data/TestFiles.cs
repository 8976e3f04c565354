using System.Buffers.Binary;
using System.IO.Compression;
using Scg.Autodiff;

namespace Scg.Models.Tests.Data;

/// <summary>A fresh folder under the system temp folder, deleted on dispose.</summary>
sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"scg-data-test-{Guid.NewGuid():N}");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

static class TestFiles
{
    /// <summary>The bytes of an IDX file of unsigned bytes.</summary>
    public static byte[] IdxBytes(int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        bytes[2] = 0x08;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Optimal)) gz.Write(bytes);
        return output.ToArray();
    }

    public static string WriteIdx(string path, int[] dims, byte[] data, bool gzip = false)
    {
        byte[] bytes = IdxBytes(dims, data);
        File.WriteAllBytes(path, gzip ? Gzip(bytes) : bytes);
        return path;
    }

    /// <summary>Seeded pixels, a quarter of them 0 and a quarter 255 as in real digit images.</summary>
    public static byte[] Pixels(int count, ulong seed)
    {
        var rng = new Rng(seed);
        var pixels = new byte[count];
        for (int i = 0; i < count; i++)
            pixels[i] = rng.NextInt(4) switch { 0 => 0, 1 => 255, _ => (byte)rng.NextInt(256) };
        return pixels;
    }
}
