using System.Numerics;
using Scg.Autodiff;

namespace Scg.Stochastic.Graph;

/// <summary>
/// One forward pass through a stochastic computation graph (Schulman et al. 2015). Each call to <see cref="Sample"/>
/// draws a layer of nodes of the family it is given, so one graph may mix families: some nodes relaxed (pathwise
/// gradients), others discrete with score-function gradients. A discrete graph (evaluation) draws every node from its
/// family's <see cref="NodeFamily{T}.Discrete"/> family instead. A graph serves one pass: build a new one per step, or
/// <see cref="Reset"/> it, which also reuses the node objects of the last pass.
/// </summary>
public sealed class StochasticGraph<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    Rng _rng;
    readonly List<Node<T>> _nodes = [];
    readonly List<Node<T>> _scoreNodes = [];
    Tensor<T>? _score;

    /// <param name="rng">the generator every node draws from, in the order of the calls</param>
    /// <param name="step">the training step, at which the families read their temperature schedules</param>
    /// <param name="discrete">true for the discrete graph of evaluation</param>
    public StochasticGraph(Rng rng, long step = 0, bool discrete = false)
    {
        _rng = rng ?? throw new ArgumentNullException(nameof(rng));
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        Step = step;
        IsDiscrete = discrete;
        _generation = Tape<T>.Current.Generation;
    }

    int _generation;

    /// <summary>
    /// Starts the next pass on this graph, drawing from <paramref name="rng"/> at training <paramref name="step"/>: the
    /// nodes, costs, probes and score of the last pass are dropped, and its node objects are reused for this one's, so
    /// a node of the last pass must not be read after this.
    /// </summary>
    public void Reset(Rng rng, long step)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        foreach (var node in _nodes) node.Release();
        _nodes.Clear();
        _scoreNodes.Clear();
        _costs.Clear();
        _probes.Clear();
        _score = null;
        (_rng, Step, _generation) = (rng, step, Tape<T>.Current.Generation);
    }

    /// <summary>The training step the temperature schedules are read at.</summary>
    public long Step { get; private set; }

    /// <summary>True when every node is drawn from its family's discrete family (evaluation).</summary>
    public bool IsDiscrete { get; }

    /// <summary>
    /// When set, every layer's value is drawn from a detached copy of its parameters that is a leaf requiring grad,
    /// kept in <see cref="Probes"/>, and its densities from another detached copy with the same noise. After a backward
    /// pass a probe's gradient is the loss's gradient with respect to the nodes' parameters through the drawn values
    /// alone, ∂loss/∂z̃ · ∂z̃/∂α: the gradient whose vanishing the IGR paper counts (its appendix A and Figure 4). The
    /// copies cut the gradient to the networks upstream, so such a graph is for diagnostics, not for training.
    /// </summary>
    public bool ProbesParameters { get; init; }

    readonly List<Tensor<T>> _probes = [];

    /// <summary>The parameter probes of the layers drawn so far (with <see cref="ProbesParameters"/>).</summary>
    public IReadOnlyList<Tensor<T>> Probes => _probes;

    /// <summary>The score-function nodes drawn so far, in order.</summary>
    public IReadOnlyList<Node<T>> ScoreNodes => _scoreNodes;

    /// <summary>Σ log q over the score-function nodes, per row; null when none was drawn.</summary>
    public Tensor<T>? Score => _score;

    readonly List<(Tensor<T> Cost, Node<T>[] Upstream)> _costs = [];

    /// <summary>The costs added with <see cref="AddCost"/>, each with the nodes it depends on.</summary>
    public IReadOnlyList<(Tensor<T> Cost, Node<T>[] Upstream)> Costs => _costs;

    /// <summary>
    /// Adds a cost [rows] (a term of the objective to maximize) that depends on the nodes <paramref name="upstream"/>
    /// (directly or through other nodes). A score-function node's score is weighted only by the costs that name it.
    /// Naming a node a cost does not depend on adds variance, never bias; leaving out one it depends on biases the gradient.
    /// </summary>
    public void AddCost(Tensor<T> cost, params Node<T>[] upstream)
    {
        ArgumentNullException.ThrowIfNull(cost);
        ArgumentNullException.ThrowIfNull(upstream);
        if (cost.Shape.Rank != 1)
            throw new ShapeMismatchException($"StochasticGraph.AddCost: a cost has one value per row, shape [rows]; got {cost.Shape}.");
        foreach (var node in upstream)
        {
            ArgumentNullException.ThrowIfNull(node, nameof(upstream));
            if (node.LogProb.Shape != cost.Shape)
                throw new ShapeMismatchException($"StochasticGraph.AddCost: the cost {cost.Shape} and its upstream {node.Family} nodes {node.LogProb.Shape} must have the same rows.");
        }
        _costs.Add((cost, upstream));
    }

    /// <summary>Draws a layer of nodes of <paramref name="family"/> (or, on a discrete graph, of its discrete family) from parameters [rows, width].</summary>
    public Node<T> Sample(NodeFamily<T> family, Tensor<T> parameters)
    {
        ArgumentNullException.ThrowIfNull(family);
        if (Tape<T>.Current.Generation != _generation)
            throw new InvalidOperationException(
                "StochasticGraph: this graph's pass has ended (a Backward or Clear ran since it was built); build a new StochasticGraph for every pass.");
        var drawn = IsDiscrete ? family.Discrete : family;
        if (drawn.Gradient == NodeGradient.None && !IsDiscrete && Autograd.IsRecording)
            throw new InvalidOperationException(
                $"StochasticGraph: {drawn} nodes have no gradient (their mass is a constant of the parameters); they belong on a discrete graph for evaluation, not in training.");
        Node<T> node;
        if (ProbesParameters)
        {
            var probe = parameters.Detach().AsParameter($"probe.{_probes.Count}");
            _probes.Add(probe);
            var values = drawn.Sample(probe, _rng.Copy(), Step);
            node = new ProbedNode(values, drawn.Sample(parameters.Detach(), _rng, Step));
        }
        else node = drawn.Sample(parameters, _rng, Step);
        _nodes.Add(node);
        if (drawn.Gradient == NodeGradient.ScoreFunction)
        {
            _scoreNodes.Add(node);
            _score = _score is null ? node.LogProb : _score + node.LogProb;
        }
        return node;
    }

    /// <summary>A probed layer: the value of one draw, the densities of its twin (the same noise, other parameters' copy).</summary>
    sealed class ProbedNode(Node<T> values, Node<T> densities) : Node<T>(values.Family, values.Value, densities.LogProb.Detach())
    {
        protected override Tensor<T> LogPriorOfRows(Tensor<T> priorParameters) => densities.LogPrior(priorParameters);

        protected override Tensor<T> KlToPriorOfRows(Tensor<T> priorParameters) => densities.KlToPrior(priorParameters)!;
    }
}
