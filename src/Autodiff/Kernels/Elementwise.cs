using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>An elementwise function of one value with scalar and vector forms.</summary>
public interface IUnaryOperator<T> where T : unmanaged
{
    static abstract T Invoke(T x);
    static abstract Vector128<T> Invoke(Vector128<T> x);
    static abstract Vector256<T> Invoke(Vector256<T> x);
    static abstract Vector512<T> Invoke(Vector512<T> x);
}

/// <summary>An elementwise function of two values with scalar and vector forms.</summary>
public interface IBinaryOperator<T> where T : unmanaged
{
    static abstract T Invoke(T a, T b);
    static abstract Vector128<T> Invoke(Vector128<T> a, Vector128<T> b);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b);
}

/// <summary>An elementwise function of three values with scalar and vector forms.</summary>
public interface ITernaryOperator<T> where T : unmanaged
{
    static abstract T Invoke(T a, T b, T c);
    static abstract Vector128<T> Invoke(Vector128<T> a, Vector128<T> b, Vector128<T> c);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c);
}

/// <summary>Elementwise maps over spans: the widest hardware vector, then narrower ones, then a scalar tail.</summary>
public static class Elementwise
{
    /// <summary>y[i] = op(x[i]).</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IUnaryOperator<T>
    {
        CheckLength(x.Length, y.Length, nameof(x));
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int n = x.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Invoke(Unsafe.Add(ref xr, i));
    }

    /// <summary>y[i] = op(a[i], b[i]).</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        CheckLength(a.Length, y.Length, nameof(a));
        CheckLength(b.Length, y.Length, nameof(b));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int n = a.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref ar, (nuint)i), Vector128.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Invoke(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i));
    }

    /// <summary>y[i] = op(a[i], b) with a scalar right operand.</summary>
    public static void MapScalarRight<T, TOp>(ReadOnlySpan<T> a, T b, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        CheckLength(a.Length, y.Length, nameof(a));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int n = a.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (var bv = Vector512.Create(b); i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), bv).StoreUnsafe(ref yr, (nuint)i);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (var bv = Vector256.Create(b); i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), bv).StoreUnsafe(ref yr, (nuint)i);
        if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            for (var bv = Vector128.Create(b); i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref ar, (nuint)i), bv).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Invoke(Unsafe.Add(ref ar, i), b);
    }

    /// <summary>y[i] = op(a, b[i]) with a scalar left operand.</summary>
    public static void MapScalarLeft<T, TOp>(T a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        CheckLength(b.Length, y.Length, nameof(b));
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int n = b.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (var av = Vector512.Create(a); i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                TOp.Invoke(av, Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (var av = Vector256.Create(a); i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                TOp.Invoke(av, Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            for (var av = Vector128.Create(a); i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                TOp.Invoke(av, Vector128.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Invoke(a, Unsafe.Add(ref br, i));
    }

    /// <summary>y[i] = op(a[i], b[i], c[i]).</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : ITernaryOperator<T>
    {
        CheckLength(a.Length, y.Length, nameof(a));
        CheckLength(b.Length, y.Length, nameof(b));
        CheckLength(c.Length, y.Length, nameof(c));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T yr = ref MemoryMarshal.GetReference(y);
        int n = a.Length, i = 0;
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
                TOp.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i), Vector512.LoadUnsafe(ref cr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
                TOp.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref cr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector128.IsHardwareAccelerated && Vector128<T>.IsSupported)
            for (; i <= n - Vector128<T>.Count; i += Vector128<T>.Count)
                TOp.Invoke(Vector128.LoadUnsafe(ref ar, (nuint)i), Vector128.LoadUnsafe(ref br, (nuint)i), Vector128.LoadUnsafe(ref cr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = TOp.Invoke(Unsafe.Add(ref ar, i), Unsafe.Add(ref br, i), Unsafe.Add(ref cr, i));
    }

    static void CheckLength(int got, int expected, string name)
    {
        if (got != expected) throw new ArgumentException($"span '{name}' has length {got}, expected {expected}.", name);
    }
}
