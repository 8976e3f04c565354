using Scg.Models.Sbn;

namespace Scg.Models.Tests;

public class LayerSpecTests
{
    [Fact]
    public void ParsesDensityModelsLeftToRight()
    {
        var spec = LayerSpec.Parse("200H~200H~784V");
        Assert.Equal([new StochasticLayer(200, false), new StochasticLayer(200, false), new StochasticLayer(784, true)], spec.Layers);
        Assert.Equal([Connection.Nonlinear, Connection.Nonlinear], spec.Connections);
        Assert.False(spec.IsConditional);
        Assert.Equal("200H~200H~784V", spec.ToString());

        var linear = LayerSpec.Parse("200H-784V");
        Assert.Equal([Connection.Linear], linear.Connections);
        Assert.Equal(2, linear.Layers.Count);
    }

    [Fact]
    public void ParsesStructuredPredictionModelsAsConditional()
    {
        var spec = LayerSpec.Parse("392V-240H-240H-392V");
        Assert.True(spec.IsConditional);
        Assert.Equal([392, 240, 240, 392], spec.Layers.Select(l => l.Units));
        Assert.Equal([true, false, false, true], spec.Layers.Select(l => l.Visible));
        Assert.All(spec.Connections, c => Assert.Equal(Connection.Linear, c));
    }

    [Fact]
    public void MixedConnectionsAndSurroundingSpaceAreAccepted()
    {
        var spec = LayerSpec.Parse("  8H-4H~32V ");
        Assert.Equal([Connection.Linear, Connection.Nonlinear], spec.Connections);
        Assert.Equal("8H-4H~32V", spec.Text);
    }

    [Fact]
    public void WidthsBetweenTildesNameTheHiddenLayersInTheGenerativeDirection()
    {
        var spec = LayerSpec.Parse("30H~256~512~784V");
        Assert.Equal([new StochasticLayer(30, false), new StochasticLayer(784, true)], spec.Layers);
        Assert.Equal([Connection.Nonlinear], spec.Connections);
        Assert.Equal([256, 512], spec.HiddenWidths[0]);
        Assert.Equal("30H~256~512~784V", spec.Text);

        var mixed = LayerSpec.Parse("8H~16~4H-4H~32V");
        Assert.Equal([8, 4, 4, 32], mixed.Layers.Select(l => l.Units));
        Assert.Equal([Connection.Nonlinear, Connection.Linear, Connection.Nonlinear], mixed.Connections);
        Assert.Equal([[16], [], []], mixed.HiddenWidths.Select(w => w.ToArray()));
        Assert.All(LayerSpec.Parse("200H~200H~784V").HiddenWidths, w => Assert.Empty(w));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("30H~0~784V", "hidden width at position 5 must be a positive integer")]
    [InlineData("30H~256~", "expected a layer like 200H or 784V at position 9")]
    [InlineData("30H-256~784V", "expected a layer like 200H or 784V at position 5")]
    [InlineData("   ", "empty")]
    [InlineData("200X-784V", "expected a layer like 200H or 784V at position 1")]
    [InlineData("H-784V", "position 1")]
    [InlineData("200H-784", "position 6")]
    [InlineData("200H+784V", "expected '-' (linear) or '~' (nonlinear) at position 5, got '+'")]
    [InlineData("200H-", "position 6")]
    [InlineData("0H-784V", "must be a positive integer")]
    [InlineData("99999999999H-784V", "must be a positive integer")]
    [InlineData("784V", "needs at least two layers")]
    [InlineData("200H-200H", "the last layer must be observed (V)")]
    [InlineData("200H-300V-784V", "only the first and last layers may be observed")]
    [InlineData("392V-392V", "needs at least one latent (H) layer")]
    public void MalformedSpecsSayWhatIsWrong(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => LayerSpec.Parse(text));
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
