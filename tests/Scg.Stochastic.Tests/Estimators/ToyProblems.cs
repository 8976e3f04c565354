using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using Scg.Stochastic.Estimators;
using Scg.Stochastic.Graph;

namespace Scg.Stochastic.Tests.Estimators;

/// <summary>
/// A toy stochastic computation graph with one data point: it draws m samples (log-weights and score, both [m, 1]) and
/// can list every discrete state with its log q and log w, so that L_m = E[log (1/m) Σ_i w_i] is exact by enumeration.
/// </summary>
abstract class ToyProblem
{
    /// <summary>The parameters the estimators differentiate, in the order gradients are flattened.</summary>
    public abstract Tensor<double>[] Parameters { get; }

    public int ParameterCount => Parameters.Sum(p => p.Size);

    /// <summary>m discrete samples: log-weights [m, 1] and score Σ log q of the sampled nodes [m, 1].</summary>
    public abstract (Tensor<double> LogWeights, Tensor<double> Score) Sample(Rng rng, int m);

    /// <summary>Every discrete state: log q [K] and log w [K], differentiable in the parameters.</summary>
    public abstract (Tensor<double> LogQ, Tensor<double> LogW) Enumerate();
}

/// <summary>E_{b ~ Bernoulli(σ(θ))}[(b − 0.45)²] written as log w = f(b) with m = 1, so L_1 = E[f].</summary>
sealed class BernoulliLoss(double theta) : ToyProblem
{
    public const double Target = 0.45;
    public Tensor<double> Theta { get; } = Tensor<double>.FromDoubles([theta], 1).AsParameter("θ");
    public override Tensor<double>[] Parameters => [Theta];

    public static double F(double b) => (b - Target) * (b - Target);

    public override (Tensor<double>, Tensor<double>) Sample(Rng rng, int m)
    {
        var q = new Bernoulli<double>(Theta.Reshape(1, 1).Expand(new Shape(m, 1)));
        var b = q.Sample(rng);
        return ((b - Target).Square(), q.LogProb(b));
    }

    public override (Tensor<double>, Tensor<double>) Enumerate()
    {
        var states = Tensor<double>.FromDoubles([0, 1], 2);
        return (new Bernoulli<double>(Theta.Expand(new Shape(2))).LogProb(states), Tensor<double>.FromDoubles([F(0), F(1)], 2));
    }

    /// <summary>d/dθ E[f] = σ'(θ)(f(1) − f(0)).</summary>
    public double AnalyticGradient()
    {
        double s = 1 / (1 + Math.Exp(-Theta.Span[0]));
        return s * (1 - s) * (F(1) - F(0));
    }
}

/// <summary>A 10-way categorical with logits θ and a loss table c: log w = c_z, so L_1 = Σ_k softmax(θ)_k c_k.</summary>
sealed class CategoricalLoss : ToyProblem
{
    public static readonly double[] Table = [0.3, -0.2, 1.1, 0.5, -0.7, 0.05, 0.9, -0.4, 0.2, 0.6];
    public const int Classes = 10;

    public Tensor<double> Theta { get; } =
        Tensor<double>.FromDoubles(Enumerable.Range(0, Classes).Select(k => 0.8 * Math.Sin(1.7 * k + 0.3)).ToArray(), Classes).AsParameter("θ");
    public override Tensor<double>[] Parameters => [Theta];

    readonly Tensor<double> _table = Tensor<double>.FromDoubles(Table, Classes);

    public override (Tensor<double>, Tensor<double>) Sample(Rng rng, int m)
    {
        var q = new Categorical<double>(Theta.Reshape(1, Classes).Expand(new Shape(m, Classes)));
        var oneHot = q.Sample(rng);
        return ((oneHot * _table).Sum(-1).Reshape(m, 1), q.LogProb(oneHot).Reshape(m, 1));
    }

    public override (Tensor<double>, Tensor<double>) Enumerate() => (Theta.Reshape(1, Classes).LogSoftmax().Reshape(Classes), _table);
}

/// <summary>
/// A 2-layer sigmoid belief net (default 2H-3H-4V with binary nodes; linear connections, one data point x) built from
/// the graph API the way <c>SigmoidBeliefNet</c> is: q(h₂|x) q(h₁|h₂) samples, log w = log p(h₁) + log p(h₂|h₁) +
/// log p(x|h₂) − log q. Latent values are ±1 corners. The binary 2H-3H-4V net has 50 parameters and 2⁵ = 32 latent
/// states, so L_m is enumerable for small m; other sizes and arities (4-ary nodes) serve the relaxed tests.
/// </summary>
sealed class TinySbn : ToyProblem
{
    public const int Visible = 4;
    public static readonly double[] Data = [1, 0, 1, 1];

