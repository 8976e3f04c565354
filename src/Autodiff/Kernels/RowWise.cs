using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// Row-wise softmax, log-softmax and log-sum-exp over contiguous rows of length n, forward and backward.
/// Each row is shifted by its maximum, so large logits never overflow; a row of -∞ gives log-sum-exp -∞, a row holding +∞ gives +∞.
/// </summary>
internal static class RowWise
{
    /// <summary>out[r] = log Σ_j exp(x[r, j]).</summary>
    public static void LogSumExp<T>(ReadOnlySpan<T> x, Span<T> output, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * n, n);
            T max = Shift(row);
            output[r] = max + T.Log(SumExpShifted(row, max, default));
        }
    }

    /// <summary>y[r] = softmax(x[r]).</summary>
    public static void Softmax<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * n, n);
            var yr = y.Slice(r * n, n);
            T max = Shift(row);
            T sum = SumExpShifted(row, max, yr);
            TensorPrimitives.Multiply(yr, T.One / sum, yr);
        }
    }

    /// <summary>y[r] = x[r] - logsumexp(x[r]).</summary>
    public static void LogSoftmax<T>(ReadOnlySpan<T> x, Span<T> y, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * n, n);
            T max = Shift(row);
            T lse = max + T.Log(SumExpShifted(row, max, default));
            TensorPrimitives.Subtract(row, lse, y.Slice(r * n, n));
        }
    }

    /// <summary>gx[r] += gOut[r] · exp(x[r] - out[r]) (the softmax weights).</summary>
    public static void LogSumExpBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> output, ReadOnlySpan<T> gOut, Span<T> gx, int rows, int n)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = Scratch<T>.Second(n);
        for (int r = 0; r < rows; r++)
        {
            SumExpShifted(x.Slice(r * n, n), output[r], w);
            var gr = gx.Slice(r * n, n);
            TensorPrimitives.MultiplyAdd(w, gOut[r], gr, gr);
        }
    }

    /// <summary>gx += y ⊙ (gy - ⟨gy, y⟩) per row, from the softmax output y.</summary>
    public static void SoftmaxBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gy, Span<T> gx, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Scratch<T>.Second(n);
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * n, n); var gyr = gy.Slice(r * n, n); var gr = gx.Slice(r * n, n);
            T dot = TensorPrimitives.Dot(gyr, yr);
            TensorPrimitives.Subtract(gyr, dot, t);
            TensorPrimitives.MultiplyAdd(yr, t, gr, gr);
        }
    }

    /// <summary>gx += gy - exp(y) · Σ gy per row, from the log-softmax output y.</summary>
    public static void LogSoftmaxBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> gy, Span<T> gx, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = Scratch<T>.Second(n);
        for (int r = 0; r < rows; r++)
        {
            var yr = y.Slice(r * n, n); var gyr = gy.Slice(r * n, n); var gr = gx.Slice(r * n, n);
            T sum = TensorPrimitives.Sum(gyr);
            TensorPrimitives.Exp(yr, t);
            TensorPrimitives.Multiply(t, -sum, t);
            TensorPrimitives.Add(t, gyr, t);
            TensorPrimitives.Add(gr, t, gr);
        }
    }

    /// <summary>
    /// The shift for a row: its maximum, or 0 when the maximum is ±∞ so that x - shift is ±∞, not ∞ - ∞ = NaN
    /// (an all-(-∞) row then gives log-sum-exp -∞, a row holding +∞ gives +∞).
    /// </summary>
    static T Shift<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.Length == 0) return T.NegativeInfinity;
        T max = TensorPrimitives.Max(row);
        return T.IsInfinity(max) ? T.Zero : max;
    }

    /// <summary>Σ exp(x - shift) in one fused vector pass; also writes the terms to <paramref name="terms"/> when it is not empty.</summary>
    static T SumExpShifted<T>(ReadOnlySpan<T> x, T shift, Span<T> terms) where T : unmanaged, IFloatingPointIeee754<T>
    {
        bool write = !terms.IsEmpty;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T tr = ref MemoryMarshal.GetReference(terms);
        int n = x.Length, i = 0;
        T sum = T.Zero;
        if (Vector512.IsHardwareAccelerated && (typeof(T) == typeof(float) || typeof(T) == typeof(double)) && n >= Vector512<T>.Count)
        {
            var acc = Vector512<T>.Zero;
            var s = Vector512.Create(shift);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var e = Exp(Vector512.LoadUnsafe(ref xr, (nuint)i) - s);
                if (write) e.StoreUnsafe(ref tr, (nuint)i);
                acc += e;
            }
            sum = Vector512.Sum(acc);
        }
        for (; i < n; i++)
        {
            T e = T.Exp(Unsafe.Add(ref xr, i) - shift);
            if (write) Unsafe.Add(ref tr, i) = e;
            sum += e;
        }
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> Exp<T>(Vector512<T> v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Vector512.Exp(v.AsSingle()).As<float, T>();
        return Vector512.Exp(v.AsDouble()).As<double, T>();
    }
}
