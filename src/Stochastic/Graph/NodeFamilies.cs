using System.Numerics;
using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using Scg.Stochastic.Estimators;

namespace Scg.Stochastic.Graph;

/// <summary>
/// Discrete nodes (Bernoulli units or categorical nodes) whose gradient comes from the score function: their log-mass
/// is differentiable in the logits, and a score-function estimator weights it by the costs downstream.
/// </summary>
public sealed class ScoreFunctionNodes<T>(NodeLayout layout) : NodeFamily<T>(layout) where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <inheritdoc/>
    public override string Name => "discrete";
    /// <inheritdoc/>
    public override NodeGradient Gradient => NodeGradient.ScoreFunction;
    /// <inheritdoc/>
    public override NodeFamily<T> Discrete => this;

    /// <inheritdoc/>
    public override Node<T> Sample(Tensor<T> parameters, Rng rng, long step)
    {
        CheckParameters(parameters);
        var state = NodeDistributions<T>.Discrete(Layout, parameters).Sample(rng);
        return DiscreteNode<T>.Draw(this, state, NodeDistributions<T>.LogMass(Layout, parameters, state), prior => prior);
    }
}

/// <summary>A discrete draw: the state (bits or one-hot), scored under the logits it was drawn from and under prior logits.</summary>
sealed class DiscreteNode<T> : PooledNode<T, DiscreteNode<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    Tensor<T> _state = null!;
    Func<Tensor<T>, Tensor<T>> _priorLogits = null!;

    /// <summary>A node of <paramref name="family"/> in <paramref name="state"/>, whose value is the state's encoding.</summary>
    public static DiscreteNode<T> Draw(NodeFamily<T> family, Tensor<T> state, Tensor<T> logProb, Func<Tensor<T>, Tensor<T>> priorLogits)
    {
        var node = FromPool(family, NodeDistributions<T>.Encode(family.Layout, state), logProb);
        (node._state, node._priorLogits) = (state, priorLogits);
        return node;
    }

    protected override Tensor<T> LogPriorOfRows(Tensor<T> priorParameters) =>
        NodeDistributions<T>.LogMass(Family.Layout, _priorLogits(priorParameters), _state);

    protected override void ClearReferences() => (_state, _priorLogits) = (null!, null!);
}

