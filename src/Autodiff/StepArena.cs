using System.Numerics;

namespace Scg.Autodiff;

/// <summary>
/// Memory for one training step: while a step is active every op result and intermediate gradient is rented
/// from here, and <see cref="Begin"/> of the next step takes it all back. A step that repeats the same ops
/// therefore reuses the previous step's buffers and allocates only small tensor headers after the first. Each rent
/// gets a fresh header, so a tensor kept past the next Begin throws on use instead of silently reading the new
/// step's values; keep a value longer with <see cref="Tensor{T}.Clone"/>.
/// </summary>
public sealed class StepArena<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    [ThreadStatic] static StepArena<T>? t_active;

    readonly List<T[]> _buffers = [];
    readonly List<Tensor<T>> _headers = [];
    int _cursor, _headerCursor;
    internal int Generation;

    /// <summary>
    /// True for an arena whose owner keeps no tensor past its step (the trainer's): the tensor headers are reused too,
    /// so a step that repeats the same ops allocates nothing. A tensor kept past the next Begin then shows the new
    /// step's values instead of throwing.
    /// </summary>
    public bool ReusesHeaders { get; init; }

    internal static StepArena<T>? Active => t_active;

    /// <summary>Number of tensors rented in the current step.</summary>
    public int Rented => _cursor;

    /// <summary>Releases what the last step rented and makes this arena the active one on this thread until the scope is disposed.</summary>
    public Scope Begin()
    {
        // Reused headers drop what the last step recorded on them: a step that ended without Backward (it threw)
        // must not leave records whose outputs are this step's tensors. A step begun without recording (evaluation)
        // records nothing on them, and leaves the caller's tape as it is.
        if (ReusesHeaders && Autograd.IsRecording && Tape<T>.Current.Count > 0) Tape<T>.Current.Clear();
        _cursor = 0;
        _headerCursor = 0;
        Generation++;
        var previous = t_active;
        t_active = this;
        return new Scope(previous);
    }

    internal Tensor<T> Rent(Shape shape)
    {
        int size = shape.Size;
        if (_cursor == _buffers.Count) _buffers.Add(new T[size]);
        else if (_buffers[_cursor].Length < size) _buffers[_cursor] = new T[size];
        return Header(shape, _buffers[_cursor++], 0);
    }

    /// <summary>A tensor of this step over <paramref name="storage"/>: a new header, or with <see cref="ReusesHeaders"/> the one this position had last step.</summary>
    internal Tensor<T> Header(Shape shape, T[] storage, int offset)
    {
        Tensor<T> t;
        if (!ReusesHeaders) t = new Tensor<T>(shape, storage, offset);
        else
        {
            if (_headerCursor == _headers.Count) _headers.Add(new Tensor<T>(shape, storage, offset));
            t = _headers[_headerCursor++];
            t.Reset(shape, storage, offset);
        }
        t.Arena = this;
        t.ArenaGeneration = Generation;
        return t;
    }

    /// <summary>The step <see cref="Begin"/> opens; disposing it makes the previously active arena active again.</summary>
    public readonly struct Scope : IDisposable
    {
        readonly StepArena<T>? _previous;

        internal Scope(StepArena<T>? previous) => _previous = previous;

        /// <summary>Restores the arena that was active before <see cref="Begin"/>; the tensors rented in the step stay valid until the next Begin.</summary>
        public void Dispose() => t_active = _previous;
    }
}
