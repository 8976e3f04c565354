using System.Numerics;
using System.Runtime.CompilerServices;
using Scg.Autodiff;

namespace Scg.Models.Data;

/// <summary>How grayscale pixels become the 0/1 values a model sees.</summary>
public enum Binarization
{
    /// <summary>Bits drawn once from a fixed seed (x = U &lt; intensity) and cached on disk.</summary>
    Fixed,

    /// <summary>Fresh bits per batch, drawn from the trainer's <see cref="Rng"/>.</summary>
    Dynamic,

    /// <summary>
    /// Every split thresholded: a pixel is 1 when its intensity is at least one half (8-bit value 128 or more), as the
    /// IGR paper's structured-prediction code binarizes MNIST.
    /// </summary>
    Threshold,
}

/// <summary>
/// Rows × Features values in row-major order. With <see cref="Data.Binarization.Fixed"/> or
/// <see cref="Data.Binarization.Threshold"/> the values are the bits (0 or 1); with <see cref="Data.Binarization.Dynamic"/> they are intensities in [0,1] and every
/// <see cref="CopyBatch"/> draws new bits from them.
/// </summary>
public sealed class BinaryDataset
{
    readonly ReadOnlyMemory<float> _values;

    BinaryDataset(ReadOnlyMemory<float> values, int rows, int features, int? imageWidth, int? imageHeight, Binarization binarization)
    {
        _values = values;
        Rows = rows;
        Features = features;
        ImageWidth = imageWidth;
        ImageHeight = imageHeight;
        Binarization = binarization;
    }

    /// <summary>Number of rows (data points).</summary>
    public int Rows { get; }
    /// <summary>Values per row.</summary>
    public int Features { get; }
    /// <summary>Width of a row seen as an image, or null when the rows are not images.</summary>
    public int? ImageWidth { get; }
    /// <summary>Height of a row seen as an image, or null when the rows are not images.</summary>
    public int? ImageHeight { get; }
    /// <summary>Whether the values are fixed bits or intensities binarized per batch.</summary>
    public Binarization Binarization { get; }

    /// <summary>All values, row-major: bits for Fixed and Threshold, intensities for Dynamic.</summary>
    public ReadOnlySpan<float> Values => _values.Span;

    /// <summary>The values of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        return _values.Span.Slice(row * Features, Features);
    }

    /// <summary>A data set of 0/1 values; it keeps <paramref name="bits"/> without copying.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    public static BinaryDataset FromBits(float[] bits, int rows, int features, int? imageWidth = null, int? imageHeight = null)
    {
        CheckShape(bits, rows, features, imageWidth, imageHeight, nameof(bits));
        for (int i = 0; i < bits.Length; i++)
            if (bits[i] is not (0f or 1f))
                throw new ArgumentException($"bits[{i}] (row {i / features}, feature {i % features}) is {bits[i]}; expected 0 or 1.", nameof(bits));
        return new BinaryDataset(bits, rows, features, imageWidth, imageHeight, Binarization.Fixed);
    }

    /// <summary>Pixels thresholded at intensity one half (<see cref="Data.Binarization.Threshold"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    internal static BinaryDataset Thresholded(ReadOnlySpan<byte> pixels, int rows, int features, int? imageWidth, int? imageHeight)
    {
        var bits = new float[pixels.Length];
        for (int i = 0; i < bits.Length; i++) bits[i] = pixels[i] >= ThresholdPixel ? 1f : 0f;
        CheckShape(bits, rows, features, imageWidth, imageHeight, nameof(pixels));
        return new BinaryDataset(bits, rows, features, imageWidth, imageHeight, Binarization.Threshold);
    }

    /// <summary>The smallest 8-bit pixel whose intensity (pixel / 255) is at least one half.</summary>
    internal const byte ThresholdPixel = 128;

    /// <summary>A dynamically binarized data set of intensities in [0,1]; it keeps <paramref name="intensities"/> without copying.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    public static BinaryDataset FromIntensities(float[] intensities, int rows, int features, int? imageWidth = null, int? imageHeight = null)
    {
        CheckShape(intensities, rows, features, imageWidth, imageHeight, nameof(intensities));
        for (int i = 0; i < intensities.Length; i++)
            if (!(intensities[i] is >= 0f and <= 1f))
                throw new ArgumentException($"intensities[{i}] (row {i / features}, feature {i % features}) is {intensities[i]}; expected a value in [0, 1].", nameof(intensities));
        return new BinaryDataset(intensities, rows, features, imageWidth, imageHeight, Binarization.Dynamic);
    }

    static void CheckShape(float[] values, int rows, int features, int? width, int? height, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if ((long)rows * features != values.Length)
            throw new ArgumentException($"{name} has {values.Length} values; {rows} rows × {features} features need {(long)rows * features}.", name);
        if (width.HasValue != height.HasValue)
            throw new ArgumentException($"give both image sizes or neither; got width {width?.ToString() ?? "null"}, height {height?.ToString() ?? "null"}.", nameof(width));
        if (width is int w && height is int h && ((long)w * h != features || w <= 0 || h <= 0))
            throw new ArgumentException($"image {w}×{h} does not match {features} features.", nameof(width));
    }

    /// <summary>Rows [start, start+count) sharing this data set's storage.</summary>
    internal BinaryDataset Slice(int start, int count) =>
        new(_values.Slice(start * Features, count * Features), count, Features, ImageWidth, ImageHeight, Binarization);

    /// <summary>
    /// Writes the given rows one after another into <paramref name="dest"/> (rowIndices.Length × Features values).
    /// Dynamic data sets draw each bit as U &lt; intensity from <paramref name="rng"/>, which they require; Fixed ones ignore it.
    /// </summary>
    public void CopyBatch(ReadOnlySpan<int> rowIndices, Span<float> dest, Rng? rng = null)
    {
        if (dest.Length != rowIndices.Length * Features)
            throw new ArgumentException($"dest holds {dest.Length} values; {rowIndices.Length} rows × {Features} features need {rowIndices.Length * Features}.", nameof(dest));
        Rng? draw = Binarization != Binarization.Dynamic ? null
            : rng ?? throw new ArgumentNullException(nameof(rng), "A dynamically binarized data set draws fresh bits per batch: pass the trainer's Rng.");
        ReadOnlySpan<float> values = _values.Span;
        foreach (int r in rowIndices)
            if ((uint)r >= (uint)Rows)
                throw new ArgumentOutOfRangeException(nameof(rowIndices), $"rowIndices[{rowIndices.IndexOf(r)}] is {r}; expected a row in [0, {Rows}).");
        draw?.FillUniform(dest);   // the draws of NextSingle one value after another, in one pass
        for (int b = 0; b < rowIndices.Length; b++)
        {
            ReadOnlySpan<float> src = values.Slice(rowIndices[b] * Features, Features);
            Span<float> dst = dest.Slice(b * Features, Features);
            if (draw is null) src.CopyTo(dst);
            else BitsBelow(dst, src);
        }
    }

    /// <summary>u[j] = 1 where the uniform draw u[j] is below the intensity p[j], else 0.</summary>
    static void BitsBelow(Span<float> u, ReadOnlySpan<float> p)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
            for (; j <= u.Length - Vector<float>.Count; j += Vector<float>.Count)
            {
                var below = Vector.LessThan(new Vector<float>(u[j..]), new Vector<float>(p[j..]));
                Vector.ConditionalSelect(below, Vector<float>.One, Vector<float>.Zero).CopyTo(u[j..]);
            }
        for (; j < u.Length; j++) u[j] = u[j] < p[j] ? 1f : 0f;
    }

    /// <summary>Mean of each feature over the rows: the per-pixel base rate (for Dynamic, the expected bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a one-shot loop over millions of values: skip tier-0 code
    public float[] FeatureMeans()
    {
        var sums = new double[Features];
        ReadOnlySpan<float> values = _values.Span;
        for (int r = 0; r < Rows; r++)
        {
            ReadOnlySpan<float> row = values.Slice(r * Features, Features);
            for (int j = 0; j < Features; j++) sums[j] += row[j];
        }
        var means = new float[Features];
        for (int j = 0; j < Features; j++) means[j] = (float)(sums[j] / Rows);
        return means;
    }
}

