using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;

namespace Scg.Bench;

/// <summary>
/// fp32 C = A·B (A row-major M×K, B K×N, no transposes) through <see cref="Gemm.Multiply{T}"/>.
/// Quick mode (`quick gemm`) prints `gemm-MxKxN R GFLOP/s` per shape, GFLOP = 2·M·K·N/1e9, where R is the best
/// of 7 rounds of ~0.1 s after a ~0.3 s warm-up (best, not median: the least disturbed round on a shared
/// machine); bench/peers/gemm.py times torch.matmul the same way. A first line gives this machine's FMA peak on the
/// vector path, <c>fma-peak G GFLOP/s PATH</c> (<see cref="FmaPeak"/>).
/// </summary>
[MemoryDiagnoser]
public class GemmBench
{
    static readonly (int M, int K, int N)[] Shapes = [(64, 784, 200), (3200, 784, 200), (512, 512, 512), (1024, 1024, 1024)];

    const int Rounds = 7;
    const double RoundSeconds = 0.1, WarmupSeconds = 0.3;

    public static IEnumerable<string> ShapeNames => Shapes.Select(s => $"{s.M}x{s.K}x{s.N}");

    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "";

    Operands _x = null!;

    [GlobalSetup]
    public void Setup()
    {
        var (m, k, n) = ParseShape(Shape)!.Value;
        _x = new Operands(m, k, n);
    }

    [Benchmark]
    public void Multiply() => _x.Multiply();

    /// <summary>Entry point of `quick gemm [MxKxN ...]`: the given shapes, or by default the four of the tables.</summary>
    public static int Quick(string[] args)
    {
        var shapes = new List<(int M, int K, int N)>();
        foreach (string arg in args)
        {
            if (ParseShape(arg) is not { } shape)
            {
                Console.Error.WriteLine($"quick gemm: a shape is MxKxN with three positive integers (e.g. 64x784x200), got '{arg}'");
                return 2;
            }
            shapes.Add(shape);
        }
        Console.WriteLine($"fma-peak {FmaPeak.GigaFlops().ToString("F1", CultureInfo.InvariantCulture)} GFLOP/s {SimdInfo.Path}");
        foreach (var (m, k, n) in shapes.Count > 0 ? shapes : [.. Shapes])
        {
            var x = new Operands(m, k, n);
            double seconds = BestSecondsPerCall(x.Multiply);
            double gflops = 2.0 * m * k * n / seconds / 1e9;
            Console.WriteLine($"gemm-{m}x{k}x{n} {gflops.ToString("F1", CultureInfo.InvariantCulture)} GFLOP/s");
        }
        return 0;
    }

    static (int M, int K, int N)? ParseShape(string text)
    {
        string[] parts = text.Split('x');
        if (parts.Length != 3) return null;
        var d = new int[3];
        for (int i = 0; i < 3; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out d[i]) || d[i] <= 0) return null;
        return (d[0], d[1], d[2]);
    }

    /// <summary>Warm-up, then the best per-call time over several rounds of repeated calls.</summary>
    static double BestSecondsPerCall(Action call)
    {
        var sw = Stopwatch.StartNew();
        long calls = 0;
        while (sw.Elapsed.TotalSeconds < WarmupSeconds) { call(); calls++; }
        long reps = Math.Max(1, (long)(RoundSeconds * calls / sw.Elapsed.TotalSeconds));
        double best = double.PositiveInfinity;
        for (int r = 0; r < Rounds; r++)
        {
            sw.Restart();
            for (long i = 0; i < reps; i++) call();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
        }
        return best;
    }

    /// <summary>Seeded operands of one shape in (0, 1).</summary>
    sealed class Operands
    {
        readonly int _m, _k, _n;
        readonly float[] _a, _b, _c;

        public Operands(int m, int k, int n)
        {
            (_m, _k, _n) = (m, k, n);
            var rng = new Rng(42);
            _a = new float[m * k];
            _b = new float[k * n];
            _c = new float[m * n];
            for (int i = 0; i < _a.Length; i++) _a[i] = rng.NextSingle();
            for (int i = 0; i < _b.Length; i++) _b[i] = rng.NextSingle();
        }

        public void Multiply() => Gemm.Multiply<float>(_m, _n, _k, _a, _k, false, _b, _n, false, _c, _n, false);
    }
}
