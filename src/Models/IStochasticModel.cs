using Scg.Autodiff;
using Scg.Stochastic.Graph;

namespace Scg.Models;

/// <summary>
/// What the library's trainer, evaluation and checkpoints need of a model with stochastic nodes: its parameters, its
/// node families, and the log-weights log w = log p(x, z) − log q(z | x) of m samples per data row drawn through a
/// graph. <see cref="Sbn.SigmoidBeliefNet"/> is one implementation; a hand-written model is another.
/// </summary>
public interface IStochasticModel
{
    /// <summary>Features of one data row.</summary>
    int RowFeatures { get; }

    /// <summary>The families the model's nodes are drawn from (a model may mix them).</summary>
    IReadOnlyList<NodeFamily<float>> Families { get; }

    /// <summary>The parameters the objective trains, in a fixed order (checkpoints rely on it).</summary>
    IEnumerable<Tensor<float>> Parameters();

    /// <summary>The parameters of an input-dependent baseline b(x) (trained by its own loss); empty without one.</summary>
    IEnumerable<Tensor<float>> BaselineParameters() => [];

    /// <summary>An input-dependent baseline b(x) [rows] for NVIL, or null when the model has none.</summary>
    Tensor<float>? Baseline(Tensor<float> rows) => null;

    /// <summary>
    /// log w for <paramref name="samples"/> draws per row of <paramref name="rows"/> [rows, RowFeatures], shape
    /// [samples, rows] (sample-major: <see cref="Stochastic.Estimators.SampleMajor.Repeat{T}"/> lays inputs out so).
    /// The nodes are drawn through <paramref name="graph"/>; <paramref name="training"/> is false in evaluation.
    /// </summary>
    Tensor<float> LogWeights(StochasticGraph<float> graph, Tensor<float> rows, int samples, bool training);

    /// <summary>State besides the parameters that a checkpoint must keep (running statistics), as arrays updated in place.</summary>
    IReadOnlyList<float[]> State => [];
}
