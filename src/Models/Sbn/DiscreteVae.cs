using Scg.Autodiff;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>
/// A discrete VAE: K categorical latents of n categories (e.g. 30×10 as in the IGR paper, 2×10 as in the practical
/// report) with a uniform prior, an MLP encoder and a Bernoulli MLP decoder. It is the one-latent-layer case of
/// <see cref="SigmoidBeliefNet"/> with one-hot nodes ("KH~DV"), so every estimator and the discrete evaluation apply.
/// The scg program builds the same model from <c>--model KH~DV --arity n --encoding onehot --prior uniform</c>.
/// </summary>
public static class DiscreteVae
{
    /// <summary>The discrete VAE "KH~DV" of <paramref name="latents"/> one-hot latents and <paramref name="features"/> observed features.</summary>
    /// <param name="latents">K, the number of categorical latent variables</param>
    /// <param name="family">how the latents are drawn and differentiated; its layout must be one-hot</param>
    /// <param name="features">observed binary features (784 for MNIST)</param>
    /// <param name="hiddenUnits">width of the encoder's and decoder's two tanh layers</param>
    /// <param name="baselineUnits">hidden width of NVIL's baseline network, 0 for none</param>
    /// <param name="rng">the generator of the initial weights</param>
    /// <param name="baseRate">the mean of each feature over the training data, for the decoder's initial output biases (may be empty)</param>
    public static SigmoidBeliefNet Create(int latents, NodeFamily<float> family, int features, int hiddenUnits, int baselineUnits, Rng rng,
        ReadOnlySpan<float> baseRate = default)
    {
        ArgumentNullException.ThrowIfNull(family);
        if (latents < 1) throw new ArgumentOutOfRangeException(nameof(latents), $"discrete VAE: K (latent variables) must be ≥ 1, got {latents}.");
        if (family.Layout.Encoding != NodeEncoding.OneHot)
            throw new ArgumentException($"discrete VAE: the latents are one-hot categorical nodes; got {family}.", nameof(family));
        var spec = LayerSpec.Parse($"{latents}H~{features}V");
        var options = new SbnOptions { UniformPrior = true, HiddenUnits = hiddenUnits, BaselineUnits = baselineUnits };
        return new SigmoidBeliefNet(spec, options, family, rng, baseRate);
    }
}
