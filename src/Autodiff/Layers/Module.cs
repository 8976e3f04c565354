using System.Numerics;

namespace Scg.Autodiff.Layers;

/// <summary>Something that owns parameters.</summary>
public interface IModule<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Every parameter (leaf requiring grad), in a fixed order.</summary>
    IEnumerable<Tensor<T>> Parameters();
}

/// <summary>An ordered, named collection of parameters: what optimizers and checkpoints work on.</summary>
public sealed class ParameterCollection<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly List<Tensor<T>> _items = [];

    public ParameterCollection(IEnumerable<Tensor<T>> parameters)
    {
        foreach (var p in parameters) Add(p);
    }

    public ParameterCollection() { }

    public IReadOnlyList<Tensor<T>> Items => _items;

    public int Count => _items.Count;

    /// <summary>Total number of scalar parameters.</summary>
    public long ElementCount => _items.Sum(p => (long)p.Size);

    public void Add(Tensor<T> p)
    {
        if (!p.RequiresGrad || !p.IsLeaf)
            throw new ArgumentException($"parameter '{p.Name}' of shape {p.Shape} must be a leaf that requires grad (use AsParameter).", nameof(p));
        if (_items.Contains(p)) throw new ArgumentException($"parameter '{p.Name}' is already in the collection.", nameof(p));
        _items.Add(p);
    }

    public void AddRange(IEnumerable<Tensor<T>> ps)
    {
        foreach (var p in ps) Add(p);
    }

    public void ZeroGrad()
    {
        foreach (var p in _items) p.ZeroGrad();
    }
}

/// <summary>Weight initialization.</summary>
public static class Init
{
    /// <summary>Glorot/Xavier uniform: U(-a, a) with a = √(6 / (fanIn + fanOut)).</summary>
    public static Tensor<T> GlorotUniform<T>(Rng rng, int fanOut, int fanIn, string? name = null) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double a = Math.Sqrt(6.0 / (fanIn + fanOut));
        var w = Tensor<T>.Zeros(fanOut, fanIn);
        var s = w.Span;
        for (int i = 0; i < s.Length; i++) s[i] = T.CreateTruncating((2 * rng.NextDouble() - 1) * a);
        return w.AsParameter(name);
    }
}

/// <summary>y = x·Wᵀ + b.</summary>
public sealed class Linear<T> : IModule<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public Tensor<T> Weight { get; }
    public Tensor<T>? Bias { get; }
    public int In => Weight.Shape[1];
    public int Out => Weight.Shape[0];

    public Linear(Rng rng, int inFeatures, int outFeatures, bool bias = true, string name = "linear")
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        Weight = Init.GlorotUniform<T>(rng, outFeatures, inFeatures, name + ".weight");
        Bias = bias ? Tensor<T>.Zeros(outFeatures).AsParameter(name + ".bias") : null;
    }

    public Tensor<T> Forward(Tensor<T> x) => Ops.Linear(x, Weight, Bias);

    public IEnumerable<Tensor<T>> Parameters()
    {
        yield return Weight;
        if (Bias is not null) yield return Bias;
    }
}

public enum Activation { Tanh, Relu }

/// <summary>A multilayer perceptron: Linear layers with an activation between them (none after the last).</summary>
public sealed class Mlp<T> : IModule<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public IReadOnlyList<Linear<T>> Layers { get; }
    public Activation Activation { get; }

    /// <param name="sizes">Layer widths from input to output, e.g. [784, 200, 200, 10].</param>
    public Mlp(Rng rng, ReadOnlySpan<int> sizes, Activation activation, string name = "mlp")
    {
        if (sizes.Length < 2) throw new ArgumentException($"Mlp: sizes needs an input and an output width, got {sizes.Length} value(s).", nameof(sizes));
        var layers = new Linear<T>[sizes.Length - 1];
        for (int i = 0; i < layers.Length; i++) layers[i] = new Linear<T>(rng, sizes[i], sizes[i + 1], true, $"{name}.{i}");
        Layers = layers;
        Activation = activation;
    }

    public Tensor<T> Forward(Tensor<T> x)
    {
        for (int i = 0; i < Layers.Count; i++)
        {
            x = Layers[i].Forward(x);
            if (i < Layers.Count - 1) x = Activation == Activation.Tanh ? x.Tanh() : x.Relu();
        }
        return x;
    }

    public IEnumerable<Tensor<T>> Parameters() => Layers.SelectMany(l => l.Parameters());
}
