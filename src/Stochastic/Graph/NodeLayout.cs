using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Graph;

/// <summary>What the rest of the graph sees of an n-ary node.</summary>
public enum NodeEncoding
{
    /// <summary>The corners of {-1, 1}^log2(n) (Concrete paper appendix D.2); n a power of two; binary nodes take one logit.</summary>
    Corners,
    /// <summary>The one-hot vector (relaxed: the point of the simplex) of any n ≥ 2, as in a discrete VAE.</summary>
    OneHot,
}

/// <summary>
/// The shape of a layer of n-ary nodes and the map from a node's value to what the next layer sees. With
/// <see cref="NodeEncoding.Corners"/> a layer of H units holds H/log2(n) nodes and passes on H values in [-1, 1]; a binary
/// node is one unit with one logit. With <see cref="NodeEncoding.OneHot"/> a layer of H units holds H categorical nodes
/// and passes on H·n values of the simplex. Node families produce one-hot (or simplex) rows, or bits for binary nodes,
/// and this map encodes them; no family branches on the encoding.
/// </summary>
public readonly record struct NodeLayout
{
    /// <summary>n, the number of states of a node.</summary>
    public int Arity { get; }
    /// <summary>How a node's value is passed on.</summary>
    public NodeEncoding Encoding { get; }

    /// <summary>Nodes of <paramref name="arity"/> states (a power of two ≥ 2 for corners, ≥ 2 for one-hot) with the given encoding.</summary>
    public NodeLayout(int arity, NodeEncoding encoding = NodeEncoding.Corners)
    {
        if (encoding == NodeEncoding.Corners) Corners.Bits(arity);   // validates: a power of two ≥ 2
        else if (encoding == NodeEncoding.OneHot)
        {
            if (arity < 2) throw new ArgumentOutOfRangeException(nameof(arity), $"a categorical node needs n ≥ 2 categories, got {arity}.");
        }
        else throw new ArgumentOutOfRangeException(nameof(encoding), $"unknown node encoding {encoding}.");
        Arity = arity;
        Encoding = encoding;
    }

    /// <summary>Binary nodes (n = 2 on the corners) are single units with one logit each; every other node is categorical.</summary>
    public bool IsBinary => Arity == 2 && Encoding == NodeEncoding.Corners;

    /// <summary>Nodes in a layer of <paramref name="units"/> units.</summary>
    public int Nodes(int units)
    {
        if (units < 1) throw new ArgumentOutOfRangeException(nameof(units), $"a stochastic layer needs ≥ 1 unit, got {units}.");
        if (Encoding == NodeEncoding.OneHot) return units;
        int bits = Corners.Bits(Arity);
        if (units % bits != 0) throw new ArgumentException($"a layer of {units} units cannot be split into {Arity}-ary nodes of {bits} units each.", nameof(units));
        return units / bits;
    }

    /// <summary>Width of the value a layer of <paramref name="units"/> units passes on.</summary>
    public long ValueWidth(int units) => Encoding == NodeEncoding.OneHot ? (long)Nodes(units) * Arity : units;

    /// <summary>Bits (or relaxed bits) in [0, 1] of binary nodes → the downstream value.</summary>
    public Tensor<T> EncodeBits<T>(Tensor<T> bits) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Corners.FromBits(bits);

    /// <summary>One-hot or simplex rows [rows, nodes, n] → the downstream value.</summary>
    public Tensor<T> Encode<T>(Tensor<T> oneHot) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Encoding == NodeEncoding.Corners ? Corners.FromOneHot(oneHot) : oneHot.Reshape(oneHot.Shape[0], -1);

    /// <summary>Node parameters [rows, nodes·k] → [rows, nodes, k].</summary>
    internal static Tensor<T> Groups<T>(Tensor<T> parameters, int perNode) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        parameters.Reshape(parameters.Shape[0], -1, perNode);

    /// <summary>The arity and encoding, e.g. <c>4-ary OneHot</c>.</summary>
    public override string ToString() => $"{Arity}-ary {Encoding}";
}

/// <summary>The corners of {-1, 1}^log2(n) that n-ary states map to (appendix D.2: Y = C·D).</summary>
public static class Corners
{
    /// <summary>log2(n) for n a power of two ≥ 2.</summary>
    public static int Bits(int arity)
    {
        if (arity < 2 || (arity & (arity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(arity), $"arity must be a power of two ≥ 2 (2, 4, 8, …), got {arity}.");
        return BitOperations.Log2((uint)arity);
    }

    /// <summary>C: [n, log2 n], row k = the corner of state k (bit b of k → +1, else -1).</summary>
    public static Tensor<T> Matrix<T>(int arity) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int bits = Bits(arity);
        var c = Tensor<T>.Zeros(arity, bits);
        var s = c.Span;
        for (int k = 0; k < arity; k++)
            for (int b = 0; b < bits; b++) s[k * bits + b] = ((k >> b) & 1) == 1 ? T.One : -T.One;
        return c;
    }

    /// <summary>Bits (or relaxed bits) in [0, 1] → 2x - 1.</summary>
    public static Tensor<T> FromBits<T>(Tensor<T> bits) where T : unmanaged, IBinaryFloatingPointIeee754<T> => bits * 2.0 - 1.0;

    /// <summary>One-hot (or simplex) rows [rows, groups, n] → corners [rows, groups·log2 n].</summary>
    public static Tensor<T> FromOneHot<T>(Tensor<T> oneHot) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int rows = oneHot.Shape[0], groups = oneHot.Shape[1], n = oneHot.Shape[2];
        return Ops.MatMul(oneHot.Reshape(rows * groups, n), Matrix<T>(n)).Reshape(rows, -1);
    }
}
