using System.Text;

namespace Scg.Models.Reporting;

/// <summary>
/// Writes a file under a temporary name beside it (&lt;path&gt;.&lt;unique&gt;.tmp) and renames it into place, so readers
/// never see a half-written file and writers of the same file in several processes (sweep tasks sharing a cache)
/// never write into one another's temporary file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, as <see cref="Write"/>.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark to <paramref name="path"/>, as <see cref="Write"/>.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));

    /// <summary>Runs <paramref name="write"/> on a temporary file beside <paramref name="path"/>, flushes it to disk, then moves it over <paramref name="path"/>.</summary>
    public static void Write(string path, WriteAction write)
    {
        string tmp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException) throw new IOException($"could not write '{path}': {e.Message}", e);   // e.g. a full disk: name the file being written
            throw;
        }
    }

    /// <summary>Writes a file's contents to <paramref name="stream"/>.</summary>
    public delegate void WriteAction(Stream stream);
}
