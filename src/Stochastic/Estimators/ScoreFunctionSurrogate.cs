using System.Numerics;
using Scg.Autodiff;
using Scg.Stochastic.Graph;

namespace Scg.Stochastic.Estimators;

/// <summary>
/// The surrogate of a general stochastic computation graph (Schulman et al. 2015, Eq. 7) from the costs added with
/// <see cref="StochasticGraph{T}.AddCost"/>: Σ_c c + Σ_n (log q_n · ℓ_n − StopGradient(log q_n · ℓ_n)) over the
/// score-function nodes n, with ℓ_n = StopGradient(Σ of the costs downstream of n − b_n). Pathwise nodes get their
/// gradient through the costs themselves; a score-function node's score multiplies only the costs that depend on it.
/// Its value is the objective Σ_c c, averaged over rows.
/// </summary>
public static class ScoreFunctionSurrogate
{
    /// <param name="graph">the pass, with its costs added</param>
    /// <param name="baselines">an optional baseline b_n [rows] per score-function node; a baseline that requires grad is trained by squared error on its node's signal</param>
    public static Surrogate<T> Build<T>(StochasticGraph<T> graph, IReadOnlyDictionary<Node<T>, Tensor<T>>? baselines = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (graph.Costs.Count == 0)
            throw new InvalidOperationException("ScoreFunctionSurrogate: the graph has no costs; add the objective's terms with AddCost.");
        Tensor<T>? total = null;
        foreach (var (cost, _) in graph.Costs) total = total is null ? cost : total + cost;
        var surrogate = total!;
        Tensor<T>? baselineLoss = null;
        foreach (var node in graph.ScoreNodes)
        {
            Tensor<T>? downstream = null;
            foreach (var (cost, upstream) in graph.Costs)
                if (Array.IndexOf(upstream, node) >= 0) downstream = downstream is null ? cost.Detach() : downstream + cost.Detach();
            if (downstream is null) continue;   // no cost depends on this node: its score has no weight
            var signal = downstream;
            if (baselines is not null && baselines.TryGetValue(node, out var b))
            {
                if (b.Shape != signal.Shape)
                    throw new ShapeMismatchException($"ScoreFunctionSurrogate: the baseline {b.Shape} of {node.Family} nodes must have their rows {signal.Shape}.");
                if (b.RequiresGrad)
                {
                    var loss = (signal - b).Square().Mean();
                    baselineLoss = baselineLoss is null ? loss : baselineLoss + loss;
                }
                signal = signal - b.Detach();
            }
            var scoreTerm = node.LogProb * signal;
            surrogate = surrogate + scoreTerm - scoreTerm.StopGradient();
        }
        var objective = total!.Mean();
        return new Surrogate<T>(objective, -surrogate.Mean(), baselineLoss);
    }
}