/// <summary>
/// Shuffled minibatches as a function of the training step, so that a resumed run draws exactly the batches an
/// uninterrupted one would: epoch e = step / <see cref="BatchesPerEpoch"/> is a Fisher–Yates permutation of the rows
/// drawn from <c>shuffle(e)</c>, cut into full batches (the Rows % BatchSize rows left over sit that epoch out). A
/// dynamically binarized data set draws the bits of step t from <c>binarize(t)</c>.
/// </summary>
public sealed class BatchSchedule
{
    readonly BinaryDataset _data;
    readonly Func<long, Rng> _shuffle;
    readonly Func<long, Rng>? _binarize;
    readonly int[] _order;
    long _epoch = -1;

    /// <summary>Batches of <paramref name="batchSize"/> rows of <paramref name="data"/>; <paramref name="binarize"/> is required for a dynamically binarized set.</summary>
    public BatchSchedule(BinaryDataset data, int batchSize, Func<long, Rng> shuffle, Func<long, Rng>? binarize = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shuffle);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (batchSize > data.Rows)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} exceeds the {data.Rows} rows of the data set.");
        if (data.Binarization == Binarization.Dynamic && binarize is null)
            throw new ArgumentNullException(nameof(binarize), "a dynamically binarized data set needs a generator of each step's bits.");
        _data = data; _shuffle = shuffle; _binarize = binarize;
        BatchSize = batchSize;
        _order = new int[data.Rows];
    }

    /// <summary>Rows per batch.</summary>
    public int BatchSize { get; }
    /// <summary>Full batches per epoch: Rows / BatchSize.</summary>
    public int BatchesPerEpoch => _data.Rows / BatchSize;

    /// <summary>Row indices of the batch of <paramref name="step"/>, valid until the next call.</summary>
    public ReadOnlySpan<int> Indices(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        long epoch = step / BatchesPerEpoch;
        if (epoch != _epoch)
        {
            for (int i = 0; i < _order.Length; i++) _order[i] = i;
            var rng = _shuffle(epoch);
            for (int i = _order.Length - 1; i > 0; i--)
            {
                int j = rng.NextInt(i + 1);
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
            _epoch = epoch;
        }
        return _order.AsSpan((int)(step % BatchesPerEpoch) * BatchSize, BatchSize);
    }

    /// <summary>Fills <paramref name="dest"/> (BatchSize × Features) with the batch of <paramref name="step"/>; returns its row indices.</summary>
    public ReadOnlySpan<int> Fill(long step, Span<float> dest)
    {
        var rows = Indices(step);
        _data.CopyBatch(rows, dest, _data.Binarization == Binarization.Dynamic ? _binarize!(step) : null);
        return rows;
    }
}
