using System.Buffers;
using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Stochastic.Distributions;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>Options that shape a sigmoid belief network beyond its layer spec.</summary>
public sealed record SbnOptions
{
    /// <summary>A fixed uniform prior over the top latent layer instead of learned prior logits (IGR: μ0, σ0 fitted to it by Eq. 20).</summary>
    public bool UniformPrior { get; init; }
    /// <summary>Width of the two hidden layers of a bare '~' connection; 0 = the width of the preceding stochastic layer (appendix D.1).</summary>
    public int HiddenUnits { get; init; }
    /// <summary>The nonlinearity of every deterministic hidden layer: tanh (the Concrete paper) or ReLU (the IGR paper).</summary>
    public Activation Activation { get; init; } = Activation.Tanh;
    /// <summary>Hidden width of the NVIL baseline network (0 = none).</summary>
    public int BaselineUnits { get; init; }
    /// <summary>
    /// The relaxed bound's KL terms in closed form, log p(x|h) − Σ KL(q ‖ p) in place of log p(x, h) − log q(h | x),
    /// as the IGR paper trains (its Eq. 19). Needs a family with a closed-form KL (IGR) and one sample per data point;
    /// the discrete graph (evaluation) is unaffected.
    /// </summary>
    public bool AnalyticKl { get; init; }
    /// <summary>Decay of the inference-network input centering (appendix D.4).</summary>
    public double CenteringDecay { get; init; } = 0.9;
}

/// <summary>
/// A sigmoid belief network in the Concrete paper's notation (section 5, appendix D). For density estimation
/// (<c>200H~200H~784V</c>) a generative network p(h₁)p(h₂|h₁)…p(x|h) and an inference network q(h|x)… in reverse;
/// for structured prediction (<c>392V-240H-240H-392V</c>) the prior p(h|x_in) is also the sampling distribution.
/// </summary>
public sealed class SigmoidBeliefNet : IModule<float>, IStochasticModel
{
    readonly List<Mlp<float>> _generative = [];   // layer k → parameters of layer k+1
    readonly List<Mlp<float>> _inference = [];    // layer k+1 → parameters of layer k (density estimation, hidden k)
    readonly float[][] _centering;                // running means of the inference networks' inputs

    /// <summary>The layers and connections.</summary>
    public LayerSpec Spec { get; }
    /// <summary>The options the networks were built with.</summary>
    public SbnOptions Options { get; }
    /// <summary>The family every latent layer is drawn from (its layout sizes the networks).</summary>
    public NodeFamily<float> Family { get; }
    /// <inheritdoc/>
    public IReadOnlyList<NodeFamily<float>> Families => [Family];
    /// <summary>Parameters of the top latent layer's prior (density estimation; a constant when UniformPrior), else null.</summary>
    public Tensor<float>? TopPrior { get; }
    /// <summary>NVIL's input-dependent baseline b(x) of a whole data row (for structured prediction b(x_in, x_out)), or null.</summary>
    public Mlp<float>? Baseline { get; }

    int Layers => Spec.Layers.Count;
    /// <summary>Width of the model's input: x (density estimation) or x_in (structured prediction).</summary>
    public int InputFeatures => Spec.Layers[0].Visible ? Spec.Layers[0].Units : Spec.Layers[^1].Units;
    /// <summary>Width of the observed output layer.</summary>
    public int OutputFeatures => Spec.Layers[^1].Units;
    /// <summary>Features of one data row: x (density estimation) or [x_in | x_out] (structured prediction).</summary>
    public int RowFeatures => Spec.IsConditional ? Spec.Layers[0].Units + OutputFeatures : InputFeatures;

