using System.Numerics;
using Scg.Autodiff;
using Scg.Autodiff.Kernels;
using Scg.Stochastic.Distributions;

namespace Scg.Stochastic.Graph;

/// <summary>How a node's gradient reaches its parameters.</summary>
public enum NodeGradient
{
    /// <summary>Through the sampled value itself: a reparameterized (relaxed) or straight-through node.</summary>
    Pathwise,
    /// <summary>Through the score ∇ log q of a discrete draw, which a score-function estimator weights by the downstream cost.</summary>
    ScoreFunction,
    /// <summary>None: a discrete node for evaluation whose log-mass is not a differentiable function of its parameters.</summary>
    None,
}

/// <summary>What a relaxed categorical node passes downstream.</summary>
public enum RelaxedOutput
{
    /// <summary>The point on the simplex (exp of the ExpConcrete draw; IGR's softmax++), as the Concrete paper does; its zero-temperature limit is the one-hot state the discrete graph feeds.</summary>
    Simplex,
    /// <summary>
    /// The point's logarithm (the ExpConcrete draw itself; IGR's log-softmax++), as the IGR paper's code feeds its
    /// decoder. It has no discrete counterpart, so the model evaluated is the relaxed one (<see cref="NodeFamily{T}.EvaluatesRelaxed"/>).
    /// </summary>
    LogSimplex,
    /// <summary>
    /// IGR only: log softmax(y/τ) over a node's n − 1 Gaussian coordinates, and 0 in the n-th place, as the IGR paper's
    /// VAE code feeds its decoder (it drops softmax++'s δ). No discrete counterpart either.
    /// </summary>
    GaussianLogSoftmax,
}

/// <summary>
/// A family of stochastic nodes: it owns what its nodes need (layout, temperatures, IGR's δ), says how many parameters a
/// layer takes, samples a layer from its parameters, and names the discrete family that evaluation uses in its place.
/// Adding a relaxation is one new subclass.
/// </summary>
public abstract class NodeFamily<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>A family of nodes of <paramref name="layout"/> (not the default, empty layout).</summary>
    protected NodeFamily(NodeLayout layout) => Layout = layout.Arity >= 2 ? layout : throw new ArgumentException("NodeFamily: the layout is empty (default).", nameof(layout));

    /// <summary>The nodes' arity and the map from their values to what the next layer sees.</summary>
    public NodeLayout Layout { get; }

    /// <summary>A short name for messages and checkpoints, e.g. "concrete".</summary>
    public abstract string Name { get; }

    /// <summary>How the nodes' gradient reaches their parameters.</summary>
    public abstract NodeGradient Gradient { get; }

    /// <summary>
    /// Parameters a layer of <paramref name="units"/> units takes per row (logits by default: one per binary unit, n per
    /// categorical node); a long, since an over-large layer is refused by the caller with its size rather than overflowing.
    /// </summary>
    public virtual long ParameterWidth(int units) => Layout.IsBinary ? Layout.Nodes(units) : (long)Layout.Nodes(units) * Layout.Arity;

    /// <summary>Constant parameters [ParameterWidth] of a prior that is uniform over each of a layer's nodes (zero logits by default).</summary>
    public virtual Tensor<T> UniformPriorParameters(int units) => Tensor<T>.Zeros(checked((int)ParameterWidth(units)));

    /// <summary>The family that replaces this one on the discrete graph of evaluation; the same parameters feed it.</summary>
    public abstract NodeFamily<T> Discrete { get; }

    /// <summary>True when a relaxed family is its own <see cref="Discrete"/>: its values have no discrete counterpart, so evaluation scores the relaxed model.</summary>
    public bool EvaluatesRelaxed => Gradient == NodeGradient.Pathwise && ReferenceEquals(Discrete, this);

    /// <summary>True when a node's KL to a prior of the same family has a closed form (<see cref="Node{T}.KlToPrior"/>).</summary>
    public virtual bool HasClosedFormKl => false;

    /// <summary>Samples a layer of nodes from parameters [rows, ParameterWidth] at training step <paramref name="step"/> (temperature schedules).</summary>
    public abstract Node<T> Sample(Tensor<T> parameters, Rng rng, long step);

    /// <summary>Parameters one node takes: 1 logit per binary unit, n logits per categorical node (IGR: 2·(n−1)).</summary>
    protected virtual int ParametersPerNode => Layout.IsBinary ? 1 : Layout.Arity;

    /// <summary>Checks that parameters are [rows, nodes · <see cref="ParametersPerNode"/>] with at least one node.</summary>
    protected void CheckParameters(Tensor<T> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Shape.Rank != 2)
            throw new ShapeMismatchException($"{Name} nodes: parameters must be [rows, width], got {parameters.Shape}.");
        int width = parameters.Shape[1];
        if (width == 0 || width % ParametersPerNode != 0)
            throw new ShapeMismatchException(
                $"{Name} nodes ({Layout}): parameters of width {width}; expected a positive multiple of {ParametersPerNode}, the parameters of one node (ParameterWidth(units) gives a layer's).");
    }

    /// <summary>The name and the layout, e.g. <c>concrete (2-ary Corners)</c>.</summary>
    public override string ToString() => $"{Name} ({Layout})";
}

