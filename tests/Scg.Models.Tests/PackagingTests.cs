using System.Diagnostics;
using System.Globalization;
using Scg.Autodiff;
using Scg.Models.Data;
using Scg.Models.Sbn;

namespace Scg.Models.Tests;

/// <summary>
/// The packages as a user gets them: one <c>dotnet pack</c> of the libraries and the tool into a local feed (in a
/// private build folder, so the tested build is untouched), then the tool installed from it and a new project that
/// restores the libraries from it. Packages restore into a private NuGet folder, so no copy of an earlier pack is used.
/// </summary>
public sealed class PackagingTests(PackagingTests.Feed feed) : IClassFixture<PackagingTests.Feed>
{
    static readonly string[] Packages = ["Scg.Kernels", "Scg.Autodiff", "Scg.Stochastic", "Scg.Models", "Scg.Cli"];

    /// <summary>The local feed, packed once for the tests of this class.</summary>
    public sealed class Feed : IDisposable
    {
        readonly ScratchDir _dir = new();
        public string Root { get; } = FindRoot();
        public string Path => _dir.File("feed");
        public string Version { get; } = typeof(Rng).Assembly.GetName().Version!.ToString(3);
        public Dictionary<string, string> Environment { get; }

        public Feed()
        {
            Environment = new()
            {
                ["NUGET_PACKAGES"] = _dir.File("nuget-packages"),
                ["SCG_ARTIFACTS"] = _dir.File("artifacts"),
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1", ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
                // no build nodes or compiler server left running after the test
                ["MSBUILDDISABLENODEREUSE"] = "1", ["UseSharedCompilation"] = "false", ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            };
            // the packable projects only: a solution filter of Scg.sln
            string filter = _dir.File("packages.slnf");
            var projects = Directory.GetFiles(Root, "*.csproj", SearchOption.AllDirectories)
                .Where(p => Packages.Contains(System.IO.Path.GetFileNameWithoutExtension(p)))
                .Select(p => System.IO.Path.GetRelativePath(Root, p).Replace('\\', '/')).Order().ToList();
            Assert.Equal(Packages.Length, projects.Count);
            File.WriteAllText(filter, System.Text.Json.JsonSerializer.Serialize(new { solution = new { path = System.IO.Path.Combine(Root, "Scg.sln"), projects } }));
            // packing restores the libraries' own dependencies from the machine's usual packages folder
            var pack = Run(Root, Environment.Where(e => e.Key != "NUGET_PACKAGES").ToDictionary(), "dotnet", "pack", filter, "-c", "Release", "-o", Path);
            Assert.True(pack.Code == 0, pack.Output);
        }

        public void Dispose() => _dir.Dispose();

        public string NewFolder(string name) => Directory.CreateDirectory(_dir.File(name)).FullName;

