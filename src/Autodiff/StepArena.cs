using System.Numerics;

namespace Scg.Autodiff;

/// <summary>
/// Memory for one training step: while a step is active every op result and intermediate gradient is rented
/// from here, and <see cref="Begin"/> of the next step takes it all back. A step that repeats the same ops
/// therefore allocates nothing after the first. Tensors rented in a step are valid until the next Begin;
/// keep a value longer with <see cref="Tensor{T}.Clone"/>.
/// </summary>
public sealed class StepArena<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [ThreadStatic] static StepArena<T>? t_active;

    readonly List<Tensor<T>> _slots = [];
    int _cursor;
    internal int Generation;

    internal static StepArena<T>? Active => t_active;

    /// <summary>Number of tensors rented in the current step.</summary>
    public int Rented => _cursor;

    /// <summary>Releases what the last step rented and makes this arena the active one on this thread until the scope is disposed.</summary>
    public Scope Begin()
    {
        _cursor = 0;
        Generation++;
        var previous = t_active;
        t_active = this;
        return new Scope(previous);
    }

    internal Tensor<T> Rent(Shape shape)
    {
        int size = shape.Size;
        Tensor<T> t;
        if (_cursor < _slots.Count)
        {
            t = _slots[_cursor];
            t.Reinit(shape, t.Storage.Length >= size ? t.Storage : new T[size], 0);
        }
        else
        {
            t = new Tensor<T>(shape, new T[size], 0);
            _slots.Add(t);
        }
        _cursor++;
        t.Arena = this;
        t.ArenaGeneration = Generation;
        return t;
    }

    public readonly struct Scope(StepArena<T>? previous) : IDisposable
    {
        public void Dispose() => t_active = previous;
    }
}
