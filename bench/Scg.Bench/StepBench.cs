using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;
using Scg.Models.Sbn;

namespace Scg.Bench;

/// <summary>
/// The step workloads: one full SBN training step (sample, forward, bound, backward, Adam) on <c>200H~200H~784V</c>,
/// fp32, batch 64, lr 3e-4, on a fixed seeded Bernoulli(0.13) batch; and L_5000 on 100 seeded test rows.
/// Quick mode: <c>quick step</c> runs every workload in a child process of this executable
/// (<c>quick step --workload NAME</c>) so peak working set is per workload; each child prints
/// <c>NAME S steps/s</c> (or <c>eval-L5000 T s</c>), <c>NAME peak-rss M MiB</c>, <c>NAME alloc B B/step</c> and
/// <c>NAME gemm F GFLOP/step R GFLOP/s P % of fma-peak</c>: the FLOP (2·m·n·k) of the step's forward and backward
/// products, their rate at the measured speed and its share of this machine's FMA peak (<see cref="FmaPeak"/>),
/// which the parent measures first and prints as <c>fma-peak G GFLOP/s PATH</c>.
/// </summary>
public static class StepBench
{
    public const string Spec = "200H~200H~784V";
    public const int Batch = 64, Features = 784, EvalRows = 100, EvalSamples = 5000;
    /// <summary>Width of every deterministic tanh layer, as in the workload's definition and the PyTorch peer.</summary>
    public const int HiddenUnits = 200;
    public const float PixelP = 0.13f;

    public static readonly string[] Workloads = ["concrete-m1", "concrete-m5", "nvil-m1", "vimco-m5", "vimco-m50", "eval-L5000"];

    /// <summary>Seeded binary rows, each pixel Bernoulli(0.13).</summary>
    public static float[] Data(int rows, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[rows * Features];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() < PixelP ? 1f : 0f;
        return x;
    }

    /// <summary>The SBN of the benchmark; the decoder output bias is logit(mean pixel of <paramref name="x"/>) as in the peer.</summary>
    public static SigmoidBeliefNet Model(float[] x, EstimatorChoice choice, string spec = Spec, ulong seed = 0)
    {
        var layerSpec = LayerSpec.Parse(spec);
        int features = layerSpec.Layers[^1].Units;
        double mean = x.Average();
        var baseRate = Enumerable.Repeat((float)mean, features).ToArray();
        var options = new SbnOptions { BaselineUnits = choice.NeedsBaseline ? 100 : 0, HiddenUnits = HiddenUnits };
        return new SigmoidBeliefNet(layerSpec, options, choice.Family(new NodeSettings()), new Rng(seed), baseRate);
    }

    /// <summary>A trainer for a training workload name such as <c>concrete-m5</c>.</summary>
    public static Trainer<SigmoidBeliefNet> Trainer(string name, float[] x, string spec = Spec)
    {
        int dash = name.LastIndexOf("-m", StringComparison.Ordinal);
        if (dash < 0) throw new ArgumentException($"unknown step workload '{name}'.", nameof(name));
        string kind = name[..dash];
        int m = int.Parse(name[(dash + 2)..], CultureInfo.InvariantCulture);
        var choice = EstimatorChoice.Parse(kind);
        var model = Model(x, choice, spec);
        return Scg.Models.Sbn.Trainer.Create(model, choice.Create(m), new TrainSettings { Samples = m, BatchSize = x.Length / model.InputFeatures }, new Rng(7));
    }

    /// <summary>Entry point of <c>quick step [--workload NAME] [--long]</c>.</summary>
    public static int Quick(string[] args)
    {
        int w = Array.IndexOf(args, "--workload"), pk = Array.IndexOf(args, "--peak");
        bool longRun = args.Contains("--long");
        if (w >= 0)
        {
            string name = args[w + 1];
            if (!Workloads.Contains(name)) { Console.Error.WriteLine($"unknown workload '{name}'; expected one of {string.Join(", ", Workloads)}"); return 2; }
            RunOne(name, longRun, pk >= 0 ? double.Parse(args[pk + 1], CultureInfo.InvariantCulture) : FmaPeak.GigaFlops());
            return 0;
        }
        string[] selected = args.Where(Workloads.Contains).ToArray();
        if (selected.Length == 0) selected = Workloads;
        double peak = FmaPeak.GigaFlops();
        Console.WriteLine($"fma-peak {peak.ToString("F1", CultureInfo.InvariantCulture)} GFLOP/s {SimdInfo.Path}");
        foreach (var name in selected)
        {
            int rc = RunChild(name, longRun, peak);
            if (rc != 0) { Console.Error.WriteLine($"{name}: child process failed with exit code {rc}"); return rc; }
        }
        return 0;
    }