    /// <summary>A network of <paramref name="spec"/> whose latent layers are drawn from <paramref name="family"/>, with Glorot-initialized weights from <paramref name="rng"/>.</summary>
    /// <param name="spec">the layers and connections</param>
    /// <param name="options">the hidden widths, prior and baseline</param>
    /// <param name="family">the node family of every latent layer</param>
    /// <param name="rng">the generator of the initial weights</param>
    /// <param name="outputBaseRate">the mean of each output feature over the training data; when given, the output biases start at its logit (appendix D.3)</param>
    public SigmoidBeliefNet(LayerSpec spec, SbnOptions options, NodeFamily<float> family, Rng rng, ReadOnlySpan<float> outputBaseRate = default)
    {
        Spec = spec ?? throw new ArgumentNullException(nameof(spec));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        Family = family ?? throw new ArgumentNullException(nameof(family));
        foreach (var layer in spec.Layers.Where(l => !l.Visible)) family.ParameterWidth(layer.Units);   // validates arity and width
        if (options.AnalyticKl && (!family.HasClosedFormKl || spec.IsConditional))
            throw new ArgumentException($"SBN '{spec}': a closed-form KL needs a density model whose nodes have one (IGR); got {family} nodes{(spec.IsConditional ? " in a conditional model" : "")}.", nameof(options));

        if (!spec.IsConditional)
            TopPrior = options.UniformPrior ? UniformPriorParameters(spec.Layers[0].Units) : Tensor<float>.Zeros(Width(spec.Layers[0])).AsParameter("prior.top");
        foreach (var (name, generative, sizes) in Networks(spec, options, family))
            (generative ? _generative : _inference).Add(new Mlp<float>(rng, sizes.Select(s => checked((int)s)).ToArray(), options.Activation, name));
        _centering = _inference.Select(n => new float[n.Layers[0].In]).ToArray();

        if (!outputBaseRate.IsEmpty)
        {
            if (outputBaseRate.Length != OutputFeatures)
                throw new ArgumentException($"SBN '{spec}': base rate has {outputBaseRate.Length} features, the output layer {OutputFeatures}.", nameof(outputBaseRate));
            var bias = _generative[^1].Layers[^1].Bias!.Span;
            for (int i = 0; i < bias.Length; i++)
            {
                double p = Math.Clamp(outputBaseRate[i], 1e-3, 1 - 1e-3);
                bias[i] = (float)Math.Log(p / (1 - p));   // appendix D.3
            }
        }
        if (options.BaselineUnits > 0)
            Baseline = new Mlp<float>(rng, [RowFeatures, options.BaselineUnits, 1], Activation.Tanh, "baseline");
    }

    /// <summary>Number of parameters a layer's distribution takes.</summary>
    int Width(StochasticLayer layer) => checked((int)Width(layer, Family));

    /// <summary>Number of parameters a layer's distribution takes (64-bit: the layer may be too wide to build).</summary>
    internal static long Width(StochasticLayer layer, NodeFamily<float> family) => layer.Visible ? layer.Units : family.ParameterWidth(layer.Units);

    /// <summary>Width of the value a layer passes to the next.</summary>
    internal static long ValueWidth(StochasticLayer layer, NodeFamily<float> family) => layer.Visible ? layer.Units : family.Layout.ValueWidth(layer.Units);

    /// <summary>
    /// The widths, input to output, of every network the model builds, in the order it builds them: the generative
    /// networks p.k (layer k → parameters of layer k+1), then for a density model the inference networks q.k (layer
    /// k+1 → parameters of layer k), whose hidden widths mirror the generative ones. A bare '~' connection has two
    /// hidden layers of <see cref="SbnOptions.HiddenUnits"/> (0 = the input's width). 64-bit, so that a model too large
    /// to build can still be sized.
    /// </summary>
    internal static IEnumerable<(string Name, bool Generative, long[] Sizes)> Networks(LayerSpec spec, SbnOptions options, NodeFamily<float> family)
    {
        long[] Hidden(int k, long inUnits)
        {
            if (spec.Connections[k] == Connection.Linear) return [];
            if (spec.HiddenWidths[k].Count > 0) return [.. spec.HiddenWidths[k].Select(w => (long)w)];
            long width = options.HiddenUnits > 0 ? options.HiddenUnits : inUnits;
            return [width, width];
        }
        var layers = spec.Layers;
        for (int k = 0; k + 1 < layers.Count; k++)
            yield return ($"p.{k}", true, [ValueWidth(layers[k], family), .. Hidden(k, ValueWidth(layers[k], family)), Width(layers[k + 1], family)]);
        if (spec.IsConditional) yield break;
        for (int k = 0; k + 1 < layers.Count; k++)
            yield return ($"q.{k}", false, [ValueWidth(layers[k + 1], family), .. Hidden(k, ValueWidth(layers[k + 1], family)).Reverse(), Width(layers[k], family)]);
    }

    /// <summary>
    /// Constant prior parameters of a uniform distribution over each top node, from the family: zero logits, or for IGR
    /// the (μ0, log σ0) fitted to it by moment matching (IGR Eq. 20). A model rebuilt from a checkpoint gets the same ones.
    /// </summary>
    Tensor<float> UniformPriorParameters(int units) => Family.UniformPriorParameters(units);

