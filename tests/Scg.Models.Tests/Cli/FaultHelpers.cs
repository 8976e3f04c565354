using System.Diagnostics;

namespace Scg.Models.Tests;

/// <summary>
/// A small tmpfs that a test mounts (it needs root, or CAP_SYS_ADMIN), fills or makes read-only, and unmounts on
/// dispose. A read-only mount refuses writes even to root, which permission bits do not.
/// </summary>
sealed class Tmpfs : IDisposable
{
    public string Path { get; }

    Tmpfs(string path) => Path = path;

    /// <summary>Mounts a tmpfs of <paramref name="size"/> (e.g. "64k") at <paramref name="path"/>, or returns null with the reason it cannot.</summary>
    public static Tmpfs? TryMount(string path, string size, out string reason)
    {
        reason = "";
        if (!OperatingSystem.IsLinux()) { reason = "tmpfs mounts need Linux"; return null; }
        Directory.CreateDirectory(path);
        var (code, output) = Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0777", "tmpfs", path);
        if (code == 0) return new Tmpfs(path);
        reason = $"cannot mount a tmpfs at '{path}' (mount exited {code}: {output.Trim()}); this needs root";
        return null;
    }

    public void MakeReadOnly()
    {
        var (code, output) = Run("mount", "-o", "remount,ro", Path);
        if (code != 0) throw new InvalidOperationException($"remount,ro of '{Path}' failed ({code}): {output}");
    }

    public void Dispose() => Run("umount", "-l", Path);

    static (int Code, string Output) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) start.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(start)!;
            string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}

static class FaultHelpers
{
    /// <summary>
    /// The scg program in a process of its own, for what an in-process run cannot set: environment variables the
    /// runtime reads at start (DOTNET_GCHeapHardLimit) or that other tests must not see (XDG_CACHE_HOME).
    /// </summary>
    public static (int Code, string Out, string Err) ScgProcess(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "scg.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Every file and folder under <paramref name="dir"/> (relative path → contents, "/" for a folder), to show nothing changed.</summary>
    public static SortedDictionary<string, string> Tree(string dir)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(dir)) return tree;
        foreach (string entry in Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories))
            tree[Path.GetRelativePath(dir, entry)] = Directory.Exists(entry) ? "/" : Convert.ToBase64String(File.ReadAllBytes(entry));
        return tree;
    }

    /// <summary>No temporary file of an atomic write, and no write probe, is left under <paramref name="dir"/>.</summary>
    public static void NoTemporaryFiles(string dir) =>
        Assert.DoesNotContain(Tree(dir).Keys, f => f.EndsWith(".tmp", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith(".scg-write-test", StringComparison.Ordinal));

    /// <summary>The one line a refused command writes on stderr; it starts with the command's name.</summary>
    public static string OneLine(string stderr, string command)
    {
        // progress lines may come first (stderr is not a terminal here); the error is the one line that names the command
        string line = Assert.Single(stderr.TrimEnd('\n').Split('\n'), l => l.StartsWith($"scg {command}: ", StringComparison.Ordinal)
            && !l.StartsWith($"scg {command}: warning: ", StringComparison.Ordinal));
        return line;
    }
}
