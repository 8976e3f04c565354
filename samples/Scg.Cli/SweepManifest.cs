using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Scg.Models.Reporting;

namespace Scg.Cli;

/// <summary>One swept train option and its values, in the order given.</summary>
sealed record SweepAxis(string Option, string[] Values);

/// <summary>
/// One cell of a sweep: a normal training run in <see cref="Folder"/> (relative to the sweep folder), started as
/// <c>scg train</c> with <see cref="Args"/> (every train option, defaults written out) and <c>--out</c> the folder.
/// </summary>
sealed record SweepCell(int Index, string Folder, Dictionary<string, string> Swept, string[] Args);

/// <summary>How the cells run: their launcher and its resources.</summary>
sealed record SweepLauncher
{
    public string Kind { get; init; } = "local";
    /// <summary>Cells at once (local), or the array's %P limit (slurm, 0 = no limit).</summary>
    public int Jobs { get; init; }
    public int ThreadsPerRun { get; init; } = 1;
    public string? Time { get; init; }
    public string? Mem { get; init; }
    public string? Partition { get; init; }
    /// <summary>Seconds before the time limit at which Slurm warns the task (the cell checkpoints and exits 75).</summary>
    public int SignalSeconds { get; init; } = 120;
    /// <summary>A task stopped by SIGTERM (exit 75) requeues itself and resumes from its checkpoint.</summary>
    public bool Requeue { get; init; }
    /// <summary>Extra #SBATCH lines, as given (e.g. --account=x).</summary>
    public string[] Sbatch { get; init; } = [];
}

/// <summary>
/// sweep.json, the sweep folder's manifest: the grid, every cell with its full train arguments, the launcher and the
/// Slurm jobs submitted for it. Only the user's commands (sweep, resume) write it, atomically; tasks never do.
/// </summary>
sealed record SweepManifest
{
    public const string FileName = "sweep.json", CurrentFormat = "scg-sweep/1";
    public string Format { get; init; } = CurrentFormat;
    public DateTime Created { get; init; }
    public required SweepAxis[] Axes { get; init; }
    public required SweepLauncher Launcher { get; init; }
    public List<string> SlurmJobs { get; init; } = [];
    public required SweepCell[] Cells { get; init; }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string PathIn(string sweep) => Path.Combine(sweep, FileName);

    public void Write(string sweep) => AtomicFile.WriteAllText(PathIn(sweep), JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>Reads the manifest of <paramref name="sweep"/>; a missing or malformed one is bad input naming the file.</summary>
    public static SweepManifest Read(string sweep)
    {
        string path = PathIn(sweep);
        if (!File.Exists(path))
            throw new UsageException($"'{sweep}' is not a sweep folder: expected its manifest '{path}' (written by scg sweep), found none.");
        SweepManifest? manifest;
        try { manifest = JsonSerializer.Deserialize<SweepManifest>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new UsageException($"sweep manifest '{path}' is malformed: {e.Message}"); }
        if (manifest is null || manifest.Format != CurrentFormat || manifest.Cells is null || manifest.Axes is null || manifest.Launcher is null)
            throw new UsageException($"sweep manifest '{path}' is malformed: expected format '{CurrentFormat}' with axes, launcher and cells.");
        for (int i = 0; i < manifest.Cells.Length; i++)
            if (manifest.Cells[i].Index != i || manifest.Cells[i].Args is null || string.IsNullOrEmpty(manifest.Cells[i].Folder))
                throw new UsageException($"sweep manifest '{path}' is malformed: cell {i} lacks its index, folder or arguments.");
        return manifest;
    }

    public SweepCell Cell(string sweep, int index) =>
        index >= 0 && index < Cells.Length ? Cells[index]
            : throw new UsageException($"cell index {index} is out of range: '{PathIn(sweep)}' has cells 0 to {Cells.Length - 1}.");

    /// <summary>Cell folder names: cells/000, cells/001, … (at least three digits, as many as the last index needs).</summary>
    public static int IndexDigits(int cells) => Math.Max(3, (cells - 1).ToString(CultureInfo.InvariantCulture).Length);

    /// <summary>"--estimator=vimco -m=5": the swept values of a cell.</summary>
    public static string Describe(SweepCell cell) => string.Join(' ', cell.Swept.Select(kv => $"{kv.Key}={kv.Value}"));
}

public enum CellState { Pending, Running, Done, Failed }

/// <summary>done.json: a finished cell's numbers.</summary>
sealed record CellDone(double TestBound, int TestSamples, double TrainBound, long Steps, double Seconds, DateTime Finished);

/// <summary>failed.json: how a cell's last attempt failed (its exit code and the end of what it printed on stderr).</summary>
sealed record CellFailure(int ExitCode, string Error, DateTime Finished);

/// <summary>
/// The files a cell's task keeps in its folder besides the run's own: its lock while it runs, and done.json or
/// failed.json after. They are the truth about the cell; a scheduler's view only adds to them.
/// </summary>
static class CellFiles
{
    public const string Lock = "cell.lock", Done = "done.json", Failed = "failed.json", Log = "cell.log";
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public static string Folder(string sweep, SweepCell cell) => Path.GetFullPath(Path.Combine(sweep, cell.Folder));

    public static void Write<T>(string folder, string name, T record) => AtomicFile.WriteAllText(Path.Combine(folder, name), JsonSerializer.Serialize(record, Json) + "\n");

    public static T? Read<T>(string folder, string name) where T : class
    {
        string path = Path.Combine(folder, name);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new UsageException($"'{path}' is malformed: {e.Message}"); }
    }

    /// <summary>True while a task holds the cell's lock (a shared lock cannot be had beside its exclusive one).</summary>
    public static bool IsLocked(string folder)
    {
        try
        {
            using var probe = new FileStream(Path.Combine(folder, Lock), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            return false;
        }
        catch (FileNotFoundException) { return false; }
        catch (DirectoryNotFoundException) { return false; }
        catch (IOException) { return true; }
    }

    /// <summary>
    /// Takes the cell's lock (held open until disposed; the OS releases it however the process ends). A status probe
    /// holds it for an instant, so a busy lock is tried again for a few seconds before the cell counts as in use.
    /// </summary>
    public static FileStream AcquireLock(string folder)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, Lock);
        for (int attempt = 0; ; attempt++)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException e) when (e.GetType() == typeof(IOException) && attempt < 60) { Thread.Sleep(50); }
            catch (IOException e) when (e.GetType() == typeof(IOException))
            {
                throw new UsageException($"cell folder '{folder}' is in use by another scg sweep run-cell, which holds '{path}'; wait for it to end.");
            }
        }
    }

    /// <summary>The step of the last complete row of the cell's metrics.csv (a row being written is left out), or null.</summary>
    public static long? LastStep(string folder)
    {
        string path = Path.Combine(folder, "metrics.csv");
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; }
        var lines = text.Split('\n');
        for (int i = lines.Length - 2; i >= 1; i--)   // the last piece follows the final line break: unfinished or empty
            if (long.TryParse(lines[i].Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long step)) return step;
        return null;
    }

    /// <summary>What the cell's files say: done, running (its lock is held), failed, or pending (never run, or stopped).</summary>
    public static (CellState State, CellDone? Done, CellFailure? Failure) State(string folder)
    {
        if (Read<CellDone>(folder, Done) is { } done) return (CellState.Done, done, null);
        if (IsLocked(folder)) return (CellState.Running, null, null);
        if (Read<CellFailure>(folder, Failed) is { } failure) return (CellState.Failed, null, failure);
        return (CellState.Pending, null, null);
    }
}