/// <summary>
/// The Concrete relaxation (Maddison et al. 2017): logit-space Binary Concrete units or ExpConcrete nodes, drawn at the
/// posterior temperature λ1 and scored under the prior at λ2 (the relaxed bound of Eq. 25 and 27). Pathwise gradients.
/// </summary>
public sealed class ConcreteNodes<T> : NodeFamily<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Concrete nodes of <paramref name="layout"/>, sampled at λ1 = <paramref name="posteriorTemperature"/>(step) and scored under priors at λ2 = <paramref name="priorTemperature"/>(step).</summary>
    public ConcreteNodes(NodeLayout layout, TemperatureSchedule posteriorTemperature, TemperatureSchedule priorTemperature) : base(layout)
    {
        PosteriorTemperature = posteriorTemperature ?? throw new ArgumentNullException(nameof(posteriorTemperature));
        PriorTemperature = priorTemperature ?? throw new ArgumentNullException(nameof(priorTemperature));
        _discrete = new ScoreFunctionNodes<T>(layout);
    }

    readonly ScoreFunctionNodes<T> _discrete;
    readonly RelaxedOutput _output;

    /// <summary>λ1: the temperature nodes are sampled at.</summary>
    public TemperatureSchedule PosteriorTemperature { get; }
    /// <summary>λ2: the temperature of prior densities in the relaxed bound.</summary>
    public TemperatureSchedule PriorTemperature { get; }

    /// <summary>What a node passes downstream: the point on the simplex (default) or the ExpConcrete draw itself (one-hot layouts only).</summary>
    public RelaxedOutput Output
    {
        get => _output;
        init => _output = value == RelaxedOutput.GaussianLogSoftmax
            ? throw new ArgumentException("Concrete nodes: the Gaussian log-softmax output is IGR's (it reads IGR's Gaussian coordinates).", nameof(value))
            : RelaxedOutputFor(Layout, value);
    }

    /// <inheritdoc/>
    public override string Name => "concrete";
    /// <inheritdoc/>
    public override NodeGradient Gradient => NodeGradient.Pathwise;
    /// <summary>Discrete nodes of the same logits; with <see cref="RelaxedOutput.LogSimplex"/>, this family itself.</summary>
    public override NodeFamily<T> Discrete => _output == RelaxedOutput.LogSimplex ? this : _discrete;

    /// <summary><paramref name="output"/>, checked against the layout: a log output needs categorical (one-hot) nodes.</summary>
    internal static RelaxedOutput RelaxedOutputFor(NodeLayout layout, RelaxedOutput output) =>
        output != RelaxedOutput.Simplex && layout.Encoding != NodeEncoding.OneHot
            ? throw new ArgumentException($"relaxed nodes: the {(output == RelaxedOutput.LogSimplex ? "log-simplex" : "Gaussian log-softmax")} output needs one-hot nodes, not {layout}.", nameof(output))
            : output;

    /// <inheritdoc/>
    public override Node<T> Sample(Tensor<T> parameters, Rng rng, long step)
    {
        CheckParameters(parameters);
        double posterior = PosteriorTemperature.At(step), prior = PriorTemperature.At(step);
        var q = NodeDistributions<T>.Concrete(Layout, parameters, posterior);
        var y = q.RSample(rng);
        var value = NodeDistributions<T>.Encode(Layout, _output == RelaxedOutput.LogSimplex ? y : NodeDistributions<T>.OnDiscreteScale(Layout, y));   // recorded before the density: the tape order sets the gradient's rounding
        return RelaxedNode.Draw(this, y, value, q.LogProbSum(y, posterior), prior);
    }

    sealed class RelaxedNode : PooledNode<T, RelaxedNode>
    {
        Tensor<T> _y = null!;
        double _priorTemperature;

        public static RelaxedNode Draw(ConcreteNodes<T> family, Tensor<T> y, Tensor<T> value, Tensor<T> logProb, double priorTemperature)
        {
            var node = FromPool(family, value, logProb);
            (node._y, node._priorTemperature) = (y, priorTemperature);
            return node;
        }

        protected override Tensor<T> LogPriorOfRows(Tensor<T> priorParameters) =>
            NodeDistributions<T>.Concrete(Family.Layout, priorParameters, _priorTemperature).LogProbSum(_y, _priorTemperature);

        protected override void ClearReferences() => _y = null!;
    }
}

/// <summary>
/// Straight-through Concrete (Bengio et al. 2013; Jang et al. 2017): the discrete state forward, the gradient of the
/// relaxed value at λ1 backward; the bound uses discrete log-masses.
/// </summary>
public sealed class StraightThroughNodes<T> : NodeFamily<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Straight-through nodes of <paramref name="layout"/> whose backward pass uses the relaxation at λ1 = <paramref name="temperature"/>(step).</summary>
    public StraightThroughNodes(NodeLayout layout, TemperatureSchedule temperature) : base(layout)
    {
        Temperature = temperature ?? throw new ArgumentNullException(nameof(temperature));
        Discrete = new ScoreFunctionNodes<T>(layout);
    }

    /// <summary>λ1: the temperature of the relaxed value whose gradient is passed through.</summary>
    public TemperatureSchedule Temperature { get; }

    /// <inheritdoc/>
    public override string Name => "st";
    /// <inheritdoc/>
    public override NodeGradient Gradient => NodeGradient.Pathwise;
    /// <inheritdoc/>
    public override NodeFamily<T> Discrete { get; }

    /// <inheritdoc/>
    public override Node<T> Sample(Tensor<T> parameters, Rng rng, long step)
    {
        CheckParameters(parameters);
        var q = NodeDistributions<T>.Concrete(Layout, parameters, Temperature.At(step));
        var hard = q.StraightThrough(q.RSample(rng));
        var state = hard.Detach();
        var value = NodeDistributions<T>.Encode(Layout, hard);   // recorded before the log-mass, as the tape order sets the gradient's rounding
        return StraightThroughNode.Draw(this, state, value, NodeDistributions<T>.LogMass(Layout, parameters, state));
    }

    sealed class StraightThroughNode : PooledNode<T, StraightThroughNode>
    {
        Tensor<T> _state = null!;

        public static StraightThroughNode Draw(StraightThroughNodes<T> family, Tensor<T> state, Tensor<T> value, Tensor<T> logProb)
        {
            var node = FromPool(family, value, logProb);
            node._state = state;
            return node;
        }

        protected override Tensor<T> LogPriorOfRows(Tensor<T> priorParameters) => NodeDistributions<T>.LogMass(Family.Layout, priorParameters, _state);

        protected override void ClearReferences() => _state = null!;
    }
}

