using System.Numerics;
using System.Numerics.Tensors;

namespace Scg.Autodiff.Kernels;

/// <summary>NumPy-broadcasting binary maps and their adjoint, the sum back to an input's shape.</summary>
internal static unsafe class Broadcast
{
    /// <summary>y = op(a, b) where a and b broadcast to <paramref name="yShape"/>.</summary>
    public static void Binary<T, TOp>(ReadOnlySpan<T> a, Shape aShape, ReadOnlySpan<T> b, Shape bShape, Span<T> y, Shape yShape)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        if (aShape == yShape && bShape == yShape) { Elementwise.Map<T, TOp>(a, b, y); return; }
        if (bShape.Size == 1 && aShape == yShape) { Elementwise.MapScalarRight<T, TOp>(a, b[0], y); return; }
        if (aShape.Size == 1 && bShape == yShape) { Elementwise.MapScalarLeft<T, TOp>(a[0], b, y); return; }

        int inner = yShape.Last;
        if (inner == 0 || yShape.Size == 0) return;
        int rows = yShape.Size / inner;
        if (y.Length >= Elementwise.ParallelLength)
            fixed (T* pa = a, pb = b, py = y)
            {
                var o = new RowOperands<T> { A = pa, ALength = a.Length, AShape = aShape, B = pb, BLength = b.Length, BShape = bShape, Y = py, YShape = yShape };
                if (WorkerPool.TryRun(&BinaryRowsPart<T, TOp>, &o, null, WorkerPool.Parts)) return;
            }
        BinaryRows<T, TOp>(a, aShape, b, bShape, y, yShape, 0, rows);
    }

    /// <summary>Every row of <paramref name="y"/> (rows of row.Length values) set to <paramref name="row"/>; rows in
    /// parts on the pool when long.</summary>
    public static void FillRows<T>(ReadOnlySpan<T> row, Span<T> y) where T : unmanaged
    {
        int inner = row.Length;
        if (inner == 0) return;
        int rows = y.Length / inner;
        if (y.Length >= Elementwise.ParallelLength)
            fixed (T* pr = row, py = y)
            {
                var o = new RowOperands<T> { A = pr, ALength = inner, Y = py, YShape = new Shape(rows, inner) };
                if (WorkerPool.TryRun(&FillRowsPart<T>, &o, null, WorkerPool.Parts)) return;
            }
        for (int r = 0; r < rows; r++) row.CopyTo(y.Slice(r * inner, inner));
    }

    static void FillRowsPart<T>(void* operands, object? state, int part, int parts) where T : unmanaged
    {
        var o = (RowOperands<T>*)operands;
        int inner = o->ALength;
        var (begin, end) = WorkerPool.Part(o->YShape[0], part, parts, 1);
        var row = new ReadOnlySpan<T>(o->A, inner);
        for (int r = begin; r < end; r++) row.CopyTo(new Span<T>(o->Y + (nint)r * inner, inner));
    }

    /// <summary>Pinned operands of a broadcasting map split by rows over the worker pool.</summary>
    struct RowOperands<T> where T : unmanaged
    {
        public T* A, B, Y;
        public int ALength, BLength;
        public Shape AShape, BShape, YShape;
    }

    static void BinaryRowsPart<T, TOp>(void* operands, object? state, int part, int parts)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        var o = (RowOperands<T>*)operands;
        int rows = o->YShape.Size / o->YShape.Last;
        var (begin, end) = WorkerPool.Part(rows, part, parts, 1);
        BinaryRows<T, TOp>(new ReadOnlySpan<T>(o->A, o->ALength), o->AShape, new ReadOnlySpan<T>(o->B, o->BLength), o->BShape,
            new Span<T>(o->Y, o->YShape.Size), o->YShape, begin, end);
    }

    /// <summary>Rows [begin, end) (all axes but the last) of a broadcasting map.</summary>
    static void BinaryRows<T, TOp>(ReadOnlySpan<T> a, Shape aShape, ReadOnlySpan<T> b, Shape bShape, Span<T> y, Shape yShape, int begin, int end)
        where T : unmanaged, INumberBase<T> where TOp : IBinaryOperator<T>
    {
        int rank = yShape.Rank, inner = yShape.Last;
        Span<int> sa = stackalloc int[Shape.MaxRank], sb = stackalloc int[Shape.MaxRank];
        Strides(aShape, yShape, sa);
        Strides(bShape, yShape, sb);
        bool aRow = sa[rank - 1] != 0, bRow = sb[rank - 1] != 0;
        for (int r = begin; r < end; r++)
        {
            Offsets(r, yShape, sa, sb, out int oa, out int ob);
            var yr = y.Slice(r * inner, inner);
            if (aRow && bRow) Elementwise.Map<T, TOp>(a.Slice(oa, inner), b.Slice(ob, inner), yr);
            else if (aRow) Elementwise.MapScalarRight<T, TOp>(a.Slice(oa, inner), b[ob], yr);
            else if (bRow) Elementwise.MapScalarLeft<T, TOp>(a[oa], b.Slice(ob, inner), yr);
            else yr.Fill(TOp.Invoke(a[oa], b[ob]));
        }
    }

    /// <summary>x += the sum of <paramref name="g"/> (shape <paramref name="gShape"/>) over the axes along which x was broadcast.</summary>
    public static void SumToAccumulate<T>(ReadOnlySpan<T> g, Shape gShape, Span<T> x, Shape xShape)
        where T : unmanaged, INumberBase<T>, IAdditionOperators<T, T, T>, IAdditiveIdentity<T, T>
    {
        if (gShape == xShape) { TensorPrimitives.Add(x, g, x); return; }
        if (xShape.Size == 1) { x[0] += TensorPrimitives.Sum(g); return; }
        int rank = gShape.Rank, inner = gShape.Last;
        if (inner == 0 || gShape.Size == 0) return;
        Span<int> sx = stackalloc int[Shape.MaxRank], unused = stackalloc int[Shape.MaxRank];
        Strides(xShape, gShape, sx);
        bool xRow = sx[rank - 1] != 0;
        int rows = gShape.Size / inner;
        for (int r = 0; r < rows; r++)
        {
            Offsets(r, gShape, sx, unused, out int ox, out _);
            var gr = g.Slice(r * inner, inner);
            if (xRow) { var xr = x.Slice(ox, inner); TensorPrimitives.Add(xr, gr, xr); }
            else x[ox] += TensorPrimitives.Sum(gr);
        }
    }

    /// <summary>Strides of <paramref name="shape"/> aligned to the broadcast result's axes; 0 along broadcast axes.</summary>
    static void Strides(Shape shape, Shape result, Span<int> strides)
    {
        int rank = result.Rank, stride = 1;
        for (int i = rank - 1; i >= 0; i--)
        {
            int d = shape.DimFromEnd(rank - 1 - i);
            strides[i] = d == 1 ? 0 : stride;
            stride *= d;
        }
    }

    /// <summary>Offsets into a and b of row <paramref name="row"/> (all axes but the last) of the result.</summary>
    static void Offsets(int row, Shape result, ReadOnlySpan<int> sa, ReadOnlySpan<int> sb, out int oa, out int ob)
    {
        oa = 0; ob = 0;
        for (int i = result.Rank - 2; i >= 0; i--)
        {
            int d = result[i], idx = row % d;
            row /= d;
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
    }
}