    /// <inheritdoc cref="IStochasticModel.Parameters"/>
    public IEnumerable<Tensor<float>> Parameters()
    {
        if (TopPrior is { RequiresGrad: true }) yield return TopPrior;
        foreach (var p in _generative.Concat(_inference).SelectMany(n => n.Parameters())) yield return p;
    }

    /// <summary>The baseline network's parameters (trained by its own loss), empty without one.</summary>
    public IEnumerable<Tensor<float>> BaselineParameters() => Baseline?.Parameters() ?? [];

    /// <summary>Running means used to center the inference networks' inputs (for checkpoints).</summary>
    public IReadOnlyList<float[]> Centering => _centering;

    IReadOnlyList<float[]> IStochasticModel.State => _centering;

    /// <summary>NVIL's b(x) [rows] of data rows, or null without a baseline network.</summary>
    public Tensor<float>? BaselineOf(Tensor<float> rows) => Baseline?.Forward(rows).Reshape(rows.Shape[0]);

    Tensor<float>? IStochasticModel.Baseline(Tensor<float> rows) => BaselineOf(rows);

    Tensor<float> IStochasticModel.LogWeights(StochasticGraph<float> graph, Tensor<float> rows, int samples, bool training) =>
        LogWeights(graph, rows, training, samples).Reshape(samples, rows.Shape[0]);