/// <summary>Whether IGR nodes learn the scale of their Gaussians or hold it at 1.</summary>
public enum IgrScale
{
    /// <summary>Each node's Gaussian has a learned mean and log-scale, as the IGR paper's text describes it: 2·(n−1) parameters per node.</summary>
    Learned,
    /// <summary>σ = 1 for every node and only the means are learned, as the IGR paper's structured-prediction code does: n−1 parameters per node.</summary>
    Unit,
}

/// <summary>
/// The Gaussian N(μ0, σ0²) of every coordinate of an IGR uniform prior, given instead of fitted (IGR Eq. 20). The IGR
/// paper's VAE code has μ0 = log(1/8) and σ0 = e − 1 at every temperature (<see cref="PaperCode"/>).
/// </summary>
/// <param name="Location">μ0, finite</param>
/// <param name="Scale">σ0 &gt; 0, finite</param>
public readonly record struct IgrPriorGaussian(double Location, double Scale)
{
    /// <summary>μ0 = log(a / (1 − a)) with a = 1/9, σ0 = exp(log(e − 1)) = e − 1: the prior of the IGR paper's VAE code for ten categories.</summary>
    public static IgrPriorGaussian PaperCode => new(Math.Log(1.0 / 8), Math.E - 1);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless μ0 is finite and σ0 finite and &gt; 0.</summary>
    public IgrPriorGaussian Validated() =>
        double.IsFinite(Location) && Scale > 0 && double.IsFinite(Scale) ? this
        : throw new ArgumentOutOfRangeException(nameof(Scale), $"IGR prior: expected a finite μ0 and a finite σ0 > 0, got μ0 = {Location}, σ0 = {Scale}.");
}

