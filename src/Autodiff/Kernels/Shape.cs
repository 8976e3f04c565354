using System.Runtime.CompilerServices;
using System.Text;

namespace Scg.Autodiff;

/// <summary>A tensor shape of rank 0 to 4, row-major, stored inline (no allocation).</summary>
public readonly struct Shape : IEquatable<Shape>
{
    /// <summary>The largest rank a shape can have.</summary>
    public const int MaxRank = 4;
    readonly int _d0, _d1, _d2, _d3;

    /// <summary>Number of axes: 0 for a scalar, at most <see cref="MaxRank"/>.</summary>
    public int Rank { get; }

    /// <summary>A shape of the given dimensions (at most <see cref="MaxRank"/>, each ≥ 0); no dimensions give the scalar shape.</summary>
    public Shape(params ReadOnlySpan<int> dims)
    {
        if (dims.Length > MaxRank)
            throw new ArgumentException($"Shape: rank must be at most {MaxRank}, got {dims.Length} dims [{string.Join(", ", dims.ToArray())}].", nameof(dims));
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] < 0)
                throw new ArgumentException($"Shape: dimension {i} must be non-negative, got {dims[i]}.", nameof(dims));
        Rank = dims.Length;
        _d0 = dims.Length > 0 ? dims[0] : 1;
        _d1 = dims.Length > 1 ? dims[1] : 1;
        _d2 = dims.Length > 2 ? dims[2] : 1;
        _d3 = dims.Length > 3 ? dims[3] : 1;
    }

    /// <summary>The rank-0 shape of a scalar (one element).</summary>
    public static Shape Scalar => default;

    /// <summary>The length of <paramref name="axis"/> (0 ≤ axis &lt; <see cref="Rank"/>).</summary>
    public int this[int axis]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)axis >= (uint)Rank) throw new ArgumentOutOfRangeException(nameof(axis), $"axis {axis} is outside a rank-{Rank} shape {this}.");
            return axis switch { 0 => _d0, 1 => _d1, 2 => _d2, _ => _d3 };
        }
    }

    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Size => Rank == 0 ? 1 : checked(_d0 * _d1 * _d2 * _d3);

    /// <summary>The last dimension (1 for a scalar).</summary>
    public int Last => Rank == 0 ? 1 : this[Rank - 1];

    /// <summary>Product of all dimensions but the last: the row count of a row-wise kernel.</summary>
    public int Rows => Rank == 0 ? 1 : Last == 0 ? 0 : Size / Last;

    /// <summary>Resolves a negative axis (-1 = last) and checks it.</summary>
    internal int Axis(int axis, string op)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if ((uint)a >= (uint)Rank)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{op}: axis {axis} is out of range for shape {this}.");
        return a;
    }

    /// <summary>The dimensions as a new array.</summary>
    public int[] ToArray()
    {
        var a = new int[Rank];
        for (int i = 0; i < Rank; i++) a[i] = this[i];
        return a;
    }

    /// <summary>Product of dims before <paramref name="axis"/>, the axis length, and product of dims after it.</summary>
    internal (int outer, int length, int inner) Split(int axis)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= this[i];
        for (int i = axis + 1; i < Rank; i++) inner *= this[i];
        return (outer, this[axis], inner);
    }

    /// <summary>This shape with the length of <paramref name="axis"/> set to <paramref name="size"/>.</summary>
    public Shape WithAxis(int axis, int size)
    {
        Span<int> d = stackalloc int[MaxRank];
        for (int i = 0; i < Rank; i++) d[i] = i == axis ? size : this[i];
        return new Shape(d[..Rank]);
    }

    /// <summary>This shape without <paramref name="axis"/>.</summary>
    public Shape RemoveAxis(int axis)
    {
        Span<int> d = stackalloc int[MaxRank];
        int r = 0;
        for (int i = 0; i < Rank; i++) if (i != axis) d[r++] = this[i];
        return new Shape(d[..r]);
    }

    /// <summary>This shape with a new axis of length <paramref name="size"/> at position <paramref name="axis"/>.</summary>
    public Shape InsertAxis(int axis, int size)
    {
        if (Rank == MaxRank) throw new ArgumentException($"cannot add an axis to rank-{MaxRank} shape {this}.");
        Span<int> d = stackalloc int[MaxRank];
        int r = 0;
        for (int i = 0; i <= Rank; i++)
        {
            if (i == axis) d[r++] = size;
            if (i < Rank) d[r++] = this[i];
        }
        return new Shape(d[..(Rank + 1)]);
    }

    /// <summary>NumPy broadcasting of two shapes; throws naming the op and both shapes.</summary>
    internal static Shape Broadcast(Shape a, Shape b, string op)
    {
        int rank = Math.Max(a.Rank, b.Rank);
        Span<int> d = stackalloc int[MaxRank];
        for (int i = 0; i < rank; i++)
        {
            int da = a.DimFromEnd(rank - 1 - i), db = b.DimFromEnd(rank - 1 - i);
            if (da != db && da != 1 && db != 1)
                throw new ShapeMismatchException($"{op}: shapes {a} and {b} cannot be broadcast together (dimension {i} of the result: {da} vs {db}).");
            d[i] = da == 1 ? db : da;
        }
        return new Shape(d[..rank]);
    }

    /// <summary>Dimension counted from the end (0 = last); 1 beyond the rank.</summary>
    internal int DimFromEnd(int k) => k < Rank ? this[Rank - 1 - k] : 1;

    /// <summary>This shape padded with leading 1s to <paramref name="rank"/>.</summary>
    internal Shape PadTo(int rank)
    {
        Span<int> d = stackalloc int[MaxRank];
        for (int i = 0; i < rank; i++) d[i] = DimFromEnd(rank - 1 - i);
        return new Shape(d[..rank]);
    }

    /// <summary>True when both shapes have the same rank and dimensions.</summary>
    public bool Equals(Shape o)
    {
        if (Rank != o.Rank) return false;
        for (int i = 0; i < Rank; i++) if (this[i] != o[i]) return false;
        return true;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Rank, _d0, _d1, _d2, _d3);
    /// <summary>True when both shapes have the same rank and dimensions.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    /// <summary>True when the shapes differ in rank or in a dimension.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>The dimensions in brackets, e.g. <c>[2, 3]</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < Rank; i++) { if (i > 0) sb.Append(", "); sb.Append(this[i]); }
        return sb.Append(']').ToString();
    }
}

/// <summary>Shapes that do not fit an op; the message names the op and the shapes.</summary>
public sealed class ShapeMismatchException(string message) : ArgumentException(message);
