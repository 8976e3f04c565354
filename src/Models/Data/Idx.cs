using System.Buffers.Binary;
using System.IO.Compression;

namespace Scg.Models.Data;

/// <summary>An IDX file's contents: the dimensions and the unsigned bytes in row-major order.</summary>
internal sealed class IdxArray
{
    internal IdxArray(int[] dims, byte[] data)
    {
        Dims = dims;
        Data = data;
    }

    public int[] Dims { get; }
    public byte[] Data { get; }
}

/// <summary>An IDX file that is not valid; the message names the file and what is wrong.</summary>
public sealed class IdxFormatException(string path, string problem, Exception? inner = null)
    : IOException($"IDX file '{path}': {problem}", inner)
{
    /// <summary>The file that is not valid.</summary>
    public string FilePath { get; } = path;
}

/// <summary>
/// Reader for the IDX format of MNIST: bytes 00 00, a type code, the number of dimensions, each dimension as a
/// big-endian int32, then the elements. Only type 0x08 (unsigned byte) is read. Gzip input is recognised by its
/// 1F 8B magic, whatever the file is called.
/// </summary>
internal static class Idx
{
    const int ReadChunk = 1 << 20;

    public static IdxArray Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
        file.Position = 0;
        if (!gzip) return Parse(file, path, file.Length, "");

        using var unzip = new GZipStream(file, CompressionMode.Decompress);
        try
        {
            return Parse(unzip, path, knownLength: null, " after gzip decompression");
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(path, $"corrupt gzip stream ({e.Message})", e);
        }
    }

    static IdxArray Parse(Stream s, string path, long? knownLength, string where)
    {
        Span<byte> head = stackalloc byte[4];
        int got = s.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (got < 4)
            throw new IdxFormatException(path, $"truncated header{where}: expected 4 magic bytes, found {got}.");
        if (head[0] != 0 || head[1] != 0)
            throw new IdxFormatException(path, $"bad magic{where}: expected 00 00 at offset 0, found {head[0]:X2} {head[1]:X2}.");
        if (head[2] != 0x08)
            throw new IdxFormatException(path, $"unsupported type code 0x{head[2]:X2} ({TypeName(head[2])}); only 0x08 (unsigned byte) is supported.");
        int rank = head[3];
        if (rank == 0)
            throw new IdxFormatException(path, "the header declares 0 dimensions; expected at least 1.");

        var dimBytes = new byte[4 * rank];
        got = s.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false);
        if (got < dimBytes.Length)
            throw new IdxFormatException(path, $"truncated header{where}: {rank} dimensions need {dimBytes.Length} bytes, found {got}.");
        var dims = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(dimBytes.AsSpan(4 * i));
            if (dims[i] <= 0)
                throw new IdxFormatException(path, $"dimension {i} is {dims[i]}; expected a positive size.");
            count *= dims[i];
            if (count > Array.MaxLength)
                throw new IdxFormatException(path, $"dims [{string.Join(", ", dims[..(i + 1)])}...] promise more than {Array.MaxLength} elements; the header is corrupt.");
        }

        long headerLength = 4 + dimBytes.Length;
        if (knownLength is long length && length - headerLength != count)
            throw DataLengthMismatch(path, dims, count, length - headerLength, where);

        var data = new byte[knownLength is null ? Math.Min(count, ReadChunk) : count];
        int filled = 0;
        while (true)
        {
            if (filled == data.Length)
            {
                if (filled == count) break;
                Array.Resize(ref data, (int)Math.Min(count, 2L * data.Length));
            }
            int n = s.Read(data, filled, data.Length - filled);
            if (n == 0) break;
            filled += n;
        }
        if (filled < count || s.ReadByte() != -1)
            throw DataLengthMismatch(path, dims, count, filled < count ? filled : null, where);
        return new IdxArray(dims, data);
    }

    /// <summary>found is the number of data bytes present, or null when only "more than promised" is known.</summary>
    static IdxFormatException DataLengthMismatch(string path, int[] dims, long count, long? found, string where)
    {
        string promise = $"dims [{string.Join(", ", dims)}] promise {count} data bytes";
        return found < count
            ? new IdxFormatException(path, $"truncated data{where}: {promise}, found {found}.")
            : new IdxFormatException(path, $"trailing bytes{where}: {promise}, found {(found is long f ? $"{f - count} more" : "more")}.");
    }

    static string TypeName(byte code) => code switch
    {
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX type",
    };
}
