using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

/// <summary>
/// Append-only record of the ops of one forward pass (one per thread and element type). Append order is
/// topological, so <see cref="Backward"/> is one reverse loop; it then frees the records.
/// </summary>
public sealed class Tape<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [ThreadStatic] static Tape<T>? t_current;

    OpRecord<T>?[] _records = new OpRecord<T>?[256];
    int _count;
    int _generation = 1;
    readonly int _threadId = Environment.CurrentManagedThreadId;

    /// <summary>This thread's tape for element type T.</summary>
    public static Tape<T> Current => t_current ??= new Tape<T>();

    /// <summary>Counts the times the tape was freed (by Backward or Clear): a pass's tensors belong to one generation.</summary>
    public int Generation => _generation;

    /// <summary>Number of recorded ops not yet freed.</summary>
    public int Count => _count;

    /// <summary>True when an op on these inputs must be recorded.</summary>
    internal static bool ShouldRecord(Tensor<T> a) => a.RequiresGrad && Autograd.IsRecording;

    internal static bool ShouldRecord(Tensor<T> a, Tensor<T> b) => (a.RequiresGrad || b.RequiresGrad) && Autograd.IsRecording;

    /// <summary>
    /// Appends a freshly rented record and marks its output as produced by it; the tape frees the record. Only
    /// <see cref="Ops"/> records.
    /// </summary>
    internal void Record(OpRecord<T> record)
    {
        record.CheckInputs(this);
        if (_count == _records.Length) Array.Resize(ref _records, _count * 2);
        _records[_count] = record;
        var output = record.Output;
        output.Node = _count;
        output.Tape = this;
        output.TapeGeneration = _generation;
        output.RequiresGrad = true;
        _count++;
    }

    /// <summary>An op may not combine this tape's tensors with tensors another thread's tape recorded: backward would never reach those.</summary>
    internal void CheckSameTape(Tensor<T>? input, string op)
    {
        if (input is { IsLeaf: false, Tape: { } other } && other != this)
            throw new InvalidOperationException(
                $"{op}: an input was computed on thread {other._threadId}, and this op runs on thread {_threadId}. " +
                "A graph is recorded per thread; run the whole forward pass on one thread.");
    }

    /// <summary>Drops every recorded op (a forward pass whose gradient is not needed).</summary>
    public void Clear()
    {
        for (int i = 0; i < _count; i++)
        {
            _records[i]!.Free();
            _records[i] = null;
        }
        _count = 0;
        _generation++;
    }

    internal void Backward(Tensor<T> root, Tensor<T>? seed)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException($"Backward: the tensor of shape {root.Shape} does not require grad (no parameter in its graph, or it was computed under NoGrad or detached).");
        if (!root.IsLeaf && root.Tape != this)
            throw new InvalidOperationException(
                $"Backward: the tensor of shape {root.Shape} was recorded on thread {root.Tape!._threadId}, and Backward runs on thread {_threadId}. " +
                "A graph is recorded per thread; call Backward on the thread that ran the forward pass (for example, not after an await that resumed elsewhere).");
        if (!root.IsLeaf && root.TapeGeneration != _generation)
            throw new InvalidOperationException($"Backward: the graph that produced this tensor of shape {root.Shape} was already freed by an earlier Backward or Clear; run the forward pass again.");
        if (seed is null && root.Size != 1)
            throw new InvalidOperationException($"Backward: the tensor has shape {root.Shape}, not a scalar; pass a seed of the same shape (Backward(seed)).");
        if (seed is not null && seed.Shape != root.Shape)
            throw new ShapeMismatchException($"Backward: seed shape {seed.Shape} differs from the tensor's shape {root.Shape}.");

        var rootGrad = GradSpan(root);
        if (seed is null) rootGrad[0] += T.One;
        else TensorPrimitives.Add(rootGrad, seed.Span, rootGrad);
        if (root.IsLeaf) return;

        for (int i = root.Node; i >= 0; i--)
        {
            var record = _records[i]!;
            if (record.Output.Grad is null) continue;
            record.Backward();
            record.Output.Grad = null;
        }
        Clear();
    }

    /// <summary>
    /// The gradient buffer of <paramref name="x"/>, created zeroed on first use; rules add into it.
    /// Intermediate gradients come from the step arena; a leaf's gradient is its own and persists.
    /// </summary>
    internal static Span<T> GradSpan(Tensor<T> x)
    {
        var g = x.Grad;
        if (g is null)
        {
            g = x.IsLeaf ? Tensor<T>.Zeros(x.Shape) : Tensor<T>.Uninitialized(x.Shape);
            if (!x.IsLeaf) Elementwise.Clear(g.Span);
            x.Grad = g;
        }
        else if (g.Shape != x.Shape)
            throw new InvalidOperationException($"gradient shape {g.Shape} differs from its tensor's shape {x.Shape}.");
        return g.Span;
    }

    /// <summary>
    /// x's gradient buffer for a rule that writes all of it. <paramref name="accumulate"/> is false when the buffer
    /// holds no gradient yet (new for an intermediate, or zeroed by ZeroGrad), so the rule overwrites it instead of
    /// adding to zeros; the values are the same, without clearing the buffer first.
    /// </summary>
    internal static Span<T> GradSpanToWrite(Tensor<T> x, out bool accumulate)
    {
        accumulate = false;
        if (x.TakeGradToOverwrite() is { } zeroed) return zeroed.Span;
        if (x.Grad is null && !x.IsLeaf)
        {
            var fresh = Tensor<T>.Uninitialized(x.Shape);
            x.Grad = fresh;
            return fresh.Span;
        }
        accumulate = true;
        return GradSpan(x);
    }
}
