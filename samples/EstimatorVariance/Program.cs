// Fits one discrete distribution, a 10-way Categorical q(z) = softmax(θ), to minimize E_q[f(z)] with f(z) = (z − 6.3)²/20,
// with each gradient estimator, and prints them side by side: the variance and signal-to-noise of their gradient at
// the starting point, their bias against the exact gradient (by enumerating every state), and the loss reached
// after a few hundred Adam steps. Every estimator sees S = 5 samples per step. The loss reads a state through its
// one-hot x as f(x) = (Σ_k k·x_k − 6.3)²/20, which is also how the relaxed estimators evaluate it on the simplex.
using Scg.Autodiff;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;
using Scg.Stochastic.Diagnostics;
using Scg.Stochastic.Distributions;
using Scg.Stochastic.Estimators;

const int K = 10, S = 5, Draws = 4000, Steps = 300, Runs = 5;
const double LearningRate = 0.05, Temperature = 0.5;

double[] f = Enumerable.Range(0, K).Select(k => (k - 6.3) * (k - 6.3) / 20).ToArray();   // best state: z = 6
double[] theta0 = Enumerable.Range(0, K).Select(k => 0.3 * Math.Sin(2.0 * k)).ToArray();
var index = Tensor<double>.FromDoubles(Enumerable.Range(0, K).Select(k => (double)k).ToArray(), K);
Tensor<double> Loss(Tensor<double> x) => ((x * index).Sum(-1) - 6.3).Square() / 20;   // x: one-hot or simplex rows [S, K]

// Each method: how one step builds its surrogate from θ, and which objective it estimates the gradient of.
// The score-function estimators maximize log w = −f(z) (m = 1, so L_1 = E[−f]; VIMCO's m = 5 samples give L_5).
var methods = new (string Name, string Target, Func<Method> Create)[]
{
    ("reinforce", "E[-f]", () => Discrete(new ReinforceEstimator<double>(BaselineKind.None), 1)),
    ("reinforce+ema", "E[-f]", () => Discrete(new ReinforceEstimator<double>(BaselineKind.MovingAverage), 1)),
    ("nvil", "E[-f]", () => Discrete(new ReinforceEstimator<double>(BaselineKind.Nvil), 1, Tensor<double>.Zeros(1).AsParameter("b"))),
    ("vimco (m=5)", "L_5", () => Discrete(new VimcoEstimator<double>(), S)),
    ($"concrete λ={Temperature}", "E[-f]", () => Relaxed(straightThrough: false)),
    ("straight-through", "E[-f]", () => Relaxed(straightThrough: true)),
};

var p0 = Softmax(theta0);
double expected0 = p0.Zip(f, (p, v) => p * v).Sum();
var exactL1 = p0.Select((p, k) => -p * (f[k] - expected0)).ToArray();   // ∇θ E[−f] = −p ⊙ (f − E[f])
var exactL5 = ExactMultiSampleGradient(theta0, f, S);

Console.WriteLine($"Fitting a {K}-way Categorical q = softmax(θ) to minimize E_q[f], f(z) = (z − 6.3)²/20 (min {f.Min():F4} at z = 6).");
Console.WriteLine($"{S} samples per gradient; statistics over {Draws} draws at the starting θ (E[f] = {expected0:F4}); bias against the exact");
Console.WriteLine($"gradient of the target objective by enumeration (L_5 by all {Math.Pow(K, S):N0} 5-tuples); then {Steps} Adam steps (lr {LearningRate})");
Console.WriteLine($"from the same start, {Runs} seeds each.");
Console.WriteLine();
Console.WriteLine($"{"estimator",-18} {"target",-7} {"grad var",11} {"mean SNR",9} {"RMS bias",10} {"max |z|",9} {"final E[f]",11}");
Console.WriteLine(new string('-', 81));

