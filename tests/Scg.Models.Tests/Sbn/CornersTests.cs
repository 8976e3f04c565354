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

    [Theory]
    [InlineData(4, "4H~8H~32V")]
    [InlineData(8, "6H-24H-32V")]
    public void NaryModelsSampleCornersInEveryLatentLayer(int arity, string specText)
    {
        var model = new SigmoidBeliefNet(LayerSpec.Parse(specText), new SbnOptions { Arity = arity }, new Rng(3));
        var samples = model.Generate(16, new Rng(4));
        Assert.Equal(new Shape(16, 32), samples.Shape);
        Assert.All(samples.ToArray(), v => Assert.True(v is 0f or 1f));
        Assert.Throws<ArgumentException>(() => new SigmoidBeliefNet(LayerSpec.Parse("5H-32V"), new SbnOptions { Arity = arity }, new Rng(3)));
    }
}
