using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>Vector scans for argument checks: the index of the first value that fails a test, or -1.</summary>
public static class Scan
{
    /// <summary>Index of the first NaN or ±∞, or -1.</summary>
    public static int IndexOfNonFinite<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // x - x is 0 exactly when x is finite (∞ - ∞ and NaN - NaN are NaN)
        ref T r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)i);
                if (!Vector512.EqualsAll(v - v, Vector512<T>.Zero)) break;
            }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                if (!Vector256.EqualsAll(v - v, Vector256<T>.Zero)) break;
            }
        for (; i < n; i++)
            if (!T.IsFinite(Unsafe.Add(ref r, i))) return i;
        return -1;
    }

    /// <summary>Index of the first value that is neither 0 nor 1, or -1.</summary>
    public static int IndexOfNonBinary<T>(ReadOnlySpan<T> x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T r = ref MemoryMarshal.GetReference(x);
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)i);
                if ((Vector512.Equals(v, Vector512<T>.Zero) | Vector512.Equals(v, Vector512<T>.One)) != Vector512<T>.AllBitsSet) break;
            }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                if ((Vector256.Equals(v, Vector256<T>.Zero) | Vector256.Equals(v, Vector256<T>.One)) != Vector256<T>.AllBitsSet) break;
            }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref r, i);
            if (v != T.Zero && v != T.One) return i;
        }
        return -1;
    }
}