    readonly Tensor<double> _x = Tensor<double>.FromDoubles(Data, 1, Visible);
    public int Top { get; }
    public int Middle { get; }
    public int Arity { get; }
    public Tensor<double> Prior { get; }
    public Tensor<double> Wp1 { get; }
    public Tensor<double> Bp1 { get; }
    public Tensor<double> Wp2 { get; }
    public Tensor<double> Bp2 { get; }
    public Tensor<double> Wq2 { get; }
    public Tensor<double> Bq2 { get; }
    public Tensor<double> Wq1 { get; }
    public Tensor<double> Bq1 { get; }

    /// <summary>How latent nodes are drawn: discrete (score function, the default) or relaxed.</summary>
    public NodeFamily<double> Family { get; }

    public TinySbn(ulong seed, int top = 2, int middle = 3, int arity = 2, NodeFamily<double>? family = null)
    {
        Top = top; Middle = middle; Arity = arity;
        Family = family ?? new ScoreFunctionNodes<double>(new NodeLayout(arity));
        if (Family.Layout.Arity != arity) throw new ArgumentException($"TinySbn: the family's arity {Family.Layout.Arity} differs from {arity}.", nameof(family));
        int topWidth = (int)Family.ParameterWidth(top), middleWidth = (int)Family.ParameterWidth(middle);
        var rng = new Rng(seed);
        Tensor<double> P(string name, params int[] dims)
        {
            var t = Tensor<double>.Zeros(dims);
            var s = t.Span;
            for (int i = 0; i < s.Length; i++) s[i] = 0.9 * rng.NextNormal();
            return t.AsParameter(name);
        }
        Prior = P("p.prior", topWidth);
        Wp1 = P("p.W1", middleWidth, top); Bp1 = P("p.b1", middleWidth);
        Wp2 = P("p.W2", Visible, middle); Bp2 = P("p.b2", Visible);
        Wq2 = P("q.W2", middleWidth, Visible); Bq2 = P("q.b2", middleWidth);
        Wq1 = P("q.W1", topWidth, middle); Bq1 = P("q.b1", topWidth);
    }

    public override Tensor<double>[] Parameters => [Prior, Wp1, Bp1, Wp2, Bp2, Wq2, Bq2, Wq1, Bq1];

    /// <summary>The inference network's parameters (those whose gradient needs the score function).</summary>
    public Tensor<double>[] InferenceParameters => [Wq2, Bq2, Wq1, Bq1];

    public Tensor<double> Input(int rows) => _x.Expand(new Shape(rows, Visible));

    public override (Tensor<double>, Tensor<double>) Sample(Rng rng, int m)
    {
        var (logWeights, score) = SampleWith(new StochasticGraph<double>(rng), m);
        return (logWeights, score ?? throw new InvalidOperationException("TinySbn: a discrete graph has a score."));
    }

    /// <summary>Log-weights [m, 1] through <paramref name="graph"/> (and its score, null for relaxed graphs).</summary>
    public (Tensor<double> LogWeights, Tensor<double>? Score) SampleWith(StochasticGraph<double> graph, int m)
    {
        var x = Input(m);
        var h2 = graph.Sample(Family, Ops.Linear(x, Wq2, Bq2));
        var h1 = graph.Sample(Family, Ops.Linear(h2.Value, Wq1, Bq1));
        var logP = h1.LogPrior(Prior)
                 + h2.LogPrior(Ops.Linear(h1.Value, Wp1, Bp1))
                 - Ops.BinaryCrossEntropyWithLogits(Ops.Linear(h2.Value, Wp2, Bp2), x).Sum(-1);
        var logW = logP - (h1.LogProb + h2.LogProb);
        return (logW.Reshape(m, 1), graph.Score?.Reshape(m, 1));
    }

    /// <summary>Independent of the graph API: Bernoulli masses of every joint state (h₁, h₂) with ±1 values downstream.</summary>
    public override (Tensor<double>, Tensor<double>) Enumerate()
    {
        if (Arity != 2) throw new NotSupportedException("TinySbn: enumeration is written for binary nodes.");
        int states = 1 << (Top + Middle);
        var h1 = Tensor<double>.Zeros(states, Top);
        var h2 = Tensor<double>.Zeros(states, Middle);
        for (int s = 0; s < states; s++)
        {
            for (int u = 0; u < Top; u++) h1.Span[s * Top + u] = (s >> u) & 1;
            for (int u = 0; u < Middle; u++) h2.Span[s * Middle + u] = (s >> (Top + u)) & 1;
        }
        var v1 = h1 * 2.0 - 1.0;
        var v2 = h2 * 2.0 - 1.0;
        var x = Input(states);
        var logQ = new Bernoulli<double>(Ops.Linear(x, Wq2, Bq2)).LogProb(h2).Sum(-1)
                 + new Bernoulli<double>(Ops.Linear(v2, Wq1, Bq1)).LogProb(h1).Sum(-1);
        var logP = new Bernoulli<double>(Prior.Reshape(1, Top).Expand(new Shape(states, Top))).LogProb(h1).Sum(-1)
                 + new Bernoulli<double>(Ops.Linear(v1, Wp1, Bp1)).LogProb(h2).Sum(-1)
                 - Ops.BinaryCrossEntropyWithLogits(Ops.Linear(v2, Wp2, Bp2), x).Sum(-1);
        return (logQ, logP - logQ);
    }
}

