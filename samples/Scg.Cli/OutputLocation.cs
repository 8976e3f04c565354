namespace Scg.Cli;

/// <summary>
/// Checks, before anything is trained or written, that a command can write where its --out option points: a
/// non-empty path, no file where a folder must be (or the reverse), and a folder this process may write in (tried
/// with a probe file that is deleted at once, so the file system itself answers: a read-only mount refuses even root).
/// Nothing is created; every failure is a <see cref="UsageException"/> naming the option and the path.
/// </summary>
static class OutputLocation
{
    /// <summary>
    /// A folder that is created if missing; <paramref name="files"/> are the paths, relative to it, that the command
    /// will write (their folders may be missing too). Returns the folder's full path.
    /// </summary>
    public static string RequireFolder(string option, string folder, IEnumerable<string> files)
    {
        string full = FullPath(option, folder, "a folder");
        if (File.Exists(full)) throw new UsageException($"{option} '{folder}' is a file; expected a folder (a new one, or one to write the run into).");
        foreach (string file in files)
        {
            string path = full;
            var parts = file.Split('/');
            for (int i = 0; i < parts.Length; i++)
            {
                path = Path.Combine(path, parts[i]);
                bool last = i == parts.Length - 1;
                if (last && Directory.Exists(path))
                    throw new UsageException($"{option} '{folder}': '{path}' is a folder, but the run writes its {parts[i]} file there; expected a file or nothing (move it away, or choose another {option}).");
                if (!last && File.Exists(path))
                    throw new UsageException($"{option} '{folder}': '{path}' is a file, but the run writes into a folder of that name; expected a folder or nothing (move it away, or choose another {option}).");
            }
        }
        RequireWritable(option, folder, full);
        return full;
    }

    /// <summary>A file that is written (and rewritten) in place; its folder is created if missing. Returns its full path.</summary>
    public static string RequireFile(string option, string file)
    {
        string full = FullPath(option, file, "a file name");
        if (Directory.Exists(full)) throw new UsageException($"{option} '{file}' is a folder; expected a file name such as runs/reproduce.md.");
        RequireWritable(option, file, Path.GetDirectoryName(full)!);
        return full;
    }

    static string FullPath(string option, string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException($"{option} is empty; expected {what}.");
        try { return Path.GetFullPath(path); }
        catch (ArgumentException) { throw new UsageException($"{option} '{path}' is not a valid path; expected {what}."); }
    }

    /// <summary>The deepest existing ancestor of <paramref name="folder"/> (or itself) must be a folder this process can create files in.</summary>
    static void RequireWritable(string option, string given, string folder)
    {
        string existing = folder;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new UsageException($"{option} '{given}': '{existing}' is a file, so no folder can be made inside it; expected a path whose parents are folders.");
            existing = Path.GetDirectoryName(existing) ?? throw new UsageException($"{option} '{given}': no part of the path exists; expected a path on a mounted file system.");
        }
        string probe = Path.Combine(existing, $".scg-write-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using var _ = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{option} '{given}': cannot write in '{existing}' ({ScgApp.OneLine(e.Message)}); expected a folder this user may write in.", e);
        }
    }
}
