using Scg.Autodiff;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>The mean images a model gives for data rows, drawn on the discrete graph (the pictures of reconstructions.png).</summary>
public static class Reconstruction
{
    /// <summary>
    /// Mean images for <paramref name="rows"/> [n × <see cref="SigmoidBeliefNet.RowFeatures"/>], values in [0, 1]:
    /// <list type="bullet">
    /// <item>a density model: sigmoid(logits of p(x | h)) with h ~ q(h | x), the latent layer next to x, drawn discretely;</item>
    /// <item>a conditional model: [x_in | sigmoid(logits of p(x_out | h))] with h ~ p(h | x_in) drawn layer by layer.</item>
    /// </list>
    /// Returns n × RowFeatures values; the same rows and generator state give the same values (<paramref name="step"/>:
    /// the training step, for the family's temperature schedules).
    /// </summary>
    public static float[] Means(SigmoidBeliefNet model, ReadOnlySpan<float> rows, Rng rng, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(rng);
        int features = model.RowFeatures;
        if (rows.IsEmpty || rows.Length % features != 0)
            throw new ArgumentException($"reconstruction: {rows.Length} values are not whole rows of the {features} features model '{model.Spec}' reads.", nameof(rows));
        int n = rows.Length / features, last = model.Spec.Layers.Count - 2;   // the latent layer next to the output
        using var noGrad = Autograd.NoGrad();
        var graph = new StochasticGraph<float>(rng, step, discrete: true);
        var x = Tensor<float>.FromArray(rows, n, features);
        if (!model.Spec.IsConditional)
        {
            var h = graph.Sample(model.Family, model.InferenceParameters(last, x)).Value;
            return model.GenerativeLogits(last, h).Sigmoid().ToArray();
        }
        int inF = model.Spec.Layers[0].Units, outF = model.OutputFeatures;
        var value = x.Narrow(1, 0, inF);
        for (int k = 0; k < last; k++) value = graph.Sample(model.Family, model.GenerativeLogits(k, value)).Value;
        var predicted = model.GenerativeLogits(last, value).Sigmoid().ToArray();
        var stitched = rows.ToArray();
        for (int r = 0; r < n; r++) predicted.AsSpan(r * outF, outF).CopyTo(stitched.AsSpan(r * features + inF, outF));
        return stitched;
    }
}
