namespace Scg.Cli;

/// <summary>
/// An exclusive lock on a run folder while a process writes to it: the file <see cref="FileName"/> in it, held open
/// with FileShare.None (flock on Unix), which the OS releases when the process ends in any way, kill -9 included. The
/// file stays behind; only an open handle locks.
/// </summary>
sealed class RunFolderLock : IDisposable
{
    public const string FileName = ".lock";
    readonly FileStream _file;

    RunFolderLock(FileStream file) => _file = file;

    /// <summary>
    /// Creates <paramref name="folder"/> if needed and locks it; another process holding it is bad input. Files a killed
    /// writer left half-written (*.tmp) are deleted.
    /// </summary>
    public static RunFolderLock Acquire(string folder, string option = "--out")
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, FileName);
        FileStream file;
        try { file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e) when (e.GetType() == typeof(IOException) && File.Exists(path))
        {
            throw new UsageException($"'{folder}' is in use by another scg process, which holds its lock file '{path}'; wait for that run to end, or choose another {option}.");
        }
        foreach (string tmp in Directory.EnumerateFiles(folder, "*.tmp")) File.Delete(tmp);
        return new RunFolderLock(file);
    }

    public void Dispose() => _file.Dispose();
}