    static int RunChild(string name, bool longRun, double peak)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, UseShellExecute = false };
        // under `dotnet Scg.Bench.dll` the process is the host: pass the assembly first
        if (Path.GetFileNameWithoutExtension(exe).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            psi.ArgumentList.Add(typeof(StepBench).Assembly.Location);
        foreach (var a in new[] { "quick", "step", "--workload", name, "--peak", peak.ToString("R", CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (longRun) psi.ArgumentList.Add("--long");
        using var p = Process.Start(psi)!;
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null) Console.WriteLine(line);
        p.WaitForExit();
        return p.ExitCode;
    }

    static void RunOne(string name, bool longRun, double peak)
    {
        var x = Data(Batch, 1234);
        if (name == "eval-L5000")
        {
            var model = Model(x, EstimatorChoice.Parse("concrete"));
            var test = Data(EvalRows, 4321);
            var rng = new Rng(99);
            Evaluation.Bound(model, test.AsSpan(0, Features), EvalSamples, rng);   // warm-up: JIT, and the arena grows to a pass's chunk size
            int reps = longRun ? 3 : 1;   // one pass is 500,000 sampled rows
            double best = double.PositiveInfinity, value = 0;
            long a0 = GC.GetAllocatedBytesForCurrentThread(), g0 = Gemm.MultiplyAdds;
            for (int r = 0; r < reps; r++)
            {
                long t0 = Stopwatch.GetTimestamp();   // not a Stopwatch object: the pass's allocations are measured
                value = Evaluation.Bound(model, test, EvalSamples, rng);
                best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
            }
            long passAlloc = (GC.GetAllocatedBytesForCurrentThread() - a0) / reps;
            Console.WriteLine($"{name} {best.ToString("F2", CultureInfo.InvariantCulture)} s");
            Console.WriteLine($"{name} peak-rss {PeakRssMiB().ToString("F0", CultureInfo.InvariantCulture)} MiB");
            Console.WriteLine($"{name} alloc {passAlloc} B/pass");
            PrintGemm(name, "pass", 2.0 * (Gemm.MultiplyAdds - g0) / reps, 1 / best, peak);
            Console.Error.WriteLine($"{name} value {value.ToString("R", CultureInfo.InvariantCulture)}");
            return;
        }
        var trainer = Trainer(name, x);
        Console.Error.WriteLine($"{name} parameters {trainer.Model.Parameters().Sum(p => p.Size)}");
        // Warm-up: the arena grows to its steady state, and every once-per-step method passes tiered compilation's
        // 30 calls, so no tier-up (which allocates) falls into the measured steps.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 40 || warm.Elapsed.TotalSeconds < 0.5; i++) trainer.Step(x);
        double chunkS = longRun ? 2.0 : 0.5, totalS = longRun ? 10.0 : 2.5;
        var rates = new List<double>(capacity: (int)(totalS / chunkS) + 2);   // sized up front: growing it would count as the step's allocation
        long steps = 0;
        double elapsed = 0, objective = 0;
        long t0Alloc = GC.GetAllocatedBytesForCurrentThread();
        long t0AllocAll = GC.GetTotalAllocatedBytes(precise: true), g0Step = Gemm.MultiplyAdds;
        int gen0 = GC.CollectionCount(0);
        while (elapsed < totalS)
        {
            int n = 0;
            long start = Stopwatch.GetTimestamp();   // not a Stopwatch object: nothing is allocated while counting
            double t;
            do { objective = trainer.Step(x); n++; t = Stopwatch.GetElapsedTime(start).TotalSeconds; } while (t < chunkS);
            rates.Add(n / t);
            steps += n;
            elapsed += t;
        }
        long alloc = (GC.GetAllocatedBytesForCurrentThread() - t0Alloc) / steps;
        double gemmFlop = 2.0 * (Gemm.MultiplyAdds - g0Step) / steps;
        long allocAll = (GC.GetTotalAllocatedBytes(precise: true) - t0AllocAll) / steps;
        int gcs = GC.CollectionCount(0) - gen0;
        rates.Sort();
        double median = rates[rates.Count / 2];
        Console.WriteLine($"{name} {median.ToString("F1", CultureInfo.InvariantCulture)} steps/s");
        Console.WriteLine($"{name} peak-rss {PeakRssMiB().ToString("F0", CultureInfo.InvariantCulture)} MiB");
        Console.WriteLine($"{name} alloc {alloc} B/step");
        PrintGemm(name, "step", gemmFlop, median, peak);
        Console.Error.WriteLine($"{name} alloc-all-threads {allocAll} B/step, gen0 GCs {gcs} in {steps} steps, last objective {objective.ToString("F3", CultureInfo.InvariantCulture)}");
    }

    /// <summary>The GEMM FLOP of one step (or pass), their rate at `perSecond` steps and its share of the FMA peak.</summary>
    static void PrintGemm(string name, string unit, double flop, double perSecond, double peakGigaFlops)
    {
        double rate = flop * perSecond / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} gemm {flop / 1e9:F4} GFLOP/{unit} {rate:F1} GFLOP/s {100 * rate / peakGigaFlops:F1} % of fma-peak"));
    }

    /// <summary>Peak resident set of this process (VmHWM), falling back to the peak working set.</summary>
    static double PeakRssMiB()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
    }
}

/// <summary>The step workloads under BenchmarkDotNet: one training step (or one L_5000 pass) per invocation.</summary>
[MemoryDiagnoser]
public class StepBenchmarks
{
    float[] _x = [];
    float[] _test = [];
    Trainer<SigmoidBeliefNet>? _trainer;
    SigmoidBeliefNet? _model;
    Rng _rng = new(99);

    [Params("concrete-m1", "concrete-m5", "nvil-m1", "vimco-m5", "vimco-m50", "eval-L5000")]
    public string Workload { get; set; } = "concrete-m1";

    [GlobalSetup]
    public void Setup()
    {
        _x = StepBench.Data(StepBench.Batch, 1234);
        if (Workload == "eval-L5000")
        {
            _model = StepBench.Model(_x, EstimatorChoice.Parse("concrete"));
            _test = StepBench.Data(StepBench.EvalRows, 4321);
        }
        else
        {
            _trainer = StepBench.Trainer(Workload, _x);
            for (int i = 0; i < 10; i++) _trainer.Step(_x);
        }
    }

    [Benchmark]
    public double Step() => Workload == "eval-L5000"
        ? Evaluation.Bound(_model!, _test, StepBench.EvalSamples, _rng)
        : _trainer!.Step(_x);
}