    /// <summary>
    /// log w = log p(x, h) - log q(h | x) for <paramref name="samples"/> draws of h per row of data [rows, features]
    /// (density estimation), or log p(x_out | h) with h ~ p(h | x_in) (structured prediction, where the data row is
    /// [x_in | x_out]); shape [samples · rows], sample-major. The first network, which sees only the data, runs once
    /// per row and its output is shared by the samples. Latent nodes are drawn through <paramref name="graph"/>. When
    /// <paramref name="updateCentering"/> the running means move towards this batch (training only).
    /// </summary>
    public Tensor<float> LogWeights(StochasticGraph<float> graph, Tensor<float> data, bool updateCentering, int samples = 1)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), $"SBN '{Spec}': samples per row must be ≥ 1, got {samples}.");
        return Spec.IsConditional ? ConditionalLogWeights(graph, data, samples) : DensityLogWeights(graph, data, updateCentering, samples);
    }

    Tensor<float> DensityLogWeights(StochasticGraph<float> graph, Tensor<float> x, bool updateCentering, int samples)
    {
        int hidden = Layers - 1;
        var rented = ArrayPool<Node<float>>.Shared.Rent(hidden);
        try { return DensityLogWeights(graph, x, updateCentering, samples, rented.AsSpan(0, hidden)); }
        finally
        {
            Array.Clear(rented);
            ArrayPool<Node<float>>.Shared.Return(rented);
        }
    }

    /// <summary><see cref="DensityLogWeights(StochasticGraph{float}, Tensor{float}, bool, int)"/> with room for a node per hidden layer.</summary>
    Tensor<float> DensityLogWeights(StochasticGraph<float> graph, Tensor<float> x, bool updateCentering, int samples, Span<Node<float>> nodes)
    {
        int hidden = nodes.Length;
        var input = x;
        Tensor<float>? logQ = null;
        for (int k = hidden - 1; k >= 0; k--)
        {
            var parameters = _inference[k].Forward(Center(k, input, updateCentering));
            if (k == hidden - 1) parameters = SampleMajor.Repeat(parameters, samples);
            nodes[k] = graph.Sample(Family, parameters);
            logQ = logQ is null ? nodes[k].LogProb : logQ + nodes[k].LogProb;
            input = nodes[k].Value;
        }
        if (Options.AnalyticKl && !graph.IsDiscrete) return AnalyticKlLogWeights(nodes, x, samples);
        var logP = nodes[0].LogPrior(TopPrior!);
        for (int k = 1; k < hidden; k++)
            logP = logP + nodes[k].LogPrior(_generative[k - 1].Forward(nodes[k - 1].Value));
        logP = logP + Ops.BernoulliLogLikelihoodSum(_generative[^1].Forward(nodes[^1].Value), x);
        return logP - logQ!;
    }

    /// <summary>log p(x | h) − Σ_k KL(q(h_k | ·) ‖ p(h_k | h_(k−1))), the KLs in closed form (<see cref="SbnOptions.AnalyticKl"/>).</summary>
    Tensor<float> AnalyticKlLogWeights(ReadOnlySpan<Node<float>> nodes, Tensor<float> x, int samples)
    {
        if (samples != 1)
            throw new ArgumentOutOfRangeException(nameof(samples), $"SBN '{Spec}': with a closed-form KL the bound takes one sample per data point, got {samples}.");
        var kl = nodes[0].KlToPrior(TopPrior!)!;
        for (int k = 1; k < nodes.Length; k++) kl = kl + nodes[k].KlToPrior(_generative[k - 1].Forward(nodes[k - 1].Value))!;
        return Ops.BernoulliLogLikelihoodSum(_generative[^1].Forward(nodes[^1].Value), x) - kl;
    }

    Tensor<float> ConditionalLogWeights(StochasticGraph<float> graph, Tensor<float> data, int samples)
    {
        int inF = Spec.Layers[0].Units, outF = OutputFeatures;
        if (data.Shape.Last != inF + outF)
            throw new ArgumentException($"SBN '{Spec}': structured-prediction rows need {inF} context + {outF} output features, got {data.Shape.Last}.", nameof(data));
        var context = data.Narrow(1, 0, inF);
        var target = data.Narrow(1, inF, outF);
        var value = context;
        for (int k = 0; k + 2 < Layers; k++)
        {
            var parameters = _generative[k].Forward(value);
            if (k == 0) parameters = SampleMajor.Repeat(parameters, samples);
            value = graph.Sample(Family, parameters).Value;
        }
        if (Layers == 2) value = SampleMajor.Repeat(value, samples);
        return Ops.BernoulliLogLikelihoodSum(_generative[^1].Forward(value), target);
    }

    /// <summary>
    /// Ancestral samples of a density model's observed layer [rows, features]: every layer drawn discretely from the
    /// generative network, top to bottom (<paramref name="step"/>: the training step, for the families' temperature schedules).
    /// </summary>
    public Tensor<float> Generate(int rows, Rng rng, long step = 0) => GenerateLayers(rows, rng, step)[^1];

    /// <summary>
    /// The values of every layer of one ancestral sample of a density model, top to bottom: each latent layer
    /// [rows, units] as its nodes' encoding gives it (corners, one-hot vectors), then the observed layer [rows, features].
    /// </summary>
    public IReadOnlyList<Tensor<float>> GenerateLayers(int rows, Rng rng, long step = 0)
    {
        if (Spec.IsConditional) throw new InvalidOperationException($"SBN '{Spec}' is conditional; Generate needs a density model.");
        using var noGrad = Autograd.NoGrad();
        var graph = new StochasticGraph<float>(rng, step, discrete: true);
        var layers = new List<Tensor<float>>(Layers)
        {
            graph.Sample(Family, TopPrior!.Reshape(1, -1).Expand(new Shape(rows, TopPrior!.Size))).Value,
        };
        for (int k = 0; k + 2 < Layers; k++) layers.Add(graph.Sample(Family, _generative[k].Forward(layers[^1])).Value);
        layers.Add(new Bernoulli<float>(_generative[^1].Forward(layers[^1])).Sample(rng));
        return layers;
    }


    /// <summary>Logits of stochastic layer k+1 given the values of layer k (the generative network k).</summary>
    public Tensor<float> GenerativeLogits(int k, Tensor<float> values) => _generative[k].Forward(values);

    /// <summary>
    /// Parameters of q(layer k | layer k+1) given the values of layer k+1 (inference network k of a density model; the
    /// input is centered by the running means, which do not move).
    /// </summary>
    public Tensor<float> InferenceParameters(int k, Tensor<float> values) => _inference[k].Forward(Center(k, values, update: false));

    /// <summary>x - running mean (no gradient flows into the offset); the mean moves with decay 0.9 before it is applied (D.4).</summary>
    Tensor<float> Center(int k, Tensor<float> input, bool update)
    {
        var mean = _centering[k];
        if (update)
        {
            int rows = input.Shape[0], n = mean.Length;
            var sums = Scg.Autodiff.Kernels.Scratch<float>.First(n);
            Scg.Autodiff.Kernels.Reduce.Sum<float>(input.Span, sums, 1, rows, n);
            float decay = (float)Options.CenteringDecay;
            for (int j = 0; j < n; j++) mean[j] = decay * mean[j] + (1 - decay) * sums[j] / rows;
        }
        var offset = Tensor<float>.Uninitialized(new Shape(mean.Length));
        mean.CopyTo(offset.Span);
        return input - offset;
    }
}
