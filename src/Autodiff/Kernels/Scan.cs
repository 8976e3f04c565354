using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>A test of one value, with vector forms that return an all-bits-set lane where the value passes.</summary>
internal interface IValueTest<T> where T : unmanaged
{
    static abstract bool Passes(T x);
    static abstract Vector<T> Passes(Vector<T> x);
    static abstract Vector512<T> Passes(Vector512<T> x);
}

/// <summary>Finite: x − x is 0 exactly when x is finite (∞ − ∞ and NaN − NaN are NaN).</summary>
internal readonly struct FiniteTest<T> : IValueTest<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool Passes(T x) => T.IsFinite(x);
    public static Vector<T> Passes(Vector<T> x) => Vector.Equals(x - x, Vector<T>.Zero);
    public static Vector512<T> Passes(Vector512<T> x) => Vector512.Equals(x - x, Vector512<T>.Zero);
}

/// <summary>Binary: 0 or 1.</summary>
internal readonly struct BinaryTest<T> : IValueTest<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static bool Passes(T x) => x == T.Zero || x == T.One;
    public static Vector<T> Passes(Vector<T> x) => Vector.Equals(x, Vector<T>.Zero) | Vector.Equals(x, Vector<T>.One);
    public static Vector512<T> Passes(Vector512<T> x) => Vector512.Equals(x, Vector512<T>.Zero) | Vector512.Equals(x, Vector512<T>.One);
}

/// <summary>Vector scans for argument checks.</summary>
internal static unsafe class Scan
{
    /// <summary>Index of the first value that fails the test, or -1; long spans are scanned in parts on the pool.</summary>
    public static int IndexOfFailure<T, TTest>(ReadOnlySpan<T> x) where T : unmanaged where TTest : IValueTest<T>
    {
        if (x.Length >= Elementwise.ParallelLength)
            fixed (T* px = x)
            {
                var job = new ScanJob<T> { X = px, N = x.Length, First = int.MaxValue };
                if (WorkerPool.TryRun(&ScanPart<T, TTest>, &job, null, WorkerPool.Parts)) return job.First == int.MaxValue ? -1 : job.First;
            }
        return FirstFailure<T, TTest>(x);
    }

    struct ScanJob<T> where T : unmanaged
    {
        public T* X;
        public int N, First;
    }

    static void ScanPart<T, TTest>(void* context, object? state, int part, int parts) where T : unmanaged where TTest : IValueTest<T>
    {
        var job = (ScanJob<T>*)context;
        var (begin, end) = WorkerPool.Part(job->N, part, parts, 64);
        int i = FirstFailure<T, TTest>(new ReadOnlySpan<T>(job->X + begin, end - begin));
        if (i < 0) return;
        int found = begin + i, seen;
        while (found < (seen = Volatile.Read(ref job->First)) && Interlocked.CompareExchange(ref job->First, found, seen) != seen) { }
    }

    static int FirstFailure<T, TTest>(ReadOnlySpan<T> x) where T : unmanaged where TTest : IValueTest<T>
    {
        ref T r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        // vectors skip ahead while every lane passes (compared as bytes: an all-bits-set float lane is a NaN); the
        // scalar loop finds the first failure from there
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                if (!Vector512.EqualsAll(TTest.Passes(Vector512.LoadUnsafe(ref r, (nuint)i)).AsByte(), Vector512<byte>.AllBitsSet)) break;
        }
        else if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                if (!Vector.EqualsAll(Vector.AsVectorByte(TTest.Passes(Vector.LoadUnsafe(ref r, (nuint)i))), Vector<byte>.AllBitsSet)) break;
        }
        for (; i < n; i++)
            if (!TTest.Passes(Unsafe.Add(ref r, i))) return i;
        return -1;
    }
}
