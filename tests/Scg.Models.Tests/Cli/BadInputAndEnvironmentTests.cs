using System.Buffers.Binary;
using Scg.Cli;
using Scg.Models.Tests.Data;
using Xunit.Abstractions;
using static Scg.Models.Tests.FaultHelpers;

namespace Scg.Models.Tests;

/// <summary>
/// What a user or the machine does wrong past the argument parser: bad output locations, corrupt data files, read-only
/// folders, a full disk, overwriting, divergence, too little memory, temperatures outside the papers' range. Each case
/// checks the exit code, the message, and that nothing half-written is left. Mounts need root: without it those cases
/// print why and pass.
/// </summary>
public sealed class BadInputAndEnvironmentTests(ITestOutputHelper output) : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static (int Code, string Out, string Err) Scg(params string[] args) => CliTests.Scg(args);

    void Skip(string reason) => output.WriteLine($"skipped: {reason}");

    /// <summary>A two-step run, validated once, evaluated with L_1, of a model too large to enumerate (which would take seconds).</summary>
    static string[] Quick(params string[] more) => ["--model", "16H-32V", "--steps", "2", "--eval-every", "2", "--eval-samples", "1", .. more];

    /// <summary>A short run of each command that writes a run folder, with --out last.</summary>
    static string[] Command(string command, string outDir) => command switch
    {
        "train" => ["train", .. Quick("--out", outDir)],
        "compare" => ["compare", "--estimators", "concrete,nvil", "--grad-draws", "0", .. Quick("--out", outDir)],
        _ => ["demo", "--steps", "2", "--eval-samples", "1", "--grad-draws", "0", "--out", outDir],
    };

    public static TheoryData<string, string> OutputCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string command in (string[])["train", "compare", "demo"])
            foreach (string problem in (string[])["existing file", "empty path", "under a file", "checkpoint is a folder"])
                data.Add(command, problem);
        return data;
    }

    [Theory]
    [MemberData(nameof(OutputCases))]
    public void AnUnusableOutputLocationIsRefusedBeforeTraining(string command, string problem)
    {
        string file = _dir.File("afile");
        File.WriteAllText(file, "keep me");
        string run = _dir.File("run");
        string outDir = problem switch { "existing file" => file, "empty path" => "", "under a file" => Path.Combine(file, "run"), _ => run };
        if (problem == "checkpoint is a folder")
            Directory.CreateDirectory(command == "train" ? Path.Combine(run, "checkpoint.scg") : Path.Combine(run, "concrete-m1", "checkpoint.scg"));
        var before = Tree(_dir.Path);

        var (code, stdout, stderr) = Scg(Command(command, outDir));

        Assert.Equal(ScgApp.BadInput, code);
        string line = OneLine(stderr, command);
        string expected = problem switch
        {
            "existing file" => $"--out '{file}' is a file; expected a folder",
            "empty path" => "--out is empty; expected a folder.",
            "under a file" => $"'{file}' is a file, so no folder can be made inside it",
            _ => $"checkpoint.scg' is a folder, but the run writes its checkpoint.scg file there; expected a file or nothing",
        };
        Assert.Contains(expected, line);
        Assert.Equal("", stdout);
        Assert.Equal(before, Tree(_dir.Path));
    }

    [Theory]
    [InlineData("train")]
    [InlineData("compare")]
    [InlineData("demo")]
    public void AReadOnlyOutputFolderIsRefusedBeforeTraining(string command)
    {
        using var mount = Tmpfs.TryMount(_dir.File("ro"), "1m", out string reason);
        if (mount is null) { Skip(reason); return; }
        Directory.CreateDirectory(Path.Combine(mount.Path, "old-run"));
        mount.MakeReadOnly();

        foreach (string outDir in (string[])[Path.Combine(mount.Path, "run"), Path.Combine(mount.Path, "old-run")])
        {
            var (code, stdout, stderr) = Scg(Command(command, outDir));
            Assert.Equal(ScgApp.BadInput, code);
            string line = OneLine(stderr, command);
            Assert.Contains($"--out '{outDir}': cannot write in '", line);
            Assert.Contains("Read-only file system", line);
            Assert.Contains("expected a folder this user may write in", line);
            Assert.Equal("", stdout);
        }
        Assert.Equal(["old-run"], Tree(mount.Path).Keys);
    }

    [Fact]
    public void AFullDiskEndsTheRunWithExitTwoNamingTheFileAndKeepsTheLastGoodCheckpoint()
    {
        // 64 KiB hold the metrics and the first checkpoint (about 40 KB), not the temporary copy of the next one
        using var mount = Tmpfs.TryMount(_dir.File("small"), "64k", out string reason);
        if (mount is null) { Skip(reason); return; }
        string run = Path.Combine(mount.Path, "run"), checkpoint = Path.Combine(run, "checkpoint.scg");

        var (code, _, stderr) = Scg(["train", .. CliTests.Tiny("--out", run)]);

        Assert.Equal(ScgApp.BadInput, code);
        string line = OneLine(stderr, "train");
        Assert.Contains($"could not write '{checkpoint}'", line);
        Assert.Contains("No space left on device", line);
        NoTemporaryFiles(mount.Path);
        Assert.Equal(0, Sbn.Checkpoint.Read(checkpoint).Header.Step);
    }

    // ---- data files ---------------------------------------------------------------------------------------

    const int TrainImages = 10_048, TestImages = 16;

    /// <summary>A stand-in for MNIST (2×4 images) in &lt;dir&gt;/mnist; returns the data folder.</summary>
    string FakeMnist(string dir, byte[]? trainFile = null, byte[]? testFile = null)
    {
        string folder = Path.Combine(dir, "mnist");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, Models.Data.Mnist.TrainImagesFile), trainFile ?? TestFiles.IdxBytes([TrainImages, 2, 4], TestFiles.Pixels(TrainImages * 8, seed: 41)));
        File.WriteAllBytes(Path.Combine(folder, Models.Data.Mnist.TestImagesFile), testFile ?? TestFiles.IdxBytes([TestImages, 2, 4], TestFiles.Pixels(TestImages * 8, seed: 42)));
        return dir;
    }

    static string[] MnistRun(string dataDir, string outDir, int steps = 4) =>
        ["train", "--data", "mnist", "--data-dir", dataDir, "--model", "4H-8V", "--batch-size", "16", "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--eval-every", "2", "--eval-samples", "2", "--out", outDir];

    public static TheoryData<string, string> DataCases() => new()
    {
        { "truncated", "truncated data: dims [10048, 2, 4] promise 80384 data bytes, found 80000." },
        { "wrong magic", "bad magic: expected 00 00 at offset 0, found 1F 00." },
        { "bad count", "trailing bytes: dims [10047, 2, 4] promise 80376 data bytes, found 8 more." },
        { "bad dims", "has dims [10048, 8]; expected images as [count, height, width]." },
        { "zero dim", "dimension 1 is 0; expected a positive size." },
        { "empty", "truncated header: expected 4 magic bytes, found 0." },
        { "10k images", "holds 10000 images, but the split validates on its last 10000 and trains on the rest: expected more than 10000 images, found 10000." },
        { "test file truncated", "truncated header: 3 dimensions need 12 bytes, found 6." },
        { "test images of another size", "holds 4×2 images but" },
    };

    [Theory]
    [MemberData(nameof(DataCases))]
    public void ACorruptDataFileIsBadInputNamingTheFile(string problem, string message)
    {
        byte[] good = TestFiles.IdxBytes([TrainImages, 2, 4], TestFiles.Pixels(TrainImages * 8, seed: 41));
        byte[]? train = null, test = null;
        switch (problem)
        {
            case "truncated": train = good[..^384]; break;
            case "wrong magic": train = (byte[])good.Clone(); train[0] = 0x1F; break;
            case "bad count": train = (byte[])good.Clone(); BinaryPrimitives.WriteInt32BigEndian(train.AsSpan(4), TrainImages - 1); break;
            case "bad dims": train = TestFiles.IdxBytes([TrainImages, 8], good[16..]); break;
            case "zero dim": train = (byte[])good.Clone(); BinaryPrimitives.WriteInt32BigEndian(train.AsSpan(8), 0); break;
            case "empty": train = []; break;
            case "10k images": train = TestFiles.IdxBytes([10_000, 2, 4], TestFiles.Pixels(10_000 * 8, seed: 43)); break;
            case "test file truncated": test = TestFiles.IdxBytes([TestImages, 2, 4], new byte[TestImages * 8])[..10]; break;
            default: test = TestFiles.IdxBytes([TestImages, 4, 2], new byte[TestImages * 8]); break;
        }
        string data = FakeMnist(_dir.File("data"), train, test), outDir = _dir.File("run");
        string broken = Path.Combine(data, "mnist", problem.StartsWith("test", StringComparison.Ordinal) ? Models.Data.Mnist.TestImagesFile : Models.Data.Mnist.TrainImagesFile);
        var before = Tree(data);

        var (code, stdout, stderr) = Scg(MnistRun(data, outDir));

        Assert.Equal(ScgApp.BadInput, code);
        string line = OneLine(stderr, "train");
        Assert.StartsWith("scg train: data set 'mnist' could not be loaded: ", line);
        Assert.Contains($"'{broken}'", line);
        Assert.Contains(message, line);
        Assert.Equal("", stdout);
        Assert.Equal(before, Tree(data));   // no fixed bits, no temporary files
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void AReadOnlyDataFolderWorksWithTheFixedBitsCachedInTheUserCache()
    {
        using var mount = Tmpfs.TryMount(_dir.File("shared"), "4m", out string reason);
        if (mount is null) { Skip(reason); return; }
        string data = FakeMnist(mount.Path);
        mount.MakeReadOnly();
        var before = Tree(data);
        var environment = new Dictionary<string, string> { ["XDG_CACHE_HOME"] = _dir.File("xdg") };
        string cache = Path.Combine(_dir.File("xdg"), "scg", "binarization");

        var first = ScgProcess(environment, MnistRun(data, _dir.File("run1")));
        Assert.True(first.Code == ScgApp.Ok, first.Err);
        Assert.Equal(before, Tree(data));
        var bits = Tree(cache);
        Assert.Equal(2, bits.Count);
        Assert.All(bits.Keys, f => Assert.EndsWith(".bits", f));

        // the second run reads the cached bits: the same files, and the same training bounds
        var second = ScgProcess(environment, MnistRun(data, _dir.File("run2")));
        Assert.True(second.Code == ScgApp.Ok, second.Err);
        Assert.Equal(bits, Tree(cache));
        static IEnumerable<string> Bounds(string run) => File.ReadLines(Path.Combine(run, "metrics.csv")).Select(l => string.Join(',', l.Split(',')[..3]));
        Assert.Equal(Bounds(_dir.File("run1")), Bounds(_dir.File("run2")));
    }

    // ---- overwriting ----------------------------------------------------------------------------------------

    [Fact]
    public void CompareRefusesAFolderHoldingAnotherComparison()
    {
        string outDir = _dir.File("cmp");
        var first = Scg(Command("compare", outDir));
        Assert.True(first.Code == ScgApp.Ok, first.Err);
        var before = Tree(outDir);

        var (code, stdout, stderr) = Scg(["compare", "--estimators", "reinforce", "--grad-draws", "0", .. Quick("--out", outDir)]);

        Assert.Equal(ScgApp.BadInput, code);
        string line = OneLine(stderr, "compare");
        Assert.Contains($"--out '{outDir}' already holds files (concrete-m1, ", line);
        Assert.Contains($"; compare writes a whole folder and cannot resume one: expected a new or empty folder (choose another --out, e.g. '{outDir}-2').", line);
        Assert.Equal("", stdout);
        Assert.Equal(before, Tree(outDir));
    }

    const string MetricsHeader = Reporting.MetricsCsv.Header;

    [Fact]
    public void DemoReplacesAnEarlierDemoButNoOtherFiles()
    {
        // what an interrupted demo leaves: some of its own files and folders
        string outDir = _dir.File("demo");
        Directory.CreateDirectory(Path.Combine(outDir, "concrete-m1"));
        File.WriteAllText(Path.Combine(outDir, "concrete-m1", "metrics.csv"), "step");
        File.WriteAllText(Path.Combine(outDir, "curves.png"), "old");
        var again = Scg(Command("demo", outDir));
        Assert.True(again.Code == ScgApp.Ok, again.Err);
        Assert.Equal(MetricsHeader, File.ReadLines(Path.Combine(outDir, "concrete-m1", "metrics.csv")).First());

        File.WriteAllText(Path.Combine(outDir, "notes.txt"), "mine");
        var before = Tree(outDir);
        var (code, _, stderr) = Scg(Command("demo", outDir));
        Assert.Equal(ScgApp.BadInput, code);
        Assert.Contains($"--out '{outDir}' holds files that are not an earlier demo (", OneLine(stderr, "demo"));
        Assert.Equal(before, Tree(outDir));
    }

    [Fact]
    public void ReproduceRefusesAnExistingTableAndAnEmptyRowFilter()
    {
        string table = _dir.File("table.md");
        File.WriteAllText(table, "my notes");
        string[] run = ["reproduce", "--data", "sbn-toy", "--rows", "200H-784V,m=1,concrete", "--steps", "2", "--eval-samples", "2"];

        var existing = Scg([.. run, "--out", table]);
        Assert.Equal(ScgApp.BadInput, existing.Code);
        Assert.Contains($"--out '{table}' already exists and is not a reproduction this command can continue", OneLine(existing.Err, "reproduce"));
        Assert.Equal("my notes", File.ReadAllText(table));

        string fresh = _dir.File("new.md");
        foreach (string rows in (string[])["", " , "])
        {
            var empty = Scg("reproduce", "--data", "sbn-toy", "--rows", rows, "--steps", "2", "--eval-samples", "2", "--out", fresh);
            Assert.Equal(ScgApp.BadInput, empty.Code);
            Assert.Contains($"--rows '{rows}' is empty; expected comma-separated terms", OneLine(empty.Err, "reproduce"));
            Assert.False(File.Exists(fresh));
        }
    }

    // ---- divergence -------------------------------------------------------------------------------------------

    [Fact]
    public void DivergenceInATrainingStepAndInValidationIsReportedAlikeKeepingTheLastGoodCheckpoint()
    {
        // lr 1e300 sends a parameter to infinity in the first update: validation after step 1 (--eval-every 1) meets it
        // first, or else the second training step
        var lines = new List<string>();
        foreach (string every in (string[])["1", "6"])
        {
            string run = _dir.File($"every-{every}");
            var (code, _, stderr) = Scg("train", "--lr", "1e300", "--steps", "12", "--eval-every", every, "--eval-samples", "3", "--out", run);
            Assert.Equal(ScgApp.BadInput, code);
            string line = OneLine(stderr, "train");
            Assert.Contains($"The last good checkpoint (step 0) is kept in '{Path.Combine(run, "checkpoint.scg")}'.", line);
            Assert.Equal(0, Sbn.Checkpoint.Read(Path.Combine(run, "checkpoint.scg")).Header.Step);
            NoTemporaryFiles(run);
            lines.Add(line.Replace(run, "RUN"));
        }
        Assert.StartsWith("scg train: concrete m=1: the run diverged at training step 1: parameter '", lines[0]);
        Assert.Contains("' is -Infinity (element ", lines[0]);
        Assert.Equal(lines[0], lines[1]);
    }

    // ---- memory -------------------------------------------------------------------------------------------------

    [Fact]
    public void AModelThatCannotFitIsRefusedWithTheEstimateAndTheMachinesMemory()
    {
        string run = _dir.File("huge");
        var (code, stdout, stderr) = Scg("train", "--model", "2147483647H-32V", "--steps", "1", "--out", run);
        Assert.Equal(ScgApp.BadInput, code);
        string line = OneLine(stderr, "train");
        Assert.Contains("concrete m=1: the model 2147483647H-32V on sbn-toy needs about ", line);
        Assert.Contains(" TiB for 141,733,920,734 parameters with their gradients and Adam's moments, ", line);
        Assert.Contains($"but this machine lets scg use {Resources.Bytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)}; choose a smaller --model, --batch-size or --samples.", line);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void UnderAMemoryLimitARunTooLargeIsRefusedAndEvaluationChunksShrink()
    {
        // 512 MiB for the process: 1024-way one-hot nodes in 4H~8H~32V need gigabytes of parameters
        var limit = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x20000000" };
        string huge = _dir.File("onehot");
        var refused = ScgProcess(limit, "train", "--arity", "1024", "--encoding", "onehot", "--steps", "1", "--out", huge);
        Assert.Equal(ScgApp.BadInput, refused.Code);
        Assert.Contains("but this machine lets scg use 512 MiB;", OneLine(refused.Err, "train"));
        Assert.False(Directory.Exists(huge));

        // 2000H-8V trains in a few MiB, but validating on 2000 rows × 10 samples in the default chunks of 8192 rows
        // would hold about 800 MiB: the chunks shrink to fit
        string wide = _dir.File("wide");
        var fitted = ScgProcess(limit, "train", "--data", "mnist", "--data-dir", FakeMnist(_dir.File("data")), "--model", "2000H-8V", "--batch-size", "16",
            "--steps", "2", "--eval-every", "2", "--eval-samples", "8", "--out", wide);
        Assert.True(fitted.Code == ScgApp.Ok, fitted.Err);
        Assert.Contains("| concrete | 1 | 2 |", fitted.Out);
    }

    // ---- temperatures -------------------------------------------------------------------------------------------

    [Fact]
    public void TemperaturesOutsideThePapersRangeAreWarnedAboutOnStderr()
    {
        static string[] Warnings(string stderr) => stderr.TrimEnd('\n').Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": warning: ", StringComparison.Ordinal)).ToArray();

        var tiny = Scg(["train", "--temperature", "1e-30", .. Quick("--out", _dir.File("cold"))]);
        Assert.True(tiny.Code == ScgApp.Ok, tiny.Err);
        string cold = Assert.Single(Warnings(tiny.Err));
        Assert.StartsWith("scg train: warning: concrete m=1: --temperature 1E-30 is below 0.1, the lowest temperature the papers train with (the Concrete paper uses λ1 = 2/3, λ2 = 1/2", cold);
        Assert.Contains("(IGR paper, section 3)", cold);
        Assert.DoesNotContain("warning", tiny.Out);

        var schedule = Scg(["train", "--temperature", "exp:0.6667,5,0.01", "--prior-temperature", "3", .. Quick("--out", _dir.File("schedule"))]);
        Assert.True(schedule.Code == ScgApp.Ok, schedule.Err);
        var both = Warnings(schedule.Err);
        Assert.Equal(2, both.Length);
        Assert.StartsWith("scg train: warning: concrete m=1: --temperature exp:0.6667,5,0.01 (λ = 0.01 at step 2) is below 0.1", both[0]);
        Assert.StartsWith("scg train: warning: concrete m=1: --prior-temperature 3 is above 1 ", both[1]);
        Assert.Contains("Proposition 1(d)", both[1]);

        var igr = Scg(["train", "--estimator", "igr", "--temperature", "0.05", .. Quick("--out", _dir.File("igr"))]);
        Assert.True(igr.Code == ScgApp.Ok, igr.Err);
        Assert.Contains("the IGR paper uses τ = 0.1 to 0.5", Assert.Single(Warnings(igr.Err)));

        // score-function estimators draw discrete samples: temperatures do not matter; the defaults are in range
        Assert.Empty(Warnings(Scg(["train", "--estimator", "nvil", "--temperature", "1e-30", .. Quick("--out", _dir.File("nvil"))]).Err));
        Assert.Empty(Warnings(Scg(["train", .. Quick("--out", _dir.File("defaults"))]).Err));
    }

    // ---- where failures become exit codes ---------------------------------------------------------------------

    [Fact]
    public void EnvironmentFailuresExitTwoAndInternalErrorsExitOneSayingSo()
    {
        var stderr = new StringWriter { NewLine = "\n" };
        var ui = new Ui(TextWriter.Null, stderr, interactive: false);
        Assert.Equal(ScgApp.BadInput, ScgApp.Guard(ui, "scg x", () => throw new IOException("could not write 'a/b': No space left on device")));
        Assert.Equal(ScgApp.BadInput, ScgApp.Guard(ui, "scg x", () => throw new UnauthorizedAccessException("Access to the path 'a' is denied.")));
        Assert.Equal(ScgApp.BadInput, ScgApp.Guard(ui, "scg x", () => throw new InvalidDataException("'a' is not a metrics file")));
        Assert.Equal(ScgApp.Failed, ScgApp.Guard(ui, "scg x", () => throw new NullReferenceException("oops")));
        Assert.Equal(
            "scg x: could not write 'a/b': No space left on device\nscg x: Access to the path 'a' is denied.\nscg x: 'a' is not a metrics file\n" +
            "scg x: internal error (a bug in scg, not in your input): NullReferenceException: oops (set SCG_DEBUG=1 for the stack trace)\n",
            stderr.ToString());
    }
}
