using System.Numerics;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

/// <summary>
/// One recorded op: its name, its output and its backward. Each op kind subclasses it with named fields for what
/// its backward needs (the inputs, constants, saved values).
/// </summary>
internal abstract class OpRecord<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The op's name, for error messages.</summary>
    public string Op = "";

    /// <summary>The tensor the op produced.</summary>
    public Tensor<T> Output = null!;

    /// <summary>The gradient flowing into the output.</summary>
    public ReadOnlySpan<T> GradOut => Output.Grad!.Span;

    /// <summary>Reads <see cref="GradOut"/> and adds into the inputs' gradients.</summary>
    public abstract void Backward();

    /// <summary>Calls <see cref="Tape{T}.CheckSameTape"/> on each input.</summary>
    public abstract void CheckInputs(Tape<T> tape);

    /// <summary>Drops the record's references and makes it reusable; the tape calls it once, when it frees the record.</summary>
    public abstract void Free();
}

/// <summary>
/// A record kind reused through a per-thread free list, so recording an op allocates nothing once a pass has run
/// (tapes are per thread). <typeparamref name="TSelf"/> is the sealed record type.
/// </summary>
internal abstract class PooledRecord<T, TSelf> : OpRecord<T>, IFreeListItem<TSelf>
    where T : unmanaged, IBinaryFloatingPointIeee754<T> where TSelf : PooledRecord<T, TSelf>, new()
{
    bool _rented;

    TSelf? IFreeListItem<TSelf>.NextFree { get; set; }

    /// <summary>A free record of this kind (new when there is none) for an op that produced <paramref name="output"/>.</summary>
    protected static TSelf FromPool(string op, Tensor<T> output)
    {
        var r = FreeList<TSelf>.Take();
        r._rented = true;
        r.Op = op;
        r.Output = output;
        return r;
    }

    /// <inheritdoc/>
    public sealed override void Free()
    {
        if (!_rented) throw new InvalidOperationException($"{Op}: the tape record was freed twice.");
        _rented = false;
        ClearReferences();
        Output = null!;
        FreeList<TSelf>.Put((TSelf)this);
    }

    /// <summary>Sets the subclass's reference fields to null, so a free record keeps no tensor alive.</summary>
    protected abstract void ClearReferences();
}

/// <summary>A pooled record of an op with one tensor input, <see cref="Input"/>.</summary>
internal abstract class SingleInputRecord<T, TSelf> : PooledRecord<T, TSelf>
    where T : unmanaged, IBinaryFloatingPointIeee754<T> where TSelf : SingleInputRecord<T, TSelf>, new()
{
    /// <summary>The op's input.</summary>
    public Tensor<T> Input = null!;

    /// <summary>A free record for an op that produced <paramref name="output"/> from <paramref name="input"/>.</summary>
    protected static TSelf FromPool(string op, Tensor<T> output, Tensor<T> input)
    {
        var r = FromPool(op, output);
        r.Input = input;
        return r;
    }

    /// <inheritdoc/>
    public sealed override void CheckInputs(Tape<T> tape) => tape.CheckSameTape(Input, Op);

    /// <inheritdoc/>
    protected override void ClearReferences() => Input = null!;
}
