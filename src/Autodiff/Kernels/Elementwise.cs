using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>An elementwise function of one value with scalar and vector forms.</summary>
internal interface IUnaryOperator<T> where T : unmanaged
{
    static abstract T Invoke(T x);
    static abstract Vector128<T> Invoke(Vector128<T> x);
    static abstract Vector256<T> Invoke(Vector256<T> x);
    static abstract Vector512<T> Invoke(Vector512<T> x);
}

/// <summary>An elementwise function of two values with scalar and vector forms.</summary>
internal interface IBinaryOperator<T> where T : unmanaged
{
    static abstract T Invoke(T a, T b);
    static abstract Vector128<T> Invoke(Vector128<T> a, Vector128<T> b);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b);
}

/// <summary>An elementwise function of three values with scalar and vector forms.</summary>
internal interface ITernaryOperator<T> where T : unmanaged
{
    static abstract T Invoke(T a, T b, T c);
    static abstract Vector128<T> Invoke(Vector128<T> a, Vector128<T> b, Vector128<T> c);
    static abstract Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c);
    static abstract Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c);
}

/// <summary>
/// Elementwise maps over spans: the widest hardware vector, then narrower ones, then a scalar tail. Maps of at least
/// <see cref="ParallelLength"/> values are cut at multiples of 64 over the worker pool, so every value takes the same
/// vector path, and gets the same bits, as in one pass.
/// </summary>
internal static unsafe class Elementwise
{
    /// <summary>Maps this long or longer run in parts on the worker pool.</summary>
    public const int ParallelLength = 1 << 13;

    /// <summary>Pinned operands of a map split over the pool: inputs a, b, c, output y, length, scalar operand.</summary>
    internal struct Operands<T> where T : unmanaged
    {
        public T* A, B, C, Y;
        public int N;
        public T S;
    }

    /// <summary>
    /// Runs part(operands, state, part, parts) on the pool when the map is at least <see cref="ParallelLength"/> long;
    /// false when it is shorter or the pool is busy (the caller then runs the map itself).
    /// </summary>
    internal static bool TrySplit<T>(delegate*<void*, object?, int, int, void> part, ref Operands<T> o, object? state = null) where T : unmanaged
    {
        if (o.N < ParallelLength) return false;
        fixed (Operands<T>* po = &o) return WorkerPool.TryRun(part, po, state, WorkerPool.Parts);
    }

    /// <summary>The values [begin, begin + length) of one part: cut at multiples of 64.</summary>
    internal static (int Begin, int Length) Range<T>(void* operands, int part, int parts) where T : unmanaged
    {
        var (begin, end) = WorkerPool.Part(((Operands<T>*)operands)->N, part, parts, 64);
        return (begin, end - begin);
    }

    /// <summary>y[i] = 0.</summary>
    public static void Clear<T>(Span<T> y) where T : unmanaged
    {
        fixed (T* py = y)
        {
            var o = new Operands<T> { Y = py, N = y.Length };
            if (!TrySplit(&ClearPart<T>, ref o)) y.Clear();
        }
    }

    static void ClearPart<T>(void* operands, object? state, int part, int parts) where T : unmanaged
    {
        var (i, n) = Range<T>(operands, part, parts);
        new Span<T>(((Operands<T>*)operands)->Y + i, n).Clear();
    }

    /// <summary>y[i] = op(x[i]).</summary>
    public static void Map<T, TOp>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IUnaryOperator<T>
    {
        CheckLength(x.Length, y.Length, nameof(x));
        fixed (T* px = x, py = y)
        {
            var o = new Operands<T> { A = px, Y = py, N = y.Length };
            if (!TrySplit(&UnaryPart<T, TOp>, ref o)) Unary<T, TOp>(x, y);
        }
    }

    static void UnaryPart<T, TOp>(void* operands, object? state, int part, int parts)
        where T : unmanaged, INumberBase<T> where TOp : IUnaryOperator<T>
    {
        var o = (Operands<T>*)operands;
        var (i, n) = Range<T>(operands, part, parts);
        Unary<T, TOp>(new ReadOnlySpan<T>(o->A + i, n), new Span<T>(o->Y + i, n));
    }

    static void Unary<T, TOp>(ReadOnlySpan<T> x, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IUnaryOperator<T>
    {
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
        fixed (T* pa = a, pb = b, py = y)
        {
            var o = new Operands<T> { A = pa, B = pb, Y = py, N = y.Length };
            if (!TrySplit(&BinaryPart<T, TOp>, ref o)) Binary<T, TOp>(a, b, y);
        }
    }

    static void BinaryPart<T, TOp>(void* operands, object? state, int part, int parts)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        var o = (Operands<T>*)operands;
        var (i, n) = Range<T>(operands, part, parts);
        Binary<T, TOp>(new ReadOnlySpan<T>(o->A + i, n), new ReadOnlySpan<T>(o->B + i, n), new Span<T>(o->Y + i, n));
    }

    static void Binary<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
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
        fixed (T* pa = a, py = y)
        {
            var o = new Operands<T> { A = pa, Y = py, N = y.Length, S = b };
            if (!TrySplit(&ScalarRightPart<T, TOp>, ref o)) ScalarRight<T, TOp>(a, b, y);
        }
    }

    static void ScalarRightPart<T, TOp>(void* operands, object? state, int part, int parts)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        var o = (Operands<T>*)operands;
        var (i, n) = Range<T>(operands, part, parts);
        ScalarRight<T, TOp>(new ReadOnlySpan<T>(o->A + i, n), o->S, new Span<T>(o->Y + i, n));
    }

    static void ScalarRight<T, TOp>(ReadOnlySpan<T> a, T b, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
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
        fixed (T* pb = b, py = y)
        {
            var o = new Operands<T> { B = pb, Y = py, N = y.Length, S = a };
            if (!TrySplit(&ScalarLeftPart<T, TOp>, ref o)) ScalarLeft<T, TOp>(a, b, y);
        }
    }

    static void ScalarLeftPart<T, TOp>(void* operands, object? state, int part, int parts)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        var o = (Operands<T>*)operands;
        var (i, n) = Range<T>(operands, part, parts);
        ScalarLeft<T, TOp>(o->S, new ReadOnlySpan<T>(o->B + i, n), new Span<T>(o->Y + i, n));
    }

    static void ScalarLeft<T, TOp>(T a, ReadOnlySpan<T> b, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
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
        fixed (T* pa = a, pb = b, pc = c, py = y)
        {
            var o = new Operands<T> { A = pa, B = pb, C = pc, Y = py, N = y.Length };
            if (!TrySplit(&TernaryPart<T, TOp>, ref o)) Ternary<T, TOp>(a, b, c, y);
        }
    }

    static void TernaryPart<T, TOp>(void* operands, object? state, int part, int parts)
        where T : unmanaged, INumberBase<T> where TOp : ITernaryOperator<T>
    {
        var o = (Operands<T>*)operands;
        var (i, n) = Range<T>(operands, part, parts);
        Ternary<T, TOp>(new ReadOnlySpan<T>(o->A + i, n), new ReadOnlySpan<T>(o->B + i, n), new ReadOnlySpan<T>(o->C + i, n), new Span<T>(o->Y + i, n));
    }

    static void Ternary<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> y)
        where T : unmanaged, INumberBase<T> where TOp : ITernaryOperator<T>
    {
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
