using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

public static partial class Ops
{
    /// <summary>The same values under a new shape (a view: no copy). One dimension may be -1 (inferred); no dims gives a scalar.</summary>
    public static Tensor<T> Reshape<T>(this Tensor<T> x, params ReadOnlySpan<int> dims) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<int> d = stackalloc int[dims.Length];
        dims.CopyTo(d);
        int infer = -1, known = 1;
        for (int i = 0; i < d.Length; i++)
        {
            if (d[i] == -1)
            {
                if (infer >= 0) throw new ShapeMismatchException($"reshape: only one dimension may be -1, got [{string.Join(", ", dims.ToArray())}].");
                infer = i;
            }
            else known *= d[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Size % known != 0)
                throw new ShapeMismatchException($"reshape: cannot infer -1 in [{string.Join(", ", dims.ToArray())}] for shape {x.Shape} ({x.Size} elements).");
            d[infer] = x.Size / known;
        }
        var shape = new Shape(d);
        if (shape.Size != x.Size)
            throw new ShapeMismatchException($"reshape: shape {x.Shape} ({x.Size} elements) cannot become {shape} ({shape.Size} elements).");
        return View(x, shape, x.Offset, "reshape");
    }

    /// <summary>A tensor sharing x's storage; backward adds the gradient into the viewed part of x's gradient.</summary>
    static Tensor<T> View<T>(Tensor<T> x, Shape shape, int offset, string op) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        _ = x.Span; // a released step tensor throws here
        var y = Tensor<T>.Over(x, shape, offset);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(ViewRecord<T>.Rent(op, y, x, offset - x.Offset));
        return y;
    }

    /// <summary>A view (reshape, contiguous narrow, stack's new axis): the viewed tensor and where in it the view starts.</summary>
    sealed class ViewRecord<T> : SingleInputRecord<T, ViewRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int OffsetInInput;

        public static ViewRecord<T> Rent(string op, Tensor<T> output, Tensor<T> input, int offsetInInput)
        {
            var r = FromPool(op, output, input);
            r.OffsetInInput = offsetInInput;
            return r;
        }

        public override void Backward()
        {
            var g = Tape<T>.GradSpan(Input).Slice(OffsetInInput, Output.Size);
            TensorPrimitives.Add(g, GradOut, g);
        }
    }

    /// <summary>Swaps two axes (a copy).</summary>
    public static Tensor<T> Transpose<T>(this Tensor<T> x, int axis0 = -2, int axis1 = -1) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int a0 = x.Shape.Axis(axis0, "transpose"), a1 = x.Shape.Axis(axis1, "transpose");
        Span<int> d = stackalloc int[x.Shape.Rank];
        for (int i = 0; i < d.Length; i++) d[i] = x.Shape[i];
        (d[a0], d[a1]) = (d[a1], d[a0]);
        var y = Tensor<T>.Uninitialized(new Shape(d));
        SwapAxes(x.Span, x.Shape, a0, a1, y.Span, accumulate: false);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(TransposeRecord<T>.Rent(y, x, a0, a1));
        return y;
    }

    /// <summary>transpose: the input and the two swapped axes.</summary>
    sealed class TransposeRecord<T> : SingleInputRecord<T, TransposeRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int Axis0, Axis1;

        public static TransposeRecord<T> Rent(Tensor<T> output, Tensor<T> input, int axis0, int axis1)
        {
            var r = FromPool("transpose", output, input);
            r.Axis0 = axis0;
            r.Axis1 = axis1;
            return r;
        }

        public override void Backward() => SwapAxes(GradOut, Output.Shape, Axis0, Axis1, Tape<T>.GradSpan(Input), accumulate: true);
    }

    /// <summary>y = x with axes a0 and a1 swapped (y += when accumulating).</summary>
    static void SwapAxes<T>(ReadOnlySpan<T> x, Shape xShape, int a0, int a1, Span<T> y, bool accumulate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var s4 = xShape.PadTo(Shape.MaxRank);
        int shift = Shape.MaxRank - xShape.Rank;
        a0 += shift; a1 += shift;
        Span<int> dims = stackalloc int[4], xStride = stackalloc int[4], yStride = stackalloc int[4], yDims = stackalloc int[4];
        for (int i = 0; i < 4; i++) { dims[i] = s4[i]; yDims[i] = s4[i]; }
        (yDims[a0], yDims[a1]) = (yDims[a1], yDims[a0]);
        xStride[3] = 1; yStride[3] = 1;
        for (int i = 2; i >= 0; i--) { xStride[i] = xStride[i + 1] * dims[i + 1]; yStride[i] = yStride[i + 1] * yDims[i + 1]; }
        // y index of x's axis i: stride of the y axis that holds it
        Span<int> ys = stackalloc int[4];
        for (int i = 0; i < 4; i++) ys[i] = yStride[i == a0 ? a1 : i == a1 ? a0 : i];
        for (int i0 = 0; i0 < dims[0]; i0++)
            for (int i1 = 0; i1 < dims[1]; i1++)
                for (int i2 = 0; i2 < dims[2]; i2++)
                {
                    int xo = i0 * xStride[0] + i1 * xStride[1] + i2 * xStride[2];
                    int yo = i0 * ys[0] + i1 * ys[1] + i2 * ys[2];
                    if (accumulate) for (int i3 = 0; i3 < dims[3]; i3++) y[yo + i3 * ys[3]] += x[xo + i3];
                    else for (int i3 = 0; i3 < dims[3]; i3++) y[yo + i3 * ys[3]] = x[xo + i3];
                }
    }

    /// <summary>Elements start..start+length-1 along <paramref name="axis"/> (a view when the slice is contiguous).</summary>
    public static Tensor<T> Narrow<T>(this Tensor<T> x, int axis, int start, int length) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "narrow");
        if (start < 0 || length < 0 || start + length > x.Shape[a])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow: range [{start}, {start + length}) is outside axis {axis} of length {x.Shape[a]} (shape {x.Shape}).");
        var (outer, len, inner) = x.Shape.Split(a);
        var shape = x.Shape.WithAxis(a, length);
        if (outer == 1) return View(x, shape, x.Offset + start * inner, "narrow");
        var y = Tensor<T>.Uninitialized(shape);
        var xs = x.Span; var ys = y.Span;
        for (int o = 0; o < outer; o++) xs.Slice((o * len + start) * inner, length * inner).CopyTo(ys.Slice(o * length * inner, length * inner));
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(NarrowRecord<T>.Rent(y, x, a, start));
        return y;
    }

    /// <summary>narrow, when it copies: the input, the axis and where along it the slice starts.</summary>
    sealed class NarrowRecord<T> : SingleInputRecord<T, NarrowRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int Axis, Start;

        public static NarrowRecord<T> Rent(Tensor<T> output, Tensor<T> input, int axis, int start)
        {
            var r = FromPool("narrow", output, input);
            r.Axis = axis;
            r.Start = start;
            return r;
        }

        public override void Backward()
        {
            var (outer, len, inner) = Input.Shape.Split(Axis);
            int length = Output.Shape[Axis], block = length * inner;
            var g = Tape<T>.GradSpan(Input); var dy = GradOut;
            for (int o = 0; o < outer; o++)
            {
                var gs = g.Slice((o * len + Start) * inner, block);
                TensorPrimitives.Add(gs, dy.Slice(o * block, block), gs);
            }
        }
    }

    /// <summary>Joins tensors along an existing axis; all other dims must agree.</summary>
    public static Tensor<T> Concat<T>(int axis, params Tensor<T>[] xs) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Concat(axis, (ReadOnlySpan<Tensor<T>>)xs);

    /// <summary>Joins tensors along an existing axis; all other dims must agree. Recording it allocates nothing once a pass has run.</summary>
    public static Tensor<T> Concat<T>(int axis, params ReadOnlySpan<Tensor<T>> xs) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (xs.Length == 0) throw new ArgumentException("concat: needs at least one tensor.", nameof(xs));
        var first = xs[0].Shape;
        int a = first.Axis(axis, "concat"), total = 0;
        foreach (var x in xs)
        {
            if (x.Shape.Rank != first.Rank || x.Shape.WithAxis(a, 1) != first.WithAxis(a, 1))
                throw new ShapeMismatchException($"concat: shapes {first} and {x.Shape} differ outside axis {axis}.");
            total += x.Shape[a];
        }
        var y = Tensor<T>.Uninitialized(first.WithAxis(a, total));
        var (outer, _, inner) = y.Shape.Split(a);
        var ys = y.Span;
        int offset = 0;
        bool record = false;
        foreach (var x in xs)
        {
            int block = x.Shape[a] * inner;
            var s = x.Span;
            for (int o = 0; o < outer; o++) s.Slice(o * block, block).CopyTo(ys.Slice(o * total * inner + offset, block));
            offset += block;
            record |= x.RequiresGrad;
        }
        if (record && Autograd.IsRecording)
            Tape<T>.Current.Record(ConcatRecord<T>.Rent(y, xs, a));
        return y;
    }

    /// <summary>concat: the joined tensors, in order, and the axis.</summary>
    sealed class ConcatRecord<T> : PooledRecord<T, ConcatRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public Tensor<T>[] Inputs = [];   // the record's own array, kept for its next use
        public int Axis;

        public static ConcatRecord<T> Rent(Tensor<T> output, ReadOnlySpan<Tensor<T>> inputs, int axis)
        {
            var r = FromPool("concat", output);
            if (r.Inputs.Length != inputs.Length) r.Inputs = new Tensor<T>[inputs.Length];
            inputs.CopyTo(r.Inputs);
            r.Axis = axis;
            return r;
        }

        public override void Backward()
        {
            var (outer, total, inner) = Output.Shape.Split(Axis);
            var dy = GradOut;
            int offset = 0;
            foreach (var x in Inputs)
            {
                int block = x.Shape[Axis] * inner;
                if (x.RequiresGrad)
                {
                    var g = Tape<T>.GradSpan(x);
                    for (int o = 0; o < outer; o++)
                    {
                        var gs = g.Slice(o * block, block);
                        TensorPrimitives.Add(gs, dy.Slice(o * total * inner + offset, block), gs);
                    }
                }
                offset += block;
            }
        }

        public override void CheckInputs(Tape<T> tape)
        {
            foreach (var input in Inputs) tape.CheckSameTape(input, Op);
        }

        protected override void ClearReferences() => Array.Clear(Inputs);
    }

    /// <summary>Stacks same-shaped tensors along a new axis.</summary>
    public static Tensor<T> Stack<T>(int axis, params Tensor<T>[] xs) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (xs.Length == 0) throw new ArgumentException("stack: needs at least one tensor.", nameof(xs));
        var shape = xs[0].Shape;
        int a = axis < 0 ? axis + shape.Rank + 1 : axis;
        if (a < 0 || a > shape.Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"stack: axis {axis} is out of range for stacking shape {shape}.");
        var expanded = new Tensor<T>[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            if (xs[i].Shape != shape) throw new ShapeMismatchException($"stack: shapes {shape} and {xs[i].Shape} differ.");
            expanded[i] = View(xs[i], shape.InsertAxis(a, 1), xs[i].Offset, "stack");
        }
        return Concat(a, expanded);
    }

    /// <summary>Slices of x along <paramref name="axis"/> at the given indices (repeats allowed); backward scatter-adds.</summary>
    public static Tensor<T> IndexSelect<T>(this Tensor<T> x, int axis, int[] indices) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int a = x.Shape.Axis(axis, "index_select");
        var (outer, len, inner) = x.Shape.Split(a);
        foreach (int i in indices)
            if ((uint)i >= (uint)len) throw new ArgumentOutOfRangeException(nameof(indices), $"index_select: index {i} is outside axis {axis} of length {len} (shape {x.Shape}).");
        var y = Tensor<T>.Uninitialized(x.Shape.WithAxis(a, indices.Length));
        var xs = x.Span; var ys = y.Span;
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < indices.Length; k++)
                xs.Slice((o * len + indices[k]) * inner, inner).CopyTo(ys.Slice((o * indices.Length + k) * inner, inner));
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(IndexSelectRecord<T>.Rent(y, x, a, indices));
        return y;
    }

    /// <summary>index_select: the input, the axis and the selected indices along it.</summary>
    sealed class IndexSelectRecord<T> : SingleInputRecord<T, IndexSelectRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int Axis;
        public int[] Indices = null!;

        public static IndexSelectRecord<T> Rent(Tensor<T> output, Tensor<T> input, int axis, int[] indices)
        {
            var r = FromPool("index_select", output, input);
            r.Axis = axis;
            r.Indices = indices;
            return r;
        }

        public override void Backward()
        {
            var indices = Indices;
            var (outer, len, inner) = Input.Shape.Split(Axis);
            var g = Tape<T>.GradSpan(Input); var dy = GradOut;
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < indices.Length; k++)
                {
                    var gs = g.Slice((o * len + indices[k]) * inner, inner);
                    TensorPrimitives.Add(gs, dy.Slice((o * indices.Length + k) * inner, inner), gs);
                }
        }

        protected override void ClearReferences()
        {
            base.ClearReferences();
            Indices = null!;
        }
    }

    /// <summary>
    /// Picks along the last axis, row by row (torch.gather on the last dim): with R rows and index of length R·k,
    /// y[r, j] = x[r, index[r·k + j]]; the result has x's shape with last dim k.
    /// </summary>
    public static Tensor<T> Gather<T>(this Tensor<T> x, int[] index) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        RequireRank(x, 1, "gather");
        int rows = x.Shape.Rows, n = x.Shape.Last;
        if (rows == 0 || index.Length % rows != 0)
            throw new ShapeMismatchException($"gather: {index.Length} indices do not divide into the {rows} rows of shape {x.Shape}.");
        int k = index.Length / rows;
        foreach (int i in index)
            if ((uint)i >= (uint)n) throw new ArgumentOutOfRangeException(nameof(index), $"gather: index {i} is outside the last axis of length {n} (shape {x.Shape}).");
        var y = Tensor<T>.Uninitialized(x.Shape.WithAxis(x.Shape.Rank - 1, k));
        var xs = x.Span; var ys = y.Span;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < k; j++) ys[r * k + j] = xs[r * n + index[r * k + j]];
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(GatherRecord<T>.Rent(y, x, index));
        return y;
    }

    /// <summary>gather along the last axis: the input and the picked index per output element, row by row.</summary>
    sealed class GatherRecord<T> : SingleInputRecord<T, GatherRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public int[] Index = null!;

        public static GatherRecord<T> Rent(Tensor<T> output, Tensor<T> input, int[] index)
        {
            var r = FromPool("gather", output, input);
            r.Index = index;
            return r;
        }

        public override void Backward()
        {
            var index = Index;
            int n = Input.Shape.Last, k = Output.Shape.Last;
            var g = Tape<T>.GradSpan(Input); var dy = GradOut;
            for (int q = 0; q < index.Length; q++) g[q / k * n + index[q]] += dy[q];
        }

        protected override void ClearReferences()
        {
            base.ClearReferences();
            Index = null!;
        }
    }

    /// <summary>One-hot rows: [indices.Length, n] with a 1 at each index (a constant).</summary>
    public static Tensor<T> OneHot<T>(ReadOnlySpan<int> indices, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var y = Tensor<T>.Uninitialized(new Shape(indices.Length, n));
        var ys = y.Span;
        ys.Clear();
        for (int r = 0; r < indices.Length; r++)
        {
            if ((uint)indices[r] >= (uint)n) throw new ArgumentOutOfRangeException(nameof(indices), $"one_hot: index {indices[r]} at row {r} is outside [0, {n}).");
            ys[r * n + indices[r]] = T.One;
        }
        return y;
    }

    /// <summary>x broadcast to <paramref name="shape"/> (a copy); backward sums back to x's shape.</summary>
    public static Tensor<T> Expand<T>(this Tensor<T> x, Shape shape) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (Shape.Broadcast(x.Shape, shape, "expand") != shape)
            throw new ShapeMismatchException($"expand: shape {x.Shape} cannot be expanded to {shape}.");
        var y = Tensor<T>.Uninitialized(shape);
        var zero = Tensor<T>.Scalar(T.Zero);
        Broadcast.Binary<T, AddOperator<T>>(x.Span, x.Shape, zero.Span, zero.Shape, y.Span, shape);
        if (Tape<T>.ShouldRecord(x))
            Tape<T>.Current.Record(ExpandRecord<T>.Rent(y, x));
        return y;
    }

    /// <summary>expand: the input, broadcast to the output's shape.</summary>
    sealed class ExpandRecord<T> : SingleInputRecord<T, ExpandRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public static ExpandRecord<T> Rent(Tensor<T> output, Tensor<T> input) =>
            FromPool("expand", output, input);

        public override void Backward() => AccumulateBroadcast(Input, GradOut, Output.Shape);
    }
}
