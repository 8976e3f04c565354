using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using Scg.Stochastic.Graph;

namespace Scg.Models.Sbn;

/// <summary>Test-time evaluation: the bound on the discrete graph, and the relaxed bound that relaxed estimators train.</summary>
public static class Evaluation
{
    /// <summary>
    /// Memory of the chunks, kept per thread so that repeated evaluations (validation during training) reuse it; nothing
    /// it lends outlives its chunk, so its tensor headers are reused too.
    /// </summary>
    [ThreadStatic] static StepArena<float>? t_arena;
    /// <summary>The discrete graph of <see cref="Bound"/>, reset for each chunk so that its node objects are reused.</summary>
    [ThreadStatic] static StochasticGraph<float>? t_discreteGraph;
    /// <summary>The running log-sum-exp per row of <see cref="Bound"/>.</summary>
    [ThreadStatic] static double[]? t_running;

    static StepArena<float> Arena => t_arena ??= new StepArena<float> { ReusesHeaders = true };

    /// <summary>Rows × samples an evaluation holds at once unless memory asks for fewer (<see cref="MemoryEstimate.EvaluationRows"/>).</summary>
    public const int DefaultMaxRows = 8192;

    /// <summary>
    /// Mean over the rows of <paramref name="data"/> of L_k = log (1/k) Σ_i w_i on the discrete graph (every node drawn
    /// from its family's discrete family, at training step <paramref name="step"/> for temperature-dependent ones such
    /// as IGR's argmax), drawing the k samples in chunks so that at most <paramref name="maxRows"/> rows × samples are
    /// in flight (k up to 50,000 fits in memory).
    /// </summary>
    public static double Bound(IStochasticModel model, ReadOnlySpan<float> data, int k, Rng rng, long step = 0, int maxRows = DefaultMaxRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        int features = model.RowFeatures;
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"k (evaluation samples) must be ≥ 1, got {k}.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        if (data.Length % features != 0) throw new ArgumentException($"data of {data.Length} values is not rows of the model's {features} features.", nameof(data));
        int n = data.Length / features;
        int batch = Math.Clamp(maxRows / Math.Min(k, maxRows), 1, Math.Max(n, 1));
        int chunk = Math.Max(1, Math.Min(k, maxRows / batch));
        double total = 0;
        var arena = Arena;
        using var noGrad = Autograd.NoGrad();
        var running = t_running is { } r0 && r0.Length >= batch ? r0 : t_running = new double[batch];
        for (int start = 0; start < n; start += batch)
        {
            int rows = Math.Min(batch, n - start);
            Array.Fill(running, double.NegativeInfinity, 0, rows);
            for (int done = 0; done < k; done += chunk)
            {
                int c = Math.Min(chunk, k - done);
                using (arena.Begin())
                {
                    var x = Tensor<float>.Uninitialized(new Shape(rows, features));
                    data.Slice(start * features, rows * features).CopyTo(x.Span);
                    var graph = t_discreteGraph ??= new StochasticGraph<float>(rng, step, discrete: true);
                    graph.Reset(rng, step);
                    var lse = model.LogWeights(graph, x, c, training: false).LogSumExp(0).Span;
                    for (int r = 0; r < rows; r++) running[r] = LogAddExp(running[r], lse[r]);
                }
            }
            for (int r = 0; r < rows; r++) total += running[r] - Math.Log(k);
        }
        double mean = total / n;
        if (!double.IsFinite(mean)) throw new NonFiniteException($"evaluation L_{k}: the bound is {mean}.");
        return mean;
    }

