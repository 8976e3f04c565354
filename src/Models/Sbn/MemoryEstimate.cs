using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>
/// The memory a sigmoid belief network needs, from its spec alone (a model too large to build can be sized): its
/// parameters, and the values one sample row keeps alive in a training step or an evaluation. Counts are doubles, as
/// they may exceed 64 bits for absurd specs.
/// </summary>
public sealed record MemoryEstimate
{
    /// <summary>
    /// Bytes a training step keeps per activation unit of a sample row: forward values and their gradients in the step
    /// arena. The allocations of a first step came to 1.8 to 7.3 floats per unit on models from 200H-784V to 8H~32V with
    /// 256-way one-hot nodes, under every estimator; <c>MemoryEstimateTests</c> keeps this above what is measured.
    /// </summary>
    public const double TrainingBytesPerUnit = 10 * sizeof(float);

    /// <summary>Bytes an evaluation on the discrete graph keeps per activation unit of a row in flight (measured: 0.9 to 4.0 floats).</summary>
    public const double EvaluationBytesPerUnit = 6 * sizeof(float);

    /// <summary>Trainable parameters: model, and NVIL's baseline network when it has one.</summary>
    public required double Parameters { get; init; }

    /// <summary>
    /// Activation units of one sample row: the outputs of every layer of every network (a tanh layer counts its
    /// linear output and its tanh), each latent layer's parameters and values, and the data row in and out.
    /// </summary>
    public required double UnitsPerRow { get; init; }

    /// <summary>The estimate for a model of <paramref name="spec"/> and <paramref name="options"/> with latent nodes of <paramref name="family"/>.</summary>
    public static MemoryEstimate Of(LayerSpec spec, SbnOptions options, NodeFamily<float> family)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(family);
        double parameters = 0, units = 0;
        foreach (var (_, _, sizes) in SigmoidBeliefNet.Networks(spec, options, family))
            for (int i = 1; i < sizes.Length; i++)
            {
                parameters += ((double)sizes[i - 1] + 1) * sizes[i];
                units += (i < sizes.Length - 1 ? 2.0 : 1.0) * sizes[i];
            }
        foreach (var layer in spec.Layers.Where(l => !l.Visible))
            units += SigmoidBeliefNet.Width(layer, family) + (double)SigmoidBeliefNet.ValueWidth(layer, family);
        double rowFeatures = spec.IsConditional ? spec.Layers[0].Units + spec.Layers[^1].Units : spec.Layers[^1].Units;
        units += 2 * rowFeatures;
        if (!spec.IsConditional && !options.UniformPrior) parameters += SigmoidBeliefNet.Width(spec.Layers[0], family);
        if (options.BaselineUnits > 0) parameters += (rowFeatures + 1) * options.BaselineUnits + options.BaselineUnits + 1;
        return new MemoryEstimate { Parameters = parameters, UnitsPerRow = units };
    }

    /// <summary>Bytes of the parameters with their gradients and Adam's two moments (float32 each).</summary>
    public double TrainingStateBytes => 4 * sizeof(float) * Parameters;

    /// <summary>Bytes of the parameters alone (a model evaluated, not trained).</summary>
    public double ParameterBytes => sizeof(float) * Parameters;

    /// <summary>Bytes one training step of <paramref name="batchSize"/> rows × <paramref name="samples"/> keeps.</summary>
    public double TrainingStepBytes(int batchSize, int samples) => TrainingBytesPerUnit * UnitsPerRow * batchSize * samples;

    /// <summary>Bytes an evaluation keeps with <paramref name="rows"/> rows × samples in flight.</summary>
    public double EvaluationBytes(int rows) => EvaluationBytesPerUnit * UnitsPerRow * rows;

    /// <summary>
    /// Rows × samples an evaluation may hold at once within <paramref name="budgetBytes"/>: at most
    /// <see cref="Evaluation.DefaultMaxRows"/> (the chunking every evaluation uses when memory allows), at least 1.
    /// </summary>
    public int EvaluationRows(double budgetBytes) =>
        (int)Math.Clamp(Math.Floor(budgetBytes / EvaluationBytes(1)), 1, Evaluation.DefaultMaxRows);
}
