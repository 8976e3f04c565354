using System.Globalization;

namespace Scg.Models.Sbn;

/// <summary>How one stochastic layer conditions the next.</summary>
public enum Connection
{
    /// <summary>'-': one linear layer.</summary>
    Linear,
    /// <summary>'~': deterministic hidden layers (two of <see cref="SbnOptions.HiddenUnits"/> units, or the widths written between the tildes), then a linear one.</summary>
    Nonlinear,
}

/// <summary>A stochastic layer: its width and whether it is observed (V) or latent (H).</summary>
/// <param name="Units">the layer's width</param>
/// <param name="Visible">true for an observed layer</param>
public readonly record struct StochasticLayer(int Units, bool Visible)
{
    /// <summary>The layer in spec notation, e.g. <c>200H</c>.</summary>
    public override string ToString() => $"{Units}{(Visible ? 'V' : 'H')}";
}

/// <summary>
/// A model description in the Concrete paper's notation, read left to right in sampling order, e.g.
/// <c>200H~200H~784V</c> (density estimation) or <c>392V-240H-240H-392V</c> (structured prediction). A '~' connection
/// may name its deterministic hidden layers' widths in the generative direction: <c>30H~256~512~784V</c> maps the latent
/// layer through 256 and then 512 units to the pixels' logits, and its inference network mirrors it (784 → 512 → 256).
/// </summary>
/// <param name="Layers">the stochastic layers, in sampling order</param>
/// <param name="Connections">the connection from each layer to the next (one fewer than the layers)</param>
/// <param name="Text">the spec as written, trimmed</param>
public sealed record LayerSpec(IReadOnlyList<StochasticLayer> Layers, IReadOnlyList<Connection> Connections, string Text)
{
    /// <summary>
    /// Per connection, the widths of its deterministic hidden layers in the generative direction as the text names
    /// them; empty for a linear connection and for a bare '~' (whose widths come from <see cref="SbnOptions.HiddenUnits"/>).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<int>> HiddenWidths { get; init; } = [.. Connections.Select(_ => (IReadOnlyList<int>)[])];

    /// <summary>True when the leftmost layer is observed: a conditional model p(x_out | x_in) (structured prediction).</summary>
    public bool IsConditional => Layers[0].Visible;

    /// <summary>Reads a spec such as <c>200H~200H~784V</c>; throws <see cref="FormatException"/> naming what is wrong.</summary>
    public static LayerSpec Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new FormatException("layer spec: expected something like 200H~200H~784V, got an empty string.");
        var layers = new List<StochasticLayer>();
        var connections = new List<Connection>();
        var widths = new List<IReadOnlyList<int>>();
        int i = 0;
        string s = text.Trim();
        while (true)
        {
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            if (i == start || i >= s.Length || (s[i] != 'H' && s[i] != 'V'))
                throw new FormatException($"layer spec '{text}': expected a layer like 200H or 784V at position {start + 1}.");
            if (!int.TryParse(s.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out int units) || units <= 0)
                throw new FormatException($"layer spec '{text}': layer width at position {start + 1} must be a positive integer.");
            layers.Add(new StochasticLayer(units, s[i] == 'V'));
            i++;
            if (i == s.Length) break;
            connections.Add(s[i] switch
            {
                '-' => Connection.Linear,
                '~' => Connection.Nonlinear,
                _ => throw new FormatException($"layer spec '{text}': expected '-' (linear) or '~' (nonlinear) at position {i + 1}, got '{s[i]}'."),
            });
            var hidden = new List<int>();
            i++;
            // "~256~512~": widths of deterministic layers, each a number followed by another '~'
            while (connections[^1] == Connection.Nonlinear)
            {
                int at = i;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                if (i == at || i >= s.Length || s[i] != '~') { i = at; break; }
                if (!int.TryParse(s.AsSpan(at, i - at), NumberStyles.None, CultureInfo.InvariantCulture, out int width) || width <= 0)
                    throw new FormatException($"layer spec '{text}': hidden width at position {at + 1} must be a positive integer.");
                hidden.Add(width);
                i++;
            }
            widths.Add(hidden);
        }
        if (layers.Count < 2)
            throw new FormatException($"layer spec '{text}': needs at least two layers, e.g. 200H-784V.");
        if (!layers[^1].Visible)
            throw new FormatException($"layer spec '{text}': the last layer must be observed (V), e.g. 784V.");
        if (layers.Skip(1).SkipLast(1).Any(l => l.Visible))
            throw new FormatException($"layer spec '{text}': only the first and last layers may be observed (V).");
        if (!layers.Any(l => !l.Visible))
            throw new FormatException($"layer spec '{text}': needs at least one latent (H) layer.");
        return new LayerSpec(layers, connections, s) { HiddenWidths = widths };
    }

    /// <summary>The spec as written (<see cref="Text"/>).</summary>
    public override string ToString() => Text;
}