/// <summary>
/// A sampled layer of nodes: the value the rest of the graph sees, the log-probability of the draw under the
/// distribution it came from, and the log-probability of the same draw under a prior. The stored draw is the
/// numerically safe variable of its family (the discrete state, the logit-space Binary Concrete Y, the ExpConcrete Y
/// or IGR's Gaussian y), so relaxed log-densities stay finite at low temperature (Concrete paper appendix C.3).
/// </summary>
public abstract class Node<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>A drawn layer: <paramref name="value"/> passed downstream, <paramref name="logProb"/> [rows] of the draw, from <paramref name="family"/>.</summary>
    protected Node(NodeFamily<T> family, Tensor<T> value, Tensor<T> logProb) => Set(family, value, logProb);

    /// <summary>A node whose fields <see cref="Set"/> fills (a pooled node).</summary>
    private protected Node() { }

    private protected void Set(NodeFamily<T> family, Tensor<T> value, Tensor<T> logProb)
    {
        Family = family; Value = value; LogProb = logProb;
    }

    /// <summary>The family that drew this node.</summary>
    public NodeFamily<T> Family { get; private set; } = null!;

    /// <summary>Downstream value: hypercube corners [rows, units] in [-1, 1], or one-hot/simplex rows [rows, nodes·n].</summary>
    public Tensor<T> Value { get; private set; } = null!;

    /// <summary>Log-probability of the draw under its sampling distribution, summed over the layer [rows].</summary>
    public Tensor<T> LogProb { get; private set; } = null!;

    /// <summary>Called once when the graph that drew this node starts its next pass (<see cref="StochasticGraph{T}.Reset"/>): a pooled node becomes reusable.</summary>
    internal virtual void Release() { }

    /// <summary>Log-probability of the same draw under prior parameters (shaped like the sampling parameters, or one row of them).</summary>
    public Tensor<T> LogPrior(Tensor<T> priorParameters) => LogPriorOfRows(PerRow(priorParameters));

    /// <summary>
    /// KL(sampling distribution ‖ prior) in closed form, summed over the layer [rows], for prior parameters shaped as
    /// in <see cref="LogPrior"/>; null when the family has no closed form (<see cref="NodeFamily{T}.HasClosedFormKl"/>).
    /// </summary>
    public Tensor<T>? KlToPrior(Tensor<T> priorParameters) => Family.HasClosedFormKl ? KlToPriorOfRows(PerRow(priorParameters)) : null;

    /// <summary>Prior parameters [rows, width]: one row repeated for every row of this layer.</summary>
    Tensor<T> PerRow(Tensor<T> priorParameters)
    {
        ArgumentNullException.ThrowIfNull(priorParameters);
        int rows = Value.Shape[0];
        var p = priorParameters.Shape.Rank == 1 ? priorParameters.Reshape(1, priorParameters.Shape[0]) : priorParameters;
        return p.Shape[0] == rows ? p : p.Expand(new Shape(rows, p.Shape[1]));
    }

    /// <summary>The closed-form KL with prior parameters [rows, width]; only families with <see cref="NodeFamily{T}.HasClosedFormKl"/> override it.</summary>
    protected virtual Tensor<T> KlToPriorOfRows(Tensor<T> priorParameters) =>
        throw new NotSupportedException($"{Family} nodes have no closed-form KL to their prior.");

    /// <summary>The prior's log-probability with prior parameters [rows, width].</summary>
    protected abstract Tensor<T> LogPriorOfRows(Tensor<T> priorParameters);
}

/// <summary>
/// A node kind reused through a per-thread free list: a graph that is <see cref="StochasticGraph{T}.Reset"/> for its next
/// pass releases the nodes of the last one, so drawing a layer allocates nothing once a pass has run.
/// <typeparamref name="TSelf"/> is the sealed node type.
/// </summary>
internal abstract class PooledNode<T, TSelf> : Node<T>, IFreeListItem<TSelf>
    where T : unmanaged, IBinaryFloatingPointIeee754<T> where TSelf : PooledNode<T, TSelf>, new()
{
    bool _rented;

    TSelf? IFreeListItem<TSelf>.NextFree { get; set; }

    /// <summary>A free node of this kind (new when there is none), drawn by <paramref name="family"/>.</summary>
    protected static TSelf FromPool(NodeFamily<T> family, Tensor<T> value, Tensor<T> logProb)
    {
        var n = FreeList<TSelf>.Take();
        n._rented = true;
        n.Set(family, value, logProb);
        return n;
    }

    internal sealed override void Release()
    {
        if (!_rented) throw new InvalidOperationException($"{Family} node: released twice.");
        _rented = false;
        Set(null!, null!, null!);
        ClearReferences();
        FreeList<TSelf>.Put((TSelf)this);
    }

    /// <summary>Sets the subclass's reference fields to null, so a free node keeps no tensor alive.</summary>
    protected abstract void ClearReferences();
}