        static string FindRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "Scg.sln"))) return dir.FullName;
            throw new InvalidOperationException($"no Scg.sln above {AppContext.BaseDirectory}");
        }
    }

    /// <summary>Runs a program to its end (10 minutes at most), with stdout and stderr together.</summary>
    static (int Code, string Output) Run(string workDir, IReadOnlyDictionary<string, string> environment, string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) info.ArgumentList.Add(a);
        // variables the test host sets for its own MSBuild would steer the child's build
        foreach (string v in (string[])["MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly"]) info.Environment.Remove(v);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{program} {string.Join(' ', args)} did not finish in 10 minutes:\n{output}");
        }
        process.WaitForExit();
        lock (output) return (process.ExitCode, $"{program} {string.Join(' ', args)} (exit code {process.ExitCode}):\n{output}");
    }

    [Fact]
    public void EveryPackageCarriesItsMetadataAndReadme()
    {
        foreach (string id in Packages)
        {
            string nupkg = Path.Combine(feed.Path, $"{id}.{feed.Version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{nupkg} is missing; the feed holds {string.Join(", ", Directory.GetFiles(feed.Path).Select(Path.GetFileName))}");
            using var zip = System.IO.Compression.ZipFile.OpenRead(nupkg);
            var nuspec = System.Xml.Linq.XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            string Meta(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            Assert.Equal("Scg contributors", Meta("authors"));
            Assert.Equal("MIT", Meta("license"));
            Assert.Equal("README.md", Meta("readme"));
            Assert.StartsWith("https://", Meta("projectUrl"));
            Assert.NotEmpty(Meta("tags"));
            Assert.True(Meta("description").Length > 40 && Meta("description") != "Package Description", $"{id}: description '{Meta("description")}'");
            Assert.Contains(zip.Entries, e => e.FullName == "README.md");
            // the libraries share internals: each depends on exactly the version of the Scg packages it was built with
            var siblings = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency" && ((string?)e.Attribute("id") ?? "").StartsWith("Scg.", StringComparison.Ordinal)).ToList();
            if (id is "Scg.Autodiff" or "Scg.Stochastic" or "Scg.Models") Assert.NotEmpty(siblings);
            foreach (var dependency in siblings) Assert.Equal($"[{feed.Version}]", (string?)dependency.Attribute("version"));
        }
    }

    [Fact]
    public void EveryLibraryPackageCarriesItsXmlDocumentation()
    {
        foreach (string id in Packages.Where(p => p != "Scg.Cli"))
        {
            using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(feed.Path, $"{id}.{feed.Version}.nupkg"));
            var docs = zip.Entries.SingleOrDefault(e => e.FullName == $"lib/net10.0/{id}.xml");
            Assert.True(docs is not null, $"{id}: no lib/net10.0/{id}.xml; the package holds {string.Join(", ", zip.Entries.Select(e => e.FullName))}");
            Assert.NotEmpty(System.Xml.Linq.XDocument.Load(docs.Open()).Descendants("member"));
        }
    }

    [Fact]
    public void TheToolInstallsFromTheFeedAndTrains()
    {
        string tools = feed.NewFolder("tools"), work = feed.NewFolder("tool-run");
        var install = Run(work, feed.Environment, "dotnet", "tool", "install", "Scg.Cli", "--version", feed.Version, "--tool-path", tools, "--add-source", feed.Path);
        Assert.True(install.Code == 0, install.Output);
        string scg = Path.Combine(tools, OperatingSystem.IsWindows() ? "scg.exe" : "scg");

        var version = Run(work, feed.Environment, scg, "--version");
        Assert.True(version.Code == 0, version.Output);
        Assert.StartsWith(feed.Version, version.Output.Split('\n')[1]);

        var train = Run(work, feed.Environment, scg, "train", "--data", "sbn-toy", "--steps", "12", "--eval-every", "6", "--eval-samples", "3", "--out", "run");
        Assert.True(train.Code == 0, train.Output);
        Assert.Contains("| concrete | 1 | 12 |", train.Output);
        foreach (string f in (string[])["metrics.csv", "checkpoint.scg", "curves.png", "curves.svg", "summary.md"])
            Assert.True(File.Exists(Path.Combine(work, "run", f)), f);
    }

    [Fact]
    public void ANewProjectRestoresTheLibrariesFromTheFeedAndRunsAnExample()
    {
        string dir = feed.NewFolder("consumer");
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="scg-local" value="{feed.Path}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(dir, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Scg.Autodiff" Version="{feed.Version}" />
                <PackageReference Include="Scg.Stochastic" Version="{feed.Version}" />
                <PackageReference Include="Scg.Models" Version="{feed.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), """
            using Scg.Autodiff;
            using Scg.Models.Data;
            using Scg.Models.Sbn;

            var w = Tensor<double>.FromArray([1.0, -2.0, 3.0], 3).AsParameter("w");
            var x = Tensor<double>.FromArray([0.5, 0.25, 2.0], 3);
            var loss = Ops.Mul(w, x).Square().Sum();
            loss.Backward();
            Console.WriteLine(FormattableString.Invariant($"loss {loss.Item()} grad {string.Join(' ', w.Grad!.Span.ToArray())}"));

            var data = ToySbn.Load();
            var choice = EstimatorChoice.Parse("concrete");
            var model = new SigmoidBeliefNet(LayerSpec.Parse(ToySbn.Spec), new SbnOptions(), choice.Family(new NodeSettings()), new Rng(1));
            var trainer = Trainer.Create(model, choice.Create(1), new TrainSettings { LearningRate = 3e-3 }, new Rng(2));
            var batch = data.Train.Values[..(64 * data.Train.Features)].ToArray();
            double bound = 0;
            for (int step = 0; step < 20; step++) bound = trainer.Step(batch);
            Console.WriteLine(FormattableString.Invariant($"bound {bound:R}"));
            """);
        var run = Run(dir, feed.Environment, "dotnet", "run", "-c", "Release");
        Assert.True(run.Code == 0, run.Output);
        Assert.Contains("loss 36.5 grad 0.5 -0.25 24", run.Output);
        Assert.Contains(FormattableString.Invariant($"bound {TinySbnBound():R}"), run.Output);
    }

    /// <summary>The consumer's SBN run, here against the tested build: the package must compute the same bits.</summary>
    static double TinySbnBound()
    {
        var data = ToySbn.Load();
        var model = new SigmoidBeliefNet(LayerSpec.Parse(ToySbn.Spec), new SbnOptions(), TestModels.Family("concrete"), new Rng(1));
        var trainer = TestModels.Trainer(model, "concrete", new TrainSettings { LearningRate = 3e-3 }, new Rng(2));
        var batch = data.Train.Values[..(64 * data.Train.Features)].ToArray();
        double bound = 0;
        for (int step = 0; step < 20; step++) bound = trainer.Step(batch);
        Assert.True(double.IsFinite(bound));
        return bound;
    }
}
