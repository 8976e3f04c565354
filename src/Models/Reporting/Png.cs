using System.Buffers.Binary;
using System.IO.Compression;

namespace Scg.Models.Reporting;

/// <summary>
/// A minimal PNG encoder for 8-bit grayscale images: signature, IHDR, one zlib-compressed IDAT (filter type 0 on
/// every scanline) and IEND, each chunk with its CRC-32.
/// </summary>
public static class Png
{
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes <paramref name="pixels"/> (height rows of width bytes, 0 = black, 255 = white).</summary>
    public static byte[] EncodeGray(ReadOnlySpan<byte> pixels, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height != pixels.Length)
            throw new ArgumentException($"PNG: {pixels.Length} pixels do not fill a {width}×{height} image.", nameof(pixels));

        using var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;   // bit depth
        header[9] = 0;   // color type: grayscale
        header[10] = 0;  // compression: deflate
        header[11] = 0;  // filter method 0
        header[12] = 0;  // no interlace
        WriteChunk(output, "IHDR", header);

        using (var raw = new MemoryStream())
        {
            using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
                for (int y = 0; y < height; y++)
                {
                    z.WriteByte(0);  // filter type None
                    z.Write(pixels.Slice(y * width, width));
                }
            WriteChunk(output, "IDAT", raw.GetBuffer().AsSpan(0, (int)raw.Length));
        }
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>Writes a grayscale PNG file (to a temporary name first, then renamed into place).</summary>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height) =>
        AtomicFile.WriteAllBytes(path, EncodeGray(pixels, width, height));

    static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        for (int i = 0; i < 4; i++) head[4 + i] = (byte)type[i];
        output.Write(head);
        output.Write(data);
        uint crc = Crc32.Append(Crc32.Compute(head[4..]), data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        output.Write(tail);
    }
}

/// <summary>Lays out rows of pixel values in [0, 1] as a grid of small images (gray background between tiles).</summary>
public static class ImageGrid
{
    /// <summary>
    /// Height × width of one image of <paramref name="features"/> values: the given size when known, else the
    /// most nearly square factorization with height ≤ width (32 → 4×8, 784 → 28×28).
    /// </summary>
    public static (int Height, int Width) TileShape(int features, int? height = null, int? width = null)
    {
        if (height is int h && width is int w && h * w == features) return (h, w);
        int best = 1;
        for (int d = 1; d * d <= features; d++) if (features % d == 0) best = d;
        return (best, features / best);
    }

    /// <summary>
    /// Tiles <paramref name="rows"/> images of <paramref name="features"/> values (1 = white) into a grid of
    /// <paramref name="columns"/> columns, each pixel scaled up <paramref name="scale"/> times.
    /// Returns the pixels and the image size.
    /// </summary>
    public static (byte[] Pixels, int Width, int Height) Tile(ReadOnlySpan<float> values, int features, int columns,
        int tileHeight, int tileWidth, int scale = 1, int padding = 1)
    {
        if (features <= 0 || values.Length % features != 0)
            throw new ArgumentException($"image grid: {values.Length} values are not whole images of {features} features.", nameof(values));
        if (tileHeight * tileWidth != features)
            throw new ArgumentException($"image grid: a {tileHeight}×{tileWidth} tile does not hold {features} features.", nameof(tileHeight));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        int count = values.Length / features;
        if (count == 0) throw new ArgumentException("image grid: no images.", nameof(values));
        columns = Math.Min(columns, count);
        int gridRows = (count + columns - 1) / columns;
        int th = tileHeight * scale, tw = tileWidth * scale;
        int width = columns * tw + (columns + 1) * padding, height = gridRows * th + (gridRows + 1) * padding;
        var pixels = new byte[width * height];
        Array.Fill(pixels, (byte)128);
        for (int i = 0; i < count; i++)
        {
            int x0 = padding + (i % columns) * (tw + padding), y0 = padding + (i / columns) * (th + padding);
            var image = values.Slice(i * features, features);
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++)
                {
                    float v = image[(y / scale) * tileWidth + x / scale];
                    pixels[(y0 + y) * width + x0 + x] = (byte)Math.Round(255 * Math.Clamp(v, 0f, 1f));
                }
        }
        return (pixels, width, height);
    }

    /// <summary>Tiles the images and writes them as a PNG.</summary>
    public static void WritePng(string path, ReadOnlySpan<float> values, int features, int columns, int tileHeight, int tileWidth, int scale = 1)
    {
        var (pixels, width, height) = Tile(values, features, columns, tileHeight, tileWidth, scale);
        Png.WriteGray(path, pixels, width, height);
    }
}