/// <summary>
/// The distributions of binary and categorical nodes of a layout, in one place. A layer is checked, drawn and scored by
/// the distributions' own checks and formulas, without distribution objects, so that drawing it allocates nothing.
/// </summary>
static class NodeDistributions<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Bernoulli per binary unit, or Categorical per node over [rows, nodes, n] logits.</summary>
    public static DiscreteLayer Discrete(NodeLayout layout, Tensor<T> logits) => layout.IsBinary
        ? new(layout, Bernoulli<T>.CheckedLogits(logits))
        : new(layout, Categorical<T>.CheckedLogits(NodeLayout.Groups(logits, layout.Arity)));

    /// <summary>A layer's discrete nodes under checked logits (Bernoulli or Categorical).</summary>
    public readonly struct DiscreteLayer(NodeLayout layout, Tensor<T> logits)
    {
        /// <summary>Bits, or one-hot rows [rows, nodes, n]; no gradient.</summary>
        public Tensor<T> Sample(Rng rng) => layout.IsBinary ? Bernoulli<T>.SampleOf(logits, rng) : Categorical<T>.SampleOf(logits, rng);

        /// <summary>The log-mass of each unit or node.</summary>
        public Tensor<T> LogProb(Tensor<T> state) => layout.IsBinary ? Bernoulli<T>.LogProbOf(logits, state) : Categorical<T>.LogProbOf(logits, state);
    }

    /// <summary>The logit-space Binary Concrete node, or the ExpConcrete node on the log-simplex.</summary>
    public static ConcreteLayer Concrete(NodeLayout layout, Tensor<T> logits, double temperature) => layout.IsBinary
        ? new(layout, LogitBinaryConcrete<T>.CheckedLogits(logits, temperature), temperature)
        : new(layout, ExpConcrete<T>.CheckedLogits(NodeLayout.Groups(logits, layout.Arity), temperature), temperature);

    /// <summary>A layer's relaxed nodes under checked logits at temperature λ (<see cref="LogitBinaryConcrete{T}"/> or <see cref="ExpConcrete{T}"/>).</summary>
    public readonly struct ConcreteLayer(NodeLayout layout, Tensor<T> logits, double temperature)
    {
        /// <summary>The logit-space Y, or the ExpConcrete Y on the log-simplex; differentiable in the logits.</summary>
        public Tensor<T> RSample(Rng rng) => layout.IsBinary
            ? Logistic<T>.Reparameterize(logits, temperature, rng)
            : ExpConcrete<T>.RSampleOf(logits, temperature, rng);

        /// <summary>
        /// Σ over the layer of the log-density of y at <paramref name="at"/>, per row. y is a draw of these nodes
        /// (<see cref="RSample"/>, of checked logits), so it is not checked again: a Binary Concrete draw is finite, an
        /// ExpConcrete draw a log-softmax.
        /// </summary>
        public Tensor<T> LogProbSum(Tensor<T> y, double at)
        {
            Check.Temperature(at, "relaxed nodes");
            return layout.IsBinary ? Ops.LogisticLogDensitySum(logits, at, y) : ExpConcrete<T>.LogDensity(logits, y, at).Sum(-1);
        }

        /// <summary>The discrete state forward, the relaxed value's gradient backward.</summary>
        public Tensor<T> StraightThrough(Tensor<T> y) => layout.IsBinary ? LogitBinaryConcrete<T>.StraightThroughOf(y) : ExpConcrete<T>.StraightThroughOf(y);
    }

    /// <summary>A relaxed node's value on the discrete scale: σ(Y) of the logit node, exp(Y) of the log-simplex node.</summary>
    public static Tensor<T> OnDiscreteScale(NodeLayout layout, Tensor<T> node) => layout.IsBinary ? node.Sigmoid() : node.Exp();

    /// <summary>Bits, or one-hot/simplex rows [rows, nodes, n], → the downstream value.</summary>
    public static Tensor<T> Encode(NodeLayout layout, Tensor<T> state) => layout.IsBinary ? layout.EncodeBits(state) : layout.Encode(state);

    /// <summary>Σ over the layer of the discrete log-mass of <paramref name="state"/>.</summary>
    public static Tensor<T> LogMass(NodeLayout layout, Tensor<T> logits, Tensor<T> state) => Discrete(layout, logits).LogProb(state).Sum(-1);
}
