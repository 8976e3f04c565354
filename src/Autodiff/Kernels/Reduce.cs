using System.Numerics;
using System.Numerics.Tensors;

namespace Scg.Autodiff.Kernels;

/// <summary>Reductions along one axis of a tensor viewed as [outer, length, inner].</summary>
internal static class Reduce
{
    /// <summary>y[o, i] = Σ_l x[o, l, i].</summary>
    public static unsafe void Sum<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int length, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1)
        {
            // row sums: rows in parts on the pool when there are many values (each row summed as in one pass)
            if (x.Length >= Elementwise.ParallelLength && outer > 1)
                fixed (T* px = x, py = y)
                {
                    var rows = new RowsJob<T> { X = px, Y = py, Rows = outer, Length = length };
                    if (WorkerPool.TryRun(&RowSumsPart<T>, &rows, null, WorkerPool.Parts)) return;
                }
            RowSums(x, y, 0, outer, length);
            return;
        }
        for (int o = 0; o < outer; o++)
        {
            var yr = y.Slice(o * inner, inner);
            yr.Clear();
            for (int l = 0; l < length; l++) TensorPrimitives.Add(yr, x.Slice((o * length + l) * inner, inner), yr);
        }
    }

    /// <summary>gx[o, l, i] += gy[o, i] (the adjoint of <see cref="Sum"/>), scaled by <paramref name="scale"/>.</summary>
    public static unsafe void SumBackward<T>(ReadOnlySpan<T> gy, Span<T> gx, int outer, int length, int inner, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1)
        {
            // a sum over the last axis: one value added to each row
            if (gx.Length >= Elementwise.ParallelLength && outer > 1)
                fixed (T* pgy = gy, pgx = gx)
                {
                    var rows = new RowsJob<T> { X = pgy, Y = pgx, Rows = outer, Length = length, Scale = scale };
                    if (WorkerPool.TryRun(&AddToRowsPart<T>, &rows, null, WorkerPool.Parts)) return;
                }
            AddToRows(gy, gx, 0, outer, length, scale);
            return;
        }
        for (int o = 0; o < outer; o++)
            for (int l = 0; l < length; l++)
            {
                var gr = gx.Slice((o * length + l) * inner, inner);
                TensorPrimitives.MultiplyAdd(gy.Slice(o * inner, inner), scale, gr, gr);
            }
    }

    /// <summary>y[o, i] = max_l x[o, l, i] and the first index attaining it; NaN wins (propagates).</summary>
    public static void Max<T>(ReadOnlySpan<T> x, Span<T> y, Span<int> argmax, int outer, int length, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                T m = x[o * length * inner + i];
                for (int l = 1; l < length && !T.IsNaN(m); l++)
                {
                    T v = x[(o * length + l) * inner + i];
                    if (v > m || T.IsNaN(v)) { m = v; best = l; }
                }
                y[o * inner + i] = m;
                argmax[o * inner + i] = best;
            }
    }

    /// <summary>y[o, i] = log Σ_l exp(x[o, l, i]), shifted by the maximum along the axis.</summary>
    public static void LogSumExp<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int length, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1) { RowWise.LogSumExp(x, y, outer, length); return; }
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                T m = T.NegativeInfinity;
                for (int l = 0; l < length; l++) m = T.Max(m, x[(o * length + l) * inner + i]);
                T shift = T.IsInfinity(m) ? T.Zero : m; // as RowWise: avoid ∞ - ∞
                T s = T.Zero;
                for (int l = 0; l < length; l++) s += T.Exp(x[(o * length + l) * inner + i] - shift);
                y[o * inner + i] = shift + T.Log(s);
            }
    }

    /// <summary>gx[o, l, i] += gy[o, i] · exp(x[o, l, i] - y[o, i]).</summary>
    public static void LogSumExpBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> gy, Span<T> gx, int outer, int length, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (inner == 1) { RowWise.LogSumExpBackward(x, y, gy, gx, outer, length); return; }
        for (int o = 0; o < outer; o++)
            for (int l = 0; l < length; l++)
                for (int i = 0; i < inner; i++)
                {
                    int k = (o * length + l) * inner + i;
                    gx[k] += gy[o * inner + i] * T.Exp(x[k] - y[o * inner + i]);
                }
    }

    /// <summary>Pinned operands of a row-wise job on the pool: X and Y, rows of Length values, a scale.</summary>
    unsafe struct RowsJob<T> where T : unmanaged
    {
        public T* X, Y;
        public int Rows, Length;
        public T Scale;
    }

    static unsafe void RowSumsPart<T>(void* context, object? state, int part, int parts) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = (RowsJob<T>*)context;
        var (begin, end) = WorkerPool.Part(j->Rows, part, parts, 1);
        RowSums(new ReadOnlySpan<T>(j->X, j->Rows * j->Length), new Span<T>(j->Y, j->Rows), begin, end, j->Length);
    }

    static unsafe void AddToRowsPart<T>(void* context, object? state, int part, int parts) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var j = (RowsJob<T>*)context;
        var (begin, end) = WorkerPool.Part(j->Rows, part, parts, 1);
        AddToRows(new ReadOnlySpan<T>(j->X, j->Rows), new Span<T>(j->Y, j->Rows * j->Length), begin, end, j->Length, j->Scale);
    }

    /// <summary>y[o] = Σ x[o, :] for rows [begin, end).</summary>
    static void RowSums<T>(ReadOnlySpan<T> x, Span<T> y, int begin, int end, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = begin; o < end; o++) y[o] = TensorPrimitives.Sum(x.Slice(o * length, length));
    }

    /// <summary>gx[o, :] += gy[o]·scale for rows [begin, end).</summary>
    static void AddToRows<T>(ReadOnlySpan<T> gy, Span<T> gx, int begin, int end, int length, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = begin; o < end; o++)
        {
            var row = gx.Slice(o * length, length);
            TensorPrimitives.Add(row, gy[o] * scale, row);
        }
    }
}
