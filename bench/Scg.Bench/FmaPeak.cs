using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Scg.Autodiff.Kernels;

namespace Scg.Bench;

/// <summary>
/// This machine's fp32 multiply-add peak on the kernels' vector path (<see cref="SimdInfo.Path"/>): every core runs
/// 12 independent multiply-add chains of the widest accelerated vector (fused where the path has FMA, as in the
/// GEMM kernels), enough to cover the latency of two FMA units. 2 FLOP per lane and multiply-add.
/// </summary>
public static class FmaPeak
{
    const int Chains = 12;
    const long Iterations = 1 << 22;

    /// <summary>The best of `rounds` runs on all cores at once, in GFLOP/s; a run lasts from the first thread's start
    /// to the last one's end, as each thread clocks itself.</summary>
    public static double GigaFlops(int rounds = 10)
    {
        int threads = Environment.ProcessorCount;
        double best = 0;
        for (int r = 0; r < rounds; r++)
        {
            var starts = new long[threads];
            var ends = new long[threads];
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                starts[t] = Stopwatch.GetTimestamp();
                Sink = RunWidest();
                ends[t] = Stopwatch.GetTimestamp();
            })).ToArray();
            foreach (var t in workers) t.Start();
            foreach (var t in workers) t.Join();
            double seconds = (double)(ends.Max() - starts.Min()) / Stopwatch.Frequency;
            double flops = (double)threads * Iterations * Chains * 2 * Lanes;
            best = Math.Max(best, flops / seconds / 1e9);
        }
        return best;
    }

    /// <summary>fp32 lanes of the widest accelerated vector (1 on the scalar path).</summary>
    static int Lanes => SimdInfo.Width == 0 ? 1 : SimdInfo.Width / 32;

    /// <summary>Keeps the chains' results alive.</summary>
    static float Sink;

    static float RunWidest() => SimdInfo.Width switch
    {
        512 => Run<Fma512, Vector512<float>>(),
        256 => Run<Fma256, Vector256<float>>(),
        128 => Run<Fma128, Vector128<float>>(),
        _ => Run<FmaScalar, float>(),
    };

    interface IFma<TV>
    {
        static abstract TV Create(float value);
        static abstract TV MultiplyAdd(TV a, TV b, TV c);
        static abstract float First(TV v);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static float Run<TF, TV>() where TF : IFma<TV>
    {
        TV m = TF.Create(0.999f), x = TF.Create(1e-3f);
        TV c0 = TF.Create(0), c1 = TF.Create(1), c2 = TF.Create(2), c3 = TF.Create(3), c4 = TF.Create(4), c5 = TF.Create(5);
        TV c6 = TF.Create(6), c7 = TF.Create(7), c8 = TF.Create(8), c9 = TF.Create(9), c10 = TF.Create(10), c11 = TF.Create(11);
        for (long i = 0; i < Iterations; i++)
        {
            c0 = TF.MultiplyAdd(c0, m, x); c1 = TF.MultiplyAdd(c1, m, x); c2 = TF.MultiplyAdd(c2, m, x);
            c3 = TF.MultiplyAdd(c3, m, x); c4 = TF.MultiplyAdd(c4, m, x); c5 = TF.MultiplyAdd(c5, m, x);
            c6 = TF.MultiplyAdd(c6, m, x); c7 = TF.MultiplyAdd(c7, m, x); c8 = TF.MultiplyAdd(c8, m, x);
            c9 = TF.MultiplyAdd(c9, m, x); c10 = TF.MultiplyAdd(c10, m, x); c11 = TF.MultiplyAdd(c11, m, x);
        }
        return TF.First(c0) + TF.First(c1) + TF.First(c2) + TF.First(c3) + TF.First(c4) + TF.First(c5)
            + TF.First(c6) + TF.First(c7) + TF.First(c8) + TF.First(c9) + TF.First(c10) + TF.First(c11);
    }

    struct Fma512 : IFma<Vector512<float>>
    {
        public static Vector512<float> Create(float value) => Vector512.Create(value);
        public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        public static float First(Vector512<float> v) => v.ToScalar();
    }

    /// <summary>Vector256, Vector128 and scalar: fused where the path has FMA, else multiply then add (as the GEMM kernels).</summary>
    struct Fma256 : IFma<Vector256<float>>
    {
        public static Vector256<float> Create(float value) => Vector256.Create(value);
        public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.MultiplyAddEstimate(a, b, c);
        public static float First(Vector256<float> v) => v.ToScalar();
    }

    struct Fma128 : IFma<Vector128<float>>
    {
        public static Vector128<float> Create(float value) => Vector128.Create(value);
        public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.MultiplyAddEstimate(a, b, c);
        public static float First(Vector128<float> v) => v.ToScalar();
    }

    struct FmaScalar : IFma<float>
    {
        public static float Create(float value) => value;
        public static float MultiplyAdd(float a, float b, float c) => float.MultiplyAddEstimate(a, b, c);
        public static float First(float v) => v;
    }
}
