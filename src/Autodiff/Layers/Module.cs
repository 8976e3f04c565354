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

    /// <summary>A collection of <paramref name="parameters"/>, in their order; see <see cref="Add"/> for what each must be.</summary>
    public ParameterCollection(IEnumerable<Tensor<T>> parameters)
    {
        foreach (var p in parameters) Add(p);
    }

    /// <summary>An empty collection.</summary>
    public ParameterCollection() { }

    /// <summary>The parameters in the order they were added.</summary>
    public IReadOnlyList<Tensor<T>> Items => _items;

    /// <summary>Number of parameters (tensors).</summary>
    public int Count => _items.Count;

    /// <summary>Total number of scalar parameters.</summary>
    public long ElementCount => _items.Sum(p => (long)p.Size);

    /// <summary>Appends <paramref name="p"/>, which must be a leaf that requires grad (see <see cref="Tensor{T}.AsParameter"/>) and not already in the collection.</summary>
    public void Add(Tensor<T> p)
    {
        if (!p.RequiresGrad || !p.IsLeaf)
            throw new ArgumentException($"parameter '{p.Name}' of shape {p.Shape} must be a leaf that requires grad (use AsParameter).", nameof(p));
        if (_items.Contains(p)) throw new ArgumentException($"parameter '{p.Name}' is already in the collection.", nameof(p));
        _items.Add(p);
    }

    /// <summary>Appends each of <paramref name="ps"/>, as <see cref="Add"/>.</summary>
    public void AddRange(IEnumerable<Tensor<T>> ps)
    {
        foreach (var p in ps) Add(p);
    }

    /// <summary>Zeroes every parameter's accumulated gradient.</summary>
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
    /// <summary>The weight W, [out, in], Glorot-uniform initialized.</summary>
    public Tensor<T> Weight { get; }
    /// <summary>The bias b, [out], initialized to 0; null for a layer without bias.</summary>
    public Tensor<T>? Bias { get; }
    /// <summary>Input width.</summary>
    public int In => Weight.Shape[1];
    /// <summary>Output width.</summary>
    public int Out => Weight.Shape[0];

    /// <summary>A layer from <paramref name="inFeatures"/> to <paramref name="outFeatures"/> values whose parameters are named <paramref name="name"/><c>.weight</c> and <paramref name="name"/><c>.bias</c>.</summary>
    public Linear(Rng rng, int inFeatures, int outFeatures, bool bias = true, string name = "linear")
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        Weight = Init.GlorotUniform<T>(rng, outFeatures, inFeatures, name + ".weight");
        Bias = bias ? Tensor<T>.Zeros(outFeatures).AsParameter(name + ".bias") : null;
    }

    /// <summary>x·Wᵀ + b for x of shape [..., in].</summary>
    public Tensor<T> Forward(Tensor<T> x) => Ops.Linear(x, Weight, Bias);

    /// <inheritdoc/>
    public IEnumerable<Tensor<T>> Parameters()
    {
        yield return Weight;
        if (Bias is not null) yield return Bias;
    }
}

/// <summary>The nonlinearity between the layers of an <see cref="Mlp{T}"/>.</summary>
public enum Activation
{
    /// <summary>Hyperbolic tangent.</summary>
    Tanh,
    /// <summary>max(x, 0).</summary>
    Relu,
}

/// <summary>A multilayer perceptron: Linear layers with an activation between them (none after the last).</summary>
public sealed class Mlp<T> : IModule<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The linear layers, from input to output.</summary>
    public IReadOnlyList<Linear<T>> Layers { get; }
    /// <summary>The nonlinearity applied after every layer but the last.</summary>
    public Activation Activation { get; }

    /// <summary>Glorot-initialized layers with biases, named <paramref name="name"/><c>.0</c>, <paramref name="name"/><c>.1</c>, ….</summary>
    /// <param name="rng">the generator of the initial weights</param>
    /// <param name="sizes">layer widths from input to output, e.g. [784, 200, 200, 10]</param>
    /// <param name="activation">the nonlinearity between layers</param>
    /// <param name="name">the prefix of the parameters' names</param>
    public Mlp(Rng rng, ReadOnlySpan<int> sizes, Activation activation, string name = "mlp")
    {
        if (sizes.Length < 2) throw new ArgumentException($"Mlp: sizes needs an input and an output width, got {sizes.Length} value(s).", nameof(sizes));
        var layers = new Linear<T>[sizes.Length - 1];
        for (int i = 0; i < layers.Length; i++) layers[i] = new Linear<T>(rng, sizes[i], sizes[i + 1], true, $"{name}.{i}");
        Layers = layers;
        Activation = activation;
    }

    /// <summary>The network's output for x of shape [..., input width].</summary>
    public Tensor<T> Forward(Tensor<T> x)
    {
        for (int i = 0; i < Layers.Count; i++)
        {
            x = Layers[i].Forward(x);
            if (i < Layers.Count - 1) x = Activation == Activation.Tanh ? x.Tanh() : x.Relu();
        }
        return x;
    }

    /// <inheritdoc/>
    public IEnumerable<Tensor<T>> Parameters() => Layers.SelectMany(l => l.Parameters());
}