/// <summary>
/// The Invertible Gaussian Reparameterization with softmax++ (Potapczynski et al. 2020, Eq. 21): node parameters are
/// [μ | log σ] of K−1 Gaussian coordinates per node, y = μ + σε, and the value is softmax++(y/τ) with δ. log p − log q of
/// y equals that of the relaxed value (both go through the same invertible map), so the node's log-density is the
/// Gaussian's. On the discrete graph the node is the argmax, with its exact mass (<see cref="IgrArgMaxNodes{T}"/>).
/// </summary>
public sealed class IgrNodes<T> : NodeFamily<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>IGR nodes of <paramref name="layout"/> at temperature τ = <paramref name="temperature"/>(step), with softmax++'s δ &gt; 0.</summary>
    public IgrNodes(NodeLayout layout, TemperatureSchedule temperature, double delta = Igr.PaperDelta) : base(layout)
    {
        Temperature = temperature ?? throw new ArgumentNullException(nameof(temperature));
        if (!(delta > 0 && double.IsFinite(delta))) throw new ArgumentOutOfRangeException(nameof(delta), $"IGR nodes: δ must be a positive finite number, got {delta}.");
        Delta = delta;
        _argMax = new IgrArgMaxNodes<T>(this);
    }

    readonly IgrArgMaxNodes<T> _argMax;
    readonly RelaxedOutput _output;

    /// <summary>τ of softmax++(y/τ).</summary>
    public TemperatureSchedule Temperature { get; }
    /// <summary>δ &gt; 0 of softmax++.</summary>
    public double Delta { get; }

    /// <summary>Whether the Gaussians' scales are parameters (default) or held at 1; it sets <see cref="ParameterWidth"/>.</summary>
    public IgrScale Scale { get; init; } = IgrScale.Learned;

    /// <summary>What a node passes downstream: softmax++(y/τ) on the simplex (default), its logarithm, or log softmax(y/τ)
    /// with 0 for the last category (the last two for one-hot layouts only).</summary>
    public RelaxedOutput Output { get => _output; init => _output = ConcreteNodes<T>.RelaxedOutputFor(Layout, value); }

    /// <inheritdoc/>
    public override string Name => "igr";
    /// <inheritdoc/>
    public override NodeGradient Gradient => NodeGradient.Pathwise;
    /// <summary>The argmax nodes of the same Gaussians; with a log output, this family itself.</summary>
    public override NodeFamily<T> Discrete => _output == RelaxedOutput.Simplex ? _argMax : this;

    /// <summary>τ at which <see cref="UniformPriorParameters"/> fits the Gaussian of a uniform prior (IGR Eq. 20).</summary>
    public double PriorFitTemperature { get; init; } = 2.0 / 3;

    readonly IgrPriorGaussian? _uniformPriorGaussian;
    /// <summary>The Gaussian a uniform prior takes in place of the fit (null, the default: fitted by Eq. 20).</summary>
    public IgrPriorGaussian? UniformPriorGaussian { get => _uniformPriorGaussian; init => _uniformPriorGaussian = value?.Validated(); }

    /// <summary>Seed of the Monte Carlo fit of a uniform prior, so that the prior depends on the family alone.</summary>
    const ulong UniformPriorFitSeed = 20;

    /// <summary>
    /// [μ0 | log σ0] per node, fitted to the uniform distribution over n categories by moment matching (IGR Eq. 20,
    /// <see cref="Igr.FitToDiscrete"/>), or <see cref="UniformPriorGaussian"/>'s in every coordinate when it is set;
    /// the same for every node, and the same family always gives the same values. The prior has a σ0, so nodes of
    /// <see cref="IgrScale.Unit"/> scale have no uniform prior.
    /// </summary>
    public override Tensor<T> UniformPriorParameters(int units)
    {
        if (Layout.Encoding != NodeEncoding.OneHot && !Layout.IsBinary)
            throw new ArgumentException($"IGR nodes: a uniform prior needs one-hot nodes or binary units, not {Layout}.");
        if (Scale == IgrScale.Unit)
            throw new ArgumentException("IGR nodes: a uniform prior is fitted with its scale σ0 (Eq. 20); nodes whose scale is held at 1 have none to fit.");
        int nodes = Layout.Nodes(units), d = Layout.Arity - 1;
        var uniform = Enumerable.Repeat(1.0 / Layout.Arity, Layout.Arity).ToArray();
        var (location, scale) = _uniformPriorGaussian is { } given
            ? (Enumerable.Repeat(given.Location, d).ToArray(), Enumerable.Repeat(given.Scale, d).ToArray())
            : Igr.FitToDiscrete(uniform, PriorFitTemperature, new Rng(UniformPriorFitSeed), IgrMap.SoftmaxPlusPlus, Delta);
        var p = Tensor<T>.Zeros(2 * nodes * d);
        var s = p.Span;
        for (int i = 0; i < nodes; i++)
            for (int j = 0; j < d; j++)
            {
                s[i * d + j] = T.CreateChecked(location[j]);
                s[nodes * d + i * d + j] = T.CreateChecked(Math.Log(scale[j]));
            }
        return p;
    }

    /// <inheritdoc/>
    protected override int ParametersPerNode => GaussianParametersPerNode;

    internal int GaussianParametersPerNode => (Scale == IgrScale.Learned ? 2 : 1) * (Layout.Arity - 1);

    /// <summary>2·(n−1) per node, the means and log-scales of its Gaussian; n−1, the means, when the scale is held at 1.</summary>
    public override long ParameterWidth(int units) => (long)ParametersPerNode * Layout.Nodes(units);

    /// <inheritdoc/>
    public override Node<T> Sample(Tensor<T> parameters, Rng rng, long step)
    {
        CheckParameters(parameters);
        var (location, scale) = Gaussian(parameters);
        var y = Normal<T>.RSampleOf(location, scale, rng);
        double temperature = Temperature.At(step);
        Tensor<T> value;
        if (_output == RelaxedOutput.GaussianLogSoftmax) value = Layout.Encode(GaussianLogSoftmax(y, temperature));
        else
        {
            var logits = SoftmaxPlusPlusLogits(y, temperature);
            value = Layout.IsBinary ? Layout.EncodeBits(logits.Sigmoid())
                : Layout.Encode(_output == RelaxedOutput.LogSimplex ? logits.LogSoftmax() : logits.Softmax());
        }
        return GaussianNode.Draw(this, location, scale, y, value, Normal<T>.LogProbOf(location, scale, y));
    }

    /// <summary>KL between two IGRs of one τ and δ is the KL of their Gaussians (IGR Eq. 19).</summary>
    public override bool HasClosedFormKl => true;

    sealed class GaussianNode : PooledNode<T, GaussianNode>
    {
        Tensor<T> _location = null!, _scale = null!, _y = null!;

        public static GaussianNode Draw(IgrNodes<T> family, Tensor<T> location, Tensor<T> scale, Tensor<T> y, Tensor<T> value, Tensor<T> logProb)
        {
            var node = FromPool(family, value, logProb);
            (node._location, node._scale, node._y) = (location, scale, y);
            return node;
        }

        protected override Tensor<T> LogPriorOfRows(Tensor<T> priorParameters)
        {
            var (location, scale) = ((IgrNodes<T>)Family).Gaussian(priorParameters);
            return Normal<T>.LogProbOf(location, scale, _y);
        }

        protected override Tensor<T> KlToPriorOfRows(Tensor<T> priorParameters)
        {
            var (location, scale) = ((IgrNodes<T>)Family).Gaussian(priorParameters);
            return Kl.GaussianDivergence(_location, _scale, location, scale);
        }

        protected override void ClearReferences() => (_location, _scale, _y) = (null!, null!, null!);
    }

    /// <summary>The logits whose softmax is softmax++(y/τ): [y/τ, log δ] per node (binary: y/τ − log δ, a sigmoid's logit).</summary>
    public Tensor<T> SoftmaxPlusPlusLogits(Tensor<T> y, double temperature)
    {
        if (Layout.IsBinary) return y / temperature - Math.Log(Delta);
        return WithLastCoordinate(ScaledCoordinates(y, temperature), T.CreateChecked(Math.Log(Delta)));
    }

    /// <summary>[rows, nodes, n]: log softmax(y/τ) over each node's n − 1 coordinates, then 0 (<see cref="RelaxedOutput.GaussianLogSoftmax"/>).</summary>
    Tensor<T> GaussianLogSoftmax(Tensor<T> y, double temperature) => WithLastCoordinate(ScaledCoordinates(y, temperature).LogSoftmax(), T.Zero);

    /// <summary>y/τ as [rows, nodes, n − 1]: each node's Gaussian coordinates.</summary>
    Tensor<T> ScaledCoordinates(Tensor<T> y, double temperature) =>
        (y / temperature).Reshape(y.Shape[0], y.Shape[1] / (Layout.Arity - 1), Layout.Arity - 1);

    /// <summary>[rows, nodes, n − 1] with <paramref name="value"/> appended to every node as its n-th coordinate.</summary>
    static Tensor<T> WithLastCoordinate(Tensor<T> coordinates, T value) =>
        Ops.Concat(2, coordinates, Tensor<T>.Full(new Shape(coordinates.Shape[0], coordinates.Shape[1], 1), value));

    /// <summary>
    /// The diagonal Gaussian N(μ, σ²) of IGR node parameters [rows, ParameterWidth]: [μ | log σ], or μ alone with σ = 1
    /// (<see cref="IgrScale.Unit"/>); checked as <see cref="Normal{T}"/> checks them.
    /// </summary>
    public (Tensor<T> Location, Tensor<T> Scale) Gaussian(Tensor<T> parameters)
    {
        Tensor<T> mean, scale;
        if (Scale == IgrScale.Unit)
            (mean, scale) = (parameters, Tensor<T>.Full(parameters.Shape, T.One));
        else
        {
            int w = parameters.Shape[1] / 2;
            (mean, scale) = (parameters.Narrow(1, 0, w), parameters.Narrow(1, w, w).Exp());
        }
        Normal<T>.CheckParameters(mean, scale);
        return (mean, scale);
    }
}