/// <summary>How a test feeds the score to the estimator: as is, or deliberately wrong (to show the check can fail).</summary>
public enum ScoreUse { AsIs, Negated, Dropped }

/// <summary>Draws of estimator gradients and exact gradients by enumeration, flattened over a problem's parameters.</summary>
static class Harness
{
    /// <summary>
    /// Largest |bias| / standard error allowed for an unbiased estimator. Each standardized bias is about N(0,1) at
    /// these draw counts, so by Bonferroni P(max over P ≤ 50 parameters &gt; 5) ≤ 50 · 2Φ(−5) ≈ 3·10⁻⁵.
    /// </summary>
    public const double BiasThreshold = 5;

    /// <summary>The first 12 values of a gradient, for messages.</summary>
    public static string Format(double[] v) => "[" + string.Join(", ", v.Take(12).Select(x => x.ToString("G3"))) + (v.Length > 12 ? ", …" : "") + "]";

    public static void ZeroGrad(IEnumerable<Tensor<double>> parameters)
    {
        foreach (var p in parameters) p.ZeroGrad();
    }

    /// <summary>The accumulated gradients of the parameters, flattened (0 where none arrived), times <paramref name="sign"/>.</summary>
    public static double[] Gradient(IReadOnlyList<Tensor<double>> parameters, double sign = 1)
    {
        var g = new double[parameters.Sum(p => p.Size)];
        int offset = 0;
        foreach (var p in parameters)
        {
            if (p.Grad is not null)
            {
                var s = p.Grad.Span;
                for (int i = 0; i < s.Length; i++) g[offset + i] = sign * s[i];
            }
            offset += p.Size;
        }
        return g;
    }

    /// <summary>One draw of the estimator: build the surrogate from m samples, Backward() its loss, and return minus the gradient.</summary>
    public static double[] Draw(ToyProblem problem, IEstimator<double> estimator, Rng rng, int m,
        Tensor<double>? baseline = null, ScoreUse use = ScoreUse.AsIs)
    {
        ZeroGrad(problem.Parameters);
        var (logWeights, score) = problem.Sample(rng, m);
        var surrogate = estimator.Build(logWeights, use switch { ScoreUse.Negated => -score, ScoreUse.Dropped => score.Detach(), _ => score }, baseline);
        if (!surrogate.Loss.RequiresGrad) return new double[problem.ParameterCount];   // nothing depends on θ in this draw
        surrogate.Loss.Backward();
        return Gradient(problem.Parameters, -1);
    }

    /// <summary>
    /// ∇L_m with L_m = Σ over all m-tuples of states Π_i q(z_i) · (log Σ_i w(z_i) − log m), by enumeration and one backward
    /// in double precision. Also returns L_m.
    /// </summary>
    public static (double[] Gradient, double Objective) Exact(ToyProblem problem, int m)
    {
        ZeroGrad(problem.Parameters);
        var (logQ, logW) = problem.Enumerate();
        int states = logQ.Shape[0];
        long tuples = (long)Math.Pow(states, m);
        if (tuples > 5_000_000) throw new InvalidOperationException($"{states}^{m} tuples are too many to enumerate.");
        Tensor<double>? logJoint = null;
        var picked = new Tensor<double>[m];
        long stride = 1;
        for (int i = 0; i < m; i++, stride *= states)
        {
            var index = new int[tuples];
            for (long t = 0; t < tuples; t++) index[t] = (int)(t / stride % states);
            var q = logQ.IndexSelect(0, index);
            logJoint = logJoint is null ? q : logJoint + q;
            picked[i] = logW.IndexSelect(0, index);
        }
        var bound = Ops.Stack(0, picked).LogSumExp(0) - Math.Log(m);
        var objective = (logJoint!.Exp() * bound).Sum();
        double value = objective.Item();
        objective.Backward();
        return (Gradient(problem.Parameters), value);
    }

    /// <summary>Bias statistics of <paramref name="draws"/> estimator draws against the exact ∇L_m.</summary>
    public static Diagnostics.GradientStatistics Statistics(ToyProblem problem, IEstimator<double> estimator, int m, int draws, ulong seed,
        Func<Tensor<double>?>? baseline = null, ScoreUse use = ScoreUse.AsIs)
    {
        var exact = Exact(problem, m).Gradient;
        var rng = new Rng(seed);
        return Diagnostics.GradientStatistics.Collect(_ => Draw(problem, estimator, rng, m, baseline?.Invoke(), use), draws, exact);
    }
}