foreach (var (name, target, create) in methods)
{
    var exact = target == "L_5" ? exactL5 : exactL1;

    // Gradient statistics at θ0: every draw is one step's gradient (baselines keep learning, as they do in training).
    var theta = Tensor<double>.FromDoubles(theta0, K).AsParameter("θ");
    var method = create();
    var rng = new Rng(1);
    var stats = GradientStatistics.Collect(_ =>
    {
        theta.ZeroGrad();
        method.Baseline?.ZeroGrad();
        method.Build(theta, rng).TotalLoss.Backward();
        if (method.Baseline is { Grad: not null } b) b.Span[0] -= 0.1 * b.Grad.Span[0];
        return theta.Grad!.ToDoubles().Select(g => -g).ToArray();
    }, Draws, exact);

    // Training from θ0 with a fresh estimator, averaged over a few seeds.
    double final = 0;
    for (int run = 0; run < Runs; run++)
    {
        theta = Tensor<double>.FromDoubles(theta0, K).AsParameter("θ");
        method = create();
        var parameters = new ParameterCollection<double>([theta]);
        if (method.Baseline is not null) parameters.Add(method.Baseline);
        var adam = new Adam<double>(parameters, LearningRate);
        rng = new Rng(100 + (ulong)run);
        for (int step = 0; step < Steps; step++)
        {
            adam.ZeroGrad();
            method.Build(theta, rng).TotalLoss.Backward();
            adam.Step();
        }
        final += Softmax(theta.ToDoubles()).Zip(f, (p, v) => p * v).Sum() / Runs;
    }

    double rmsBias = Math.Sqrt(stats.Bias.Select(b => b * b).Average());
    Console.WriteLine($"{name,-18} {target,-7} {stats.AverageVariance,11:E3} {stats.SignalToNoise.Average(),9:F3} {rmsBias,10:E2} {stats.MaxStandardizedBias,9:F1} {final,11:F4}");
}

Console.WriteLine();
Console.WriteLine("grad var: variance per element of θ's gradient, averaged; mean SNR: |mean|/std per element, averaged (a baseline");
Console.WriteLine("lowers the total variance but can move it onto elements with small means, so the mean SNR need not rise);");
Console.WriteLine("max |z|: largest |bias| in standard errors (≲ 4 is consistent with no bias; the relaxed estimators are biased");
Console.WriteLine($"for the discrete objective by design); final E[f]: exact expected loss of the fitted distribution, mean of {Runs} runs.");

// ---- the methods ----------------------------------------------------------------------------------------------

// Score function: S discrete draws, log w = −f(z), score = log q(z). m = 1 sample for each of S data points, or m = S for VIMCO.
Method Discrete(IEstimator<double> estimator, int m, Tensor<double>? baseline = null) => new((theta, rng) =>
{
    int batch = S / m;
    var q = new Categorical<double>(theta.Reshape(1, K).Expand(new Shape(S, K)));
    var z = q.Sample(rng);
    var logWeights = -Loss(z).Reshape(m, batch);
    var score = q.LogProb(z).Reshape(m, batch);
    return estimator.Build(logWeights, score, baseline?.Expand(new Shape(batch)));   // NVIL: a learned constant b
}, baseline);

// Reparameterization: S ExpConcrete draws Y at temperature λ; the loss sees exp(Y) on the simplex, or its
// straight-through one-hot (hard forward, exp(Y)'s gradient backward).
Method Relaxed(bool straightThrough) => new((theta, rng) =>
{
    var q = new ExpConcrete<double>(theta.Reshape(1, K).Expand(new Shape(S, K)), Temperature);
    var y = q.RSample(rng);
    var value = straightThrough ? q.StraightThrough(y) : y.Exp();
    var logWeights = -Loss(value).Reshape(1, S);
    return new PathwiseEstimator<double>(straightThrough ? "straight-through" : "concrete").Build(logWeights, null);
});

static double[] Softmax(double[] logits)
{
    double max = logits.Max();
    var e = logits.Select(l => Math.Exp(l - max)).ToArray();
    double sum = e.Sum();
    return e.Select(v => v / sum).ToArray();
}

// ∇θ L_m with L_m = Σ over all m-tuples Π_i q(z_i) · log (1/m) Σ_i exp(−f(z_i)); ∇θ_j Π_i q(z_i) = Π_i q(z_i) · (#{i: z_i = j} − m q_j).
static double[] ExactMultiSampleGradient(double[] theta, double[] f, int m)
{
    int k = theta.Length;
    var p = Softmax(theta);
    var gradient = new double[k];
    var z = new int[m];
    long tuples = (long)Math.Pow(k, m);
    for (long t = 0; t < tuples; t++)
    {
        long rest = t;
        double probability = 1, max = double.NegativeInfinity;
        for (int i = 0; i < m; i++) { z[i] = (int)(rest % k); rest /= k; probability *= p[z[i]]; max = Math.Max(max, -f[z[i]]); }
        double sum = 0;
        for (int i = 0; i < m; i++) sum += Math.Exp(-f[z[i]] - max);
        double weight = probability * (max + Math.Log(sum / m));
        for (int i = 0; i < m; i++) gradient[z[i]] += weight;
        for (int j = 0; j < k; j++) gradient[j] -= weight * m * p[j];
    }
    return gradient;
}

/// <summary>One estimator set up for the problem: builds a step's surrogate from θ; NVIL also carries its learned baseline.</summary>
sealed class Method(Func<Tensor<double>, Rng, Surrogate<double>> build, Tensor<double>? baseline = null)
{
    public Tensor<double>? Baseline => baseline;
    public Surrogate<double> Build(Tensor<double> theta, Rng rng) => build(theta, rng);
}