    /// <summary>
    /// Mean over the rows of <paramref name="data"/> of the single-sample relaxed bound the model trains at step
    /// <paramref name="step"/>: log p(x, z̃) − log q(z̃ | x) at one relaxed draw z̃ per row (with
    /// <see cref="SbnOptions.AnalyticKl"/>, log p(x | z̃) − KL). It is the "test ELBO" the IGR paper reports; it is not a
    /// bound on the discrete model's likelihood (<see cref="Bound"/> is). Score-function nodes are discrete, so for them
    /// it is L_1.
    /// </summary>
    public static double RelaxedBound(IStochasticModel model, ReadOnlySpan<float> data, Rng rng, long step = 0, int maxRows = DefaultMaxRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        int features = model.RowFeatures;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        if (data.Length % features != 0) throw new ArgumentException($"data of {data.Length} values is not rows of the model's {features} features.", nameof(data));
        int n = data.Length / features;
        double total = 0;
        var arena = Arena;
        using var noGrad = Autograd.NoGrad();
        for (int start = 0; start < n; start += maxRows)
        {
            int rows = Math.Min(maxRows, n - start);
            using (arena.Begin())
            {
                var x = Tensor<float>.FromArray(data.Slice(start * features, rows * features), rows, features);
                var logWeights = model.LogWeights(new StochasticGraph<float>(rng, step), x, 1, training: false).Span;
                for (int r = 0; r < rows; r++) total += logWeights[r];
            }
        }
        double mean = total / n;
        if (!double.IsFinite(mean)) throw new NonFiniteException($"evaluation of the relaxed bound: it is {mean}.");
        return mean;
    }

    static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double m = Math.Max(a, b);
        return m + Math.Log(Math.Exp(a - m) + Math.Exp(b - m));
    }

    /// <summary>Latent units up to which <see cref="ExactLogLikelihood"/> enumerates every joint state (2^14 per data row: about a second on sbn-toy).</summary>
    public const int MaxEnumerableUnits = 14;

    /// <summary>
    /// Exact mean log p(x) of a density SBN with binary latent layers by enumerating every joint latent state
    /// (feasible up to about 20 latent units). The reference that L_k and the true NLL are checked against.
    /// </summary>
    public static double ExactLogLikelihood(SigmoidBeliefNet model, ReadOnlySpan<float> data, int features)
    {
        var spec = model.Spec;
        if (spec.IsConditional || !model.Family.Layout.IsBinary || model.Family.Discrete is not ScoreFunctionNodes<float>)
            throw new NotSupportedException($"exact log-likelihood: only density SBNs with binary logit nodes are enumerable, got '{spec}' ({model.Family}).");
        var hidden = spec.Layers.Where(l => !l.Visible).Select(l => l.Units).ToArray();
        int totalUnits = hidden.Sum();
        if (totalUnits > MaxEnumerableUnits)
            throw new NotSupportedException($"exact log-likelihood: {totalUnits} latent units means 2^{totalUnits} states; at most {MaxEnumerableUnits} are enumerable.");
        int n = data.Length / features, states = 1 << totalUnits;
        using var noGrad = Autograd.NoGrad();
        // every joint latent state as bits, layer by layer, and log p(h) of each
        var layerStates = new Tensor<float>[hidden.Length];
        int offset = 0;
        for (int l = 0; l < hidden.Length; l++)
        {
            var bits = Tensor<float>.Zeros(states, hidden[l]);
            var s = bits.Span;
            for (int st = 0; st < states; st++)
                for (int u = 0; u < hidden[l]; u++) s[st * hidden[l] + u] = (st >> (offset + u)) & 1;
            layerStates[l] = bits;
            offset += hidden[l];
        }
        var logP = new Bernoulli<float>(model.TopPrior!.Reshape(1, -1).Expand(new Shape(states, hidden[0]))).LogProb(layerStates[0]).Sum(-1);
        for (int l = 1; l < hidden.Length; l++)
            logP = logP + new Bernoulli<float>(model.GenerativeLogits(l - 1, Corners.FromBits(layerStates[l - 1]))).LogProb(layerStates[l]).Sum(-1);
        var logPrior = logP.Span;
        var outputLogits = model.GenerativeLogits(hidden.Length - 1, Corners.FromBits(layerStates[^1]));  // [states, features]
        double total = 0;
        var joint = new double[states];
        for (int r = 0; r < n; r++)
        {
            var x = Tensor<float>.FromArray(data.Slice(r * features, features), 1, features);
            var logLik = Ops.BernoulliLogLikelihoodSum(outputLogits, x).Span;
            double max = double.NegativeInfinity;
            for (int st = 0; st < states; st++) { joint[st] = logPrior[st] + logLik[st]; max = Math.Max(max, joint[st]); }
            double sum = 0;
            for (int st = 0; st < states; st++) sum += Math.Exp(joint[st] - max);
            total += max + Math.Log(sum);
        }
        return total / n;
    }
}
