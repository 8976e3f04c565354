using Scg.Autodiff;
using Scg.Models.Sbn;
using Scg.Stochastic.Graph;

namespace Scg.Models.Tests;

/// <summary>
/// LogWeights with m samples per row runs the first network once per row and shares its output. Against the same
/// model fed the rows repeated m times, with the same draws: the log-weights are the same bits (each row's products
/// and maps are computed alike), and the gradients agree to rounding (the sum over the m samples is taken in another order).
/// </summary>
public class SharedEncoderTests
{
    const int Rows = 6, Samples = 5;

    static (float[] LogWeights, float[] Gradient) Run(string spec, string estimator, bool shared)
    {
        var layerSpec = LayerSpec.Parse(spec);
        int features = layerSpec.IsConditional ? layerSpec.Layers[0].Units + layerSpec.Layers[^1].Units : layerSpec.Layers[^1].Units;
        var model = new SigmoidBeliefNet(layerSpec, new SbnOptions(), TestModels.Family(estimator), new Rng(3));
        var rng = new Rng(11);
        var x = new float[Rows * features];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() < 0.3f ? 1f : 0f;
        var data = Tensor<float>.FromArray(x, Rows, features);
        var graph = new StochasticGraph<float>(new Rng(5));
        var repeated = data.Reshape(1, Rows, features).Expand(new Shape(Samples, Rows, features)).Reshape(Samples * Rows, features);
        var logW = shared ? model.LogWeights(graph, data, updateCentering: false, Samples) : model.LogWeights(graph, repeated, updateCentering: false);
        var values = logW.Span.ToArray();
        foreach (var p in model.Parameters()) p.ZeroGrad();
        logW.Sum().Backward();
        return (values, model.Parameters().SelectMany(p => p.Grad is null ? new float[p.Size] : p.Grad.Span.ToArray()).ToArray());
    }

    [Theory]
    [InlineData("4H~8H~16V", "concrete")]
    [InlineData("4H~8H~16V", "nvil")]
    [InlineData("8V-4H-4H-8V", "concrete")]
    public void SharedFirstNetworkMatchesRepeatedRows(string spec, string estimator)
    {
        var shared = Run(spec, estimator, shared: true);
        var repeated = Run(spec, estimator, shared: false);
        Assert.Equal(repeated.LogWeights.Select(BitConverter.SingleToInt32Bits), shared.LogWeights.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(repeated.Gradient.Length, shared.Gradient.Length);
        double scale = repeated.Gradient.Max(Math.Abs);
        Assert.True(scale > 0, "the gradient is zero: nothing is checked");
        for (int i = 0; i < shared.Gradient.Length; i++)
            Assert.True(Math.Abs(shared.Gradient[i] - repeated.Gradient[i]) <= 1e-5 * scale, $"gradient {i}: shared {shared.Gradient[i]}, repeated {repeated.Gradient[i]}");
    }
}
