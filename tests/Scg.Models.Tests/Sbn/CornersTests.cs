using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

/// <summary>n-ary nodes take the corners of {-1,1}^log2(n) (Concrete paper, appendix D.2).</summary>
public class CornersTests
{
    [Fact]
    public void FourAryCornersListEveryCornerOfTheSquare()
    {
        var c = Corners.Matrix<float>(4);
        Assert.Equal(new Shape(4, 2), c.Shape);
        // state k → bit b of k is +1, else -1
        Assert.Equal([-1f, -1f, 1f, -1f, -1f, 1f, 1f, 1f], c.ToArray());
    }

    [Fact]
    public void EightAryCornersAreTheEightDistinctCornersOfTheCube()
    {
        var c = Corners.Matrix<float>(8);
        Assert.Equal(new Shape(8, 3), c.Shape);
        var rows = Enumerable.Range(0, 8).Select(k => string.Join(",", c.ToArray().Skip(3 * k).Take(3))).ToList();
        Assert.Equal(8, rows.Distinct().Count());
        Assert.All(c.ToArray(), v => Assert.True(v is 1f or -1f));
        for (int k = 0; k < 8; k++)
            for (int b = 0; b < 3; b++)
                Assert.Equal(((k >> b) & 1) == 1 ? 1f : -1f, c[k, b]);
    }

    [Fact]
    public void BitsIsLog2OfTheArity()
    {
        Assert.Equal(1, Corners.Bits(2));
        Assert.Equal(2, Corners.Bits(4));
        Assert.Equal(3, Corners.Bits(8));
        Assert.Throws<ArgumentOutOfRangeException>(() => Corners.Bits(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Corners.Bits(1));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void OneHotStatesMapToTheirCornerPerGroup(int n)
    {
        int bits = Corners.Bits(n), groups = 3, rows = n;
        // row r: group g is in state (r + g) mod n
        var oneHot = Tensor<float>.Zeros(rows, groups, n);
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < groups; g++) oneHot.Span[(r * groups + g) * n + (r + g) % n] = 1f;
        var corners = Corners.FromOneHot(oneHot);
        Assert.Equal(new Shape(rows, groups * bits), corners.Shape);
        var c = Corners.Matrix<float>(n);
        for (int r = 0; r < rows; r++)
            for (int g = 0; g < groups; g++)
                for (int b = 0; b < bits; b++)
                    Assert.Equal(c[(r + g) % n, b], corners[r, g * bits + b]);
    }

    [Fact]
    public void RelaxedSimplexPointsMapToTheWeightedCornerAverage()
    {
        var point = Tensor<float>.FromArray([0.5f, 0.5f, 0f, 0f], 1, 1, 4);   // halfway between state 0 (-1,-1) and 1 (1,-1)
        Assert.Equal([0f, -1f], Corners.FromOneHot(point).ToArray());
        Assert.Equal([-1f, 0f, 1f], Corners.FromBits(Tensor<float>.FromArray([0f, 0.5f, 1f], 1, 3)).ToArray());
    }

    /// <summary>
    /// Every latent layer of an ancestral sample holds corners: each node's log2(n) units are ±1, and over the rows
    /// each node takes all n corners. In the top layer, node g is in state k (bit b of k → +1, else -1) with the
    /// probability softmax(prior logits of g)[k] of a prior set far from uniform. The observed layer holds bits.
    /// </summary>
    [Theory]
    [InlineData(4, "4H~8H~32V")]
    [InlineData(8, "6H-24H-32V")]
    public void NaryModelsSampleCornersInEveryLatentLayer(int arity, string specText)
    {
        const int rows = 4000;
        var spec = LayerSpec.Parse(specText);
        var model = new SigmoidBeliefNet(spec, new SbnOptions(), TestModels.Family("nvil", arity), new Rng(3));
        var priorLogits = model.TopPrior!.Span;
        for (int i = 0; i < priorLogits.Length; i++) priorLogits[i] = (i * 7 % 5) * 0.5f - 1;   // far from uniform, other states favoured at each node
        var layers = model.GenerateLayers(rows, new Rng(4));
        Assert.Equal(spec.Layers.Count, layers.Count);
        int bits = Corners.Bits(arity);
        for (int layer = 0; layer + 1 < layers.Count; layer++)
        {
            var values = layers[layer].ToArray();
            int units = spec.Layers[layer].Units, nodes = units / bits;
            Assert.Equal(new Shape(rows, units), layers[layer].Shape);
            Assert.All(values, v => Assert.True(v is 1f or -1f, $"layer {layer}: {v} is not a corner coordinate"));
            for (int node = 0; node < nodes; node++)
            {
                var counts = StateCounts(values, units, node, bits);
                Assert.True(counts.All(c => c > 0), $"layer {layer} node {node}: state counts {string.Join(", ", counts)}");
                if (layer == 0)
                {
                    var logits = model.TopPrior!.ToArray().AsSpan(node * arity, arity).ToArray();
                    double max = logits.Max(), z = logits.Sum(l => Math.Exp(l - max));
                    for (int k = 0; k < arity; k++)
                    {
                        double frequency = counts[k] / (double)rows, prior = Math.Exp(logits[k] - max) / z;
                        Assert.True(Math.Abs(frequency - prior) < 0.04, $"top layer node {node} state {k}: frequency {frequency:F4}, prior {prior:F4}");
                    }
                }
            }
        }
        Assert.Equal(new Shape(rows, 32), layers[^1].Shape);
        Assert.All(layers[^1].ToArray(), v => Assert.True(v is 0f or 1f));
        Assert.Equal(layers[^1].ToArray(), model.Generate(rows, new Rng(4)).ToArray());
        Assert.Throws<ArgumentException>(() => new SigmoidBeliefNet(LayerSpec.Parse("5H-32V"), new SbnOptions(), TestModels.Family("nvil", arity), new Rng(3)));
    }

    /// <summary>How often each state k (bit b of k → +1) occurs at one node of a corners layer [rows, units].</summary>
    static int[] StateCounts(float[] values, int units, int node, int bits)
    {
        var counts = new int[1 << bits];
        for (int r = 0; r < values.Length / units; r++)
        {
            int state = 0;
            for (int b = 0; b < bits; b++)
                if (values[r * units + node * bits + b] == 1f) state |= 1 << b;
            counts[state]++;
        }
        return counts;
    }
}