/// <summary>
/// The discrete graph of <see cref="IgrNodes{T}"/>: each node is the argmax of softmax++(y/τ), drawn from its exact mass
/// (a one-dimensional integral per category, <see cref="Igr{T}.ToDiscrete"/>). That mass is computed in double
/// precision as a constant of the parameters, so these nodes carry no gradient: they exist for evaluation only, and
/// a training graph refuses them (a score-function estimator over IGR's Gaussian parameters cannot be built).
/// </summary>
public sealed class IgrArgMaxNodes<T> : NodeFamily<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    internal IgrArgMaxNodes(IgrNodes<T> relaxed) : base(relaxed.Layout) => Relaxed = relaxed;

    /// <summary>The IGR family whose argmax these nodes are (τ and δ).</summary>
    public IgrNodes<T> Relaxed { get; }

    /// <inheritdoc/>
    public override string Name => "igr-argmax";
    /// <inheritdoc/>
    public override NodeGradient Gradient => NodeGradient.None;
    /// <inheritdoc/>
    public override NodeFamily<T> Discrete => this;
    /// <inheritdoc/>
    public override long ParameterWidth(int units) => Relaxed.ParameterWidth(units);
    /// <inheritdoc/>
    protected override int ParametersPerNode => Relaxed.GaussianParametersPerNode;

    /// <inheritdoc/>
    public override Node<T> Sample(Tensor<T> parameters, Rng rng, long step)
    {
        CheckParameters(parameters);
        double temperature = Relaxed.Temperature.At(step);
        var logits = Logits(parameters, temperature);
        var state = NodeDistributions<T>.Discrete(Layout, logits).Sample(rng);
        return DiscreteNode<T>.Draw(this, state, NodeDistributions<T>.LogMass(Layout, logits, state), prior => Logits(prior, temperature));
    }

    /// <summary>
    /// IGR parameters [rows, ParameterWidth] → logits [rows, logit width] of the argmax: the exact log-mass of each
    /// category, or for a binary unit the logit of its first state winning.
    /// </summary>
    public Tensor<T> Logits(Tensor<T> parameters, double temperature)
    {
        var (mean, scale) = Relaxed.Gaussian(parameters);
        int rows = parameters.Shape[0], d = Layout.Arity - 1;
        var igr = new Igr<T>(mean.Reshape(rows, -1, d), scale.Reshape(rows, -1, d), temperature, IgrMap.SoftmaxPlusPlus, Relaxed.Delta);
        var logMass = igr.ToDiscrete().Logits;
        return Layout.IsBinary ? (logMass.Narrow(2, 0, 1) - logMass.Narrow(2, 1, 1)).Reshape(rows, -1) : logMass.Reshape(rows, -1);
    }
}
