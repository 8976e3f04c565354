using System.Diagnostics;

namespace Scg.Models.Tests;

/// <summary>
/// The ./scg wrapper at the repository's root, run in a copy of the repository's layout with a stand-in `dotnet` on
/// PATH that logs its calls and "builds" a program printing its process id and arguments.
/// </summary>
public sealed class WrapperTests : IDisposable
{
    readonly ScratchDir _dir = new();
    readonly string _root, _log;

    public WrapperTests()
    {
        _root = _dir.File("repo");
        _log = _dir.File("dotnet.log");
        string repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "Scg.sln"))) repo = Path.GetDirectoryName(repo) ?? throw new InvalidOperationException("no Scg.sln above the test assembly");
        foreach (string dir in (string[])["src/Models", "samples/Scg.Cli", "bin"]) Directory.CreateDirectory(Path.Combine(_root, dir));
        File.Copy(Path.Combine(repo, "scg"), Path.Combine(_root, "scg"));
        File.WriteAllText(Path.Combine(_root, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(_root, "src/Models/A.cs"), "class A { }");
        File.WriteAllText(Path.Combine(_root, "samples/Scg.Cli/Scg.Cli.csproj"), "<Project />");
        // dotnet build <csproj> …: logs the call, fails when asked to, writes the program into bin/Release/net10.0
        Script(Path.Combine(_root, "bin", "dotnet"), $$"""
            echo "$*" >> '{{_log}}'
            [ "$1" = build ] || exit 64
            [ -e '{{_dir.File("fail")}}' ] && { echo "error CS1002: ; expected"; exit 1; }
            out="$(dirname "$2")/bin/Release/net10.0"
            mkdir -p "$out"
            printf '#!/usr/bin/env bash\necho "pid=$$ program=$SCG_PROGRAM args=$*"\nexit 3\n' > "$out/scg"
            chmod +x "$out/scg"
            """);
    }

    public void Dispose() => _dir.Dispose();

    static void Script(string path, string body)
    {
        File.WriteAllText(path, "#!/usr/bin/env bash\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    string[] Builds => File.Exists(_log) ? File.ReadAllLines(_log) : [];

    (int Code, int Pid, string Out, string Err) Wrapper(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(_root, "scg")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) info.ArgumentList.Add(a);
        info.Environment["PATH"] = Path.Combine(_root, "bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        info.Environment.Remove("SCG_PROGRAM");
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "the wrapper hangs");
        return (p.ExitCode, p.Id, stdout, err.Result);
    }

    /// <summary>Dates every source 200 s back and the last build 100 s back: an unchanged tree, seen later.</summary>
    void Age()
    {
        var sources = Directory.EnumerateFileSystemEntries(_root, "*", SearchOption.AllDirectories).Where(p => !p.Contains("/bin"));
        foreach (string p in sources)
            if (Directory.Exists(p)) Directory.SetLastWriteTimeUtc(p, DateTime.UtcNow.AddSeconds(-200));
            else File.SetLastWriteTimeUtc(p, DateTime.UtcNow.AddSeconds(-200));
        File.SetLastWriteTimeUtc(Path.Combine(_root, "samples/Scg.Cli/bin/Release/net10.0/.scg-build-stamp"), DateTime.UtcNow.AddSeconds(-100));
    }

    /// <summary>An edit after the last build.</summary>
    void Touch(string relative) => File.SetLastWriteTimeUtc(Path.Combine(_root, relative), DateTime.UtcNow.AddSeconds(-50));

    [UnixFact]
    public void ItBuildsOnlyWhenASourceChangedAndBecomesTheProgram()
    {
        var first = Wrapper("train", "--steps", "3");
        Assert.StartsWith("build ", Assert.Single(Builds));
        Assert.Contains("scg: building samples/Scg.Cli", first.Err);
        // exec: the program runs as the wrapper's own process, with its arguments, exit code and name
        Assert.Equal($"pid={first.Pid} program={Path.Combine(_root, "scg")} args=train --steps 3\n", first.Out);
        Assert.Equal(3, first.Code);

        var second = Wrapper("--version");
        Assert.Single(Builds);
        Assert.Equal("", second.Err);
        Assert.Equal($"pid={second.Pid} program={Path.Combine(_root, "scg")} args=--version\n", second.Out);

        Age();
        Wrapper();
        Assert.Single(Builds);
        Touch("src/Models/A.cs");
        Wrapper();
        Assert.Equal(2, Builds.Length);
        Age();
        Touch("Directory.Build.props");
        Wrapper();
        Assert.Equal(3, Builds.Length);
        File.WriteAllText(Path.Combine(_root, "samples/Scg.Cli/B.cs"), "class B { }");
        Age();   // a new file with an old time (e.g. unpacked from an archive)
        Wrapper();
        Assert.Equal(4, Builds.Length);
        File.Delete(Path.Combine(_root, "src/Models/A.cs"));
        Age();
        Wrapper();
        Assert.Equal(5, Builds.Length);
        Wrapper();
        Assert.Equal(5, Builds.Length);
    }

    [UnixFact]
    public void AFailedBuildShowsItsMessagesAndRunsNothing()
    {
        File.WriteAllText(_dir.File("fail"), "");
        var (code, _, stdout, stderr) = Wrapper("--version");
        Assert.Equal(1, code);
        Assert.Equal("", stdout);
        Assert.Contains("error CS1002: ; expected", stderr);
        Assert.Contains("scg: the build failed", stderr);
        File.Delete(_dir.File("fail"));
        Assert.Equal(3, Wrapper("--version").Code);
    }
}
