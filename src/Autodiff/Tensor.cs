using System.Numerics;
using System.Runtime.CompilerServices;

namespace Scg.Autodiff;

/// <summary>
/// A dense row-major tensor of rank 0 to 4. Values are not mutated once an op has recorded the tensor;
/// <see cref="Grad"/> holds the accumulated gradient of a leaf that requires grad.
/// </summary>
public sealed class Tensor<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    internal T[] Storage;
    internal int Offset;
    internal int Node = -1;          // index of the tape record that produced this tensor, or -1
    internal Tape<T>? Tape;          // the tape that recorded Node (tapes are per thread)
    internal int TapeGeneration;     // generation of that tape when Node was recorded
    internal StepArena<T>? Arena;    // set when the storage is rented for one step
    internal int ArenaGeneration;

    /// <summary>The dimensions.</summary>
    public Shape Shape { get; private set; }
    /// <summary>Number of elements (1 for a scalar).</summary>
    public int Size { get; private set; }

    /// <summary>True for parameters and for every op result that depends on one.</summary>
    public bool RequiresGrad { get; internal set; }

    Tensor<T>? _grad;
    bool _gradZeroPending;   // ZeroGrad was called: the buffer is cleared on first read, or overwritten whole by a backward rule

    /// <summary>The accumulated gradient of a leaf, or during backward of any tensor; null until one arrives.</summary>
    public Tensor<T>? Grad
    {
        get
        {
            if (_gradZeroPending)
            {
                _gradZeroPending = false;
                _grad!.Span.Clear();
            }
            return _grad;
        }
        internal set
        {
            _grad = value;
            _gradZeroPending = false;
        }
    }

    /// <summary>The gradient buffer when ZeroGrad left it to be cleared, for a rule that overwrites it whole; else null.</summary>
    internal Tensor<T>? TakeGradToOverwrite()
    {
        if (!_gradZeroPending) return null;
        _gradZeroPending = false;
        return _grad;
    }

    /// <summary>Name used in error messages and parameter listings.</summary>
    public string? Name { get; set; }

    internal Tensor(Shape shape, T[] storage, int offset)
    {
        Shape = shape;
        Size = shape.Size;
        Storage = storage;
        Offset = offset;
    }

    /// <summary>Makes a reused arena header a new tensor over <paramref name="storage"/>: no tape node, gradient or name.</summary>
    internal void Reset(Shape shape, T[] storage, int offset)
    {
        Shape = shape;
        Size = shape.Size;
        Storage = storage;
        Offset = offset;
        Node = -1;
        Tape = null;
        TapeGeneration = 0;
        RequiresGrad = false;
        _grad = null;
        _gradZeroPending = false;
        Name = null;
    }

    /// <summary>
    /// A tensor over x's storage: a header of the active arena when x belongs to its step (or x owns its storage and
    /// the arena reuses headers), else a new header of x's arena and generation.
    /// </summary>
    internal static Tensor<T> Over(Tensor<T> x, Shape shape, int offset)
    {
        var active = StepArena<T>.Active;
        if (active is not null && (x.Arena == active && x.ArenaGeneration == active.Generation || x.Arena is null && active.ReusesHeaders))
            return active.Header(shape, x.Storage, offset);
        return new Tensor<T>(shape, x.Storage, offset) { Arena = x.Arena, ArenaGeneration = x.ArenaGeneration };
    }

    /// <summary>True for a tensor no recorded op produced: a parameter, a constant or a detached value.</summary>
    public bool IsLeaf => Node < 0;

    /// <summary>The values. Throws if the tensor was rented for a training step that has ended.</summary>
    public Span<T> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if (Arena is not null && Arena.Generation != ArenaGeneration) ThrowReleased();
            return new Span<T>(Storage, Offset, Size);
        }
    }

    /// <summary>The values, read-only (see <see cref="Span"/>).</summary>
    public ReadOnlySpan<T> ReadOnlySpan => Span;

    static void ThrowReleased() =>
        throw new InvalidOperationException("This tensor belonged to a training step whose memory was released (a later StepArena.Begin); copy values out (Clone) before the step ends.");

    // ---- creation -------------------------------------------------------------------------------

    /// <summary>A tensor with uninitialized values from the current step arena, if one is active.</summary>
    public static Tensor<T> Uninitialized(Shape shape) => StepArena<T>.Active?.Rent(shape) ?? new Tensor<T>(shape, new T[shape.Size], 0);

    /// <summary>A tensor of zeros with its own storage (outside any step arena).</summary>
    public static Tensor<T> Zeros(params ReadOnlySpan<int> dims) => Zeros(new Shape(dims));

    /// <summary>A tensor of zeros with its own storage (outside any step arena).</summary>
    public static Tensor<T> Zeros(Shape shape) => new(shape, new T[shape.Size], 0);

    /// <summary>A tensor of one value, from the current step arena if one is active.</summary>
    public static Tensor<T> Full(Shape shape, T value)
    {
        var t = Uninitialized(shape);
        t.Span.Fill(value);
        return t;
    }

    /// <summary>A rank-0 constant.</summary>
    public static Tensor<T> Scalar(T value) => Full(Shape.Scalar, value);

    /// <summary>A rank-0 constant, converted to T.</summary>
    public static Tensor<T> Scalar(double value) => Scalar(T.CreateChecked(value));

    /// <summary>Copies <paramref name="values"/> into a new tensor of the given shape.</summary>
    public static Tensor<T> FromArray(ReadOnlySpan<T> values, params ReadOnlySpan<int> dims)
    {
        var shape = new Shape(dims);
        if (values.Length != shape.Size)
            throw new ShapeMismatchException($"Tensor.FromArray: shape {shape} needs {shape.Size} values, got {values.Length}.");
        var t = Zeros(shape);
        values.CopyTo(t.Span);
        return t;
    }

    /// <summary>Converts double values (e.g. test data) into a tensor of element type T.</summary>
    public static Tensor<T> FromDoubles(ReadOnlySpan<double> values, params ReadOnlySpan<int> dims)
    {
        var shape = new Shape(dims);
        if (values.Length != shape.Size)
            throw new ShapeMismatchException($"Tensor.FromDoubles: shape {shape} needs {shape.Size} values, got {values.Length}.");
        var t = Zeros(shape);
        var s = t.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateChecked(values[i]);
        return t;
    }

    /// <summary>A leaf that accumulates gradients (a parameter).</summary>
    public Tensor<T> AsParameter(string? name = null)
    {
        if (!IsLeaf) throw new InvalidOperationException($"AsParameter: tensor {Name ?? Shape.ToString()} is an op result, not a leaf; Detach it first.");
        RequiresGrad = true;
        if (name is not null) Name = name;
        return this;
    }

    /// <summary>The same values, cut from the tape: no gradient flows through the result.</summary>
    public Tensor<T> Detach() => Over(this, Shape, Offset);

    /// <summary>A fresh copy of the values that owns its storage (survives the end of a step).</summary>
    public Tensor<T> Clone()
    {
        var t = Zeros(Shape);
        Span.CopyTo(t.Span);
        return t;
    }

    /// <summary>Zeroes the accumulated gradient (keeps the buffer; the clearing happens on its next use).</summary>
    public void ZeroGrad() => _gradZeroPending = _grad is not null;

    /// <summary>The value of a one-element tensor.</summary>
    public T Item()
    {
        if (Size != 1) throw new InvalidOperationException($"Item: tensor of shape {Shape} has {Size} elements, expected exactly 1.");
        return Span[0];
    }

    /// <summary>The values as a new array, row-major.</summary>
    public T[] ToArray() => Span.ToArray();

    /// <summary>The values converted to double, as a new array, row-major.</summary>
    public double[] ToDoubles()
    {
        var s = Span;
        var d = new double[s.Length];
        for (int i = 0; i < s.Length; i++) d[i] = double.CreateChecked(s[i]);
        return d;
    }

    /// <summary>The element at <paramref name="index"/>, one index per axis.</summary>
    [IndexerName("ValueAt")]
    public T this[params ReadOnlySpan<int> index]
    {
        get
        {
            if (index.Length != Shape.Rank) throw new ArgumentException($"indexer: shape {Shape} needs {Shape.Rank} indices, got {index.Length}.", nameof(index));
            int flat = 0;
            for (int i = 0; i < index.Length; i++)
            {
                if ((uint)index[i] >= (uint)Shape[i]) throw new ArgumentOutOfRangeException(nameof(index), $"index {index[i]} out of range for axis {i} of shape {Shape}.");
                flat = flat * Shape[i] + index[i];
            }
            return Span[flat];
        }
    }

    /// <summary>Throws <see cref="NonFiniteException"/> when any value is NaN or ±∞.</summary>
    public Tensor<T> EnsureFinite(string what)
    {
        var s = Span;
        for (int i = 0; i < s.Length; i++)
            if (!T.IsFinite(s[i]))
                throw new NonFiniteException($"{what}: element {i} of a tensor of shape {Shape} is {s[i]}.");
        return this;
    }

    /// <summary>Backpropagates from this scalar (seed 1).</summary>
    public void Backward() => Tape<T>.Current.Backward(this, null);

    /// <summary>Backpropagates from this tensor with an explicit seed of the same shape (the vector in a vector-Jacobian product).</summary>
    public void Backward(Tensor<T> seed) => Tape<T>.Current.Backward(this, seed);

    /// <summary>The shape, and whether the tensor requires grad, e.g. <c>Tensor[2, 3] requires-grad</c>.</summary>
    public override string ToString() => $"Tensor{Shape}{(RequiresGrad ? " requires-grad" : "")}";

    /// <see cref="Ops.Add"/>: a + b, broadcasting.
    public static Tensor<T> operator +(Tensor<T> a, Tensor<T> b) => Ops.Add(a, b);
    /// <see cref="Ops.Sub"/>: a - b, broadcasting.
    public static Tensor<T> operator -(Tensor<T> a, Tensor<T> b) => Ops.Sub(a, b);
    /// <see cref="Ops.Mul"/>: a · b elementwise, broadcasting.
    public static Tensor<T> operator *(Tensor<T> a, Tensor<T> b) => Ops.Mul(a, b);
    /// <see cref="Ops.Div"/>: a / b elementwise, broadcasting.
    public static Tensor<T> operator /(Tensor<T> a, Tensor<T> b) => Ops.Div(a, b);
    /// <see cref="Ops.Neg"/>: -a.
    public static Tensor<T> operator -(Tensor<T> a) => Ops.Neg(a);
    /// <summary>a + b for a constant b.</summary>
    public static Tensor<T> operator +(Tensor<T> a, double b) => Ops.Add(a, Scalar(b));
    /// <summary>a - b for a constant b.</summary>
    public static Tensor<T> operator -(Tensor<T> a, double b) => Ops.Sub(a, Scalar(b));
    /// <summary>a · b for a constant b.</summary>
    public static Tensor<T> operator *(Tensor<T> a, double b) => Ops.Mul(a, Scalar(b));
    /// <summary>a / b for a constant b.</summary>
    public static Tensor<T> operator /(Tensor<T> a, double b) => Ops.Div(a, Scalar(b));
    /// <summary>a + b for a constant a.</summary>
    public static Tensor<T> operator +(double a, Tensor<T> b) => Ops.Add(Scalar(a), b);
    /// <summary>a - b for a constant a.</summary>
    public static Tensor<T> operator -(double a, Tensor<T> b) => Ops.Sub(Scalar(a), b);
    /// <summary>a · b for a constant a.</summary>
    public static Tensor<T> operator *(double a, Tensor<T> b) => Ops.Mul(Scalar(a), b);
    /// <summary>a / b for a constant a.</summary>
    public static Tensor<T> operator /(double a, Tensor<T> b) => Ops.Div(Scalar(a), b);
}

/// <summary>A NaN or infinity where a finite number was required.</summary>
public sealed class NonFiniteException(string message) : ArithmeticException(message);
