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
    /// <param name="latents">K, the number of categorical latent variables</param>
    /// <param name="categories">n, categories per latent</param>
    /// <param name="features">observed binary features (784 for MNIST)</param>
    /// <param name="hiddenUnits">width of the encoder's and decoder's two tanh layers</param>
    public static SigmoidBeliefNet Create(int latents, int categories, int features, int hiddenUnits, bool gaussianParameters, int baselineUnits, Rng rng,
        ReadOnlySpan<float> baseRate = default)
    {
        if (latents < 1) throw new ArgumentOutOfRangeException(nameof(latents), $"discrete VAE: K (latent variables) must be ≥ 1, got {latents}.");
        if (categories < 2) throw new ArgumentOutOfRangeException(nameof(categories), $"discrete VAE: n (categories) must be ≥ 2, got {categories}.");
        var spec = LayerSpec.Parse($"{latents}H~{features}V");
        var options = new SbnOptions
        {
            Arity = categories, Encoding = NodeEncoding.OneHot, UniformPrior = true, HiddenUnits = hiddenUnits,
            GaussianParameters = gaussianParameters, BaselineUnits = baselineUnits,
        };
        return new SigmoidBeliefNet(spec, options, rng, baseRate);
    }
}
