using System.Numerics;
using Scg.Autodiff.Kernels;
using Scg.Autodiff.Layers;

namespace Scg.Autodiff.Optim;

/// <summary>Updates parameters from their accumulated gradients.</summary>
public abstract class Optimizer<T>(ParameterCollection<T> parameters, double learningRate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The parameters this optimizer updates.</summary>
    public ParameterCollection<T> Parameters { get; } = parameters;

    double _learningRate = CheckLearningRate(learningRate);

    /// <summary>The step size; a schedule may change it between steps, but it must stay finite and &gt; 0.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = CheckLearningRate(value);
    }

    static double CheckLearningRate(double learningRate) => learningRate > 0 && double.IsFinite(learningRate) ? learningRate
        : throw new ArgumentOutOfRangeException(nameof(learningRate), $"optimizer: learning rate must be finite and > 0, got {learningRate}.");

    /// <summary>One update from the current gradients (parameters without a gradient are skipped).</summary>
    public abstract void Step();

    /// <summary>Zeroes the parameters' accumulated gradients (before the next backward pass).</summary>
    public void ZeroGrad() => Parameters.ZeroGrad();
}

/// <summary>SGD with optional momentum and L2 weight decay: v = μv + g + λθ; θ -= η v.</summary>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly T[][] _velocity;
    /// <summary>μ: the velocity's decay, in [0, 1).</summary>
    public double Momentum { get; }
    /// <summary>λ ≥ 0: the L2 penalty's coefficient, added as λθ to the gradient.</summary>
    public double WeightDecay { get; }

    /// <summary>SGD over <paramref name="parameters"/> with step size <paramref name="learningRate"/>.</summary>
    public Sgd(ParameterCollection<T> parameters, double learningRate, double momentum = 0, double weightDecay = 0) : base(parameters, learningRate)
    {
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), $"Sgd: momentum must be in [0, 1), got {momentum}.");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"Sgd: weight decay must be ≥ 0, got {weightDecay}.");
        Momentum = momentum; WeightDecay = weightDecay;
        _velocity = parameters.Items.Select(p => new T[p.Size]).ToArray();
    }

    /// <inheritdoc/>
    public override void Step()
    {
        T lr = T.CreateTruncating(LearningRate), mu = T.CreateTruncating(Momentum), wd = T.CreateTruncating(WeightDecay);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters.Items[i];
            if (p.Grad is null) continue;
            var theta = p.Span; var g = p.Grad.Span; var v = _velocity[i].AsSpan();
            for (int j = 0; j < theta.Length; j++)
            {
                T d = g[j] + wd * theta[j];
                v[j] = mu * v[j] + d;
                theta[j] -= lr * v[j];
            }
        }
    }
}

/// <summary>
/// Adam (Kingma &amp; Ba 2015) with bias correction; weight decay adds λθ to the gradient (L2, as in the Concrete paper's grid).
/// </summary>
public sealed class Adam<T> : Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    readonly T[][] _m, _v;
    readonly int _size;
    T _stepSize = T.Zero, _invSqrtC2 = T.Zero;   // of the step being taken
    /// <summary>β1: the decay of the first-moment estimate, in [0, 1).</summary>
    public double Beta1 { get; }
    /// <summary>β2: the decay of the second-moment estimate, in [0, 1).</summary>
    public double Beta2 { get; }
    /// <summary>ε &gt; 0 added to the root of the second moment.</summary>
    public double Epsilon { get; }
    /// <summary>λ ≥ 0: the L2 penalty's coefficient, added as λθ to the gradient.</summary>
    public double WeightDecay { get; }
    /// <summary>Number of updates taken (the t of the bias correction).</summary>
    public long StepCount { get; private set; }

    /// <summary>Adam over <paramref name="parameters"/> with step size <paramref name="learningRate"/>.</summary>
    public Adam(ParameterCollection<T> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
        : base(parameters, learningRate)
    {
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), $"Adam: beta1 must be in [0, 1), got {beta1}.");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), $"Adam: beta2 must be in [0, 1), got {beta2}.");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"Adam: epsilon must be > 0, got {epsilon}.");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), $"Adam: weight decay must be ≥ 0, got {weightDecay}.");
        Beta1 = beta1; Beta2 = beta2; Epsilon = epsilon; WeightDecay = weightDecay;
        _m = parameters.Items.Select(p => new T[p.Size]).ToArray();
        _v = parameters.Items.Select(p => new T[p.Size]).ToArray();
        _size = parameters.Items.Sum(p => p.Size);
    }

    /// <summary>The moment estimates, for checkpoints: (first, second) per parameter.</summary>
    public (T[] First, T[] Second) Moments(int index) => (_m[index], _v[index]);

    /// <summary>Restores the step count after loading moments from a checkpoint.</summary>
    public void RestoreStepCount(long steps) => StepCount = steps >= 0 ? steps : throw new ArgumentOutOfRangeException(nameof(steps), $"Adam: step count must be ≥ 0, got {steps}.");

    /// <inheritdoc/>
    public override void Step()
    {
        StepCount++;
        double c1 = 1 - Math.Pow(Beta1, StepCount), c2 = 1 - Math.Pow(Beta2, StepCount);
        _stepSize = T.CreateTruncating(LearningRate / c1);
        _invSqrtC2 = T.CreateTruncating(1 / Math.Sqrt(c2));
        var items = Parameters.Items;
        for (int i = 0; i < items.Count; i++) _ = items[i].Grad;   // a gradient ZeroGrad left pending is cleared here, before the threads read it
        unsafe
        {
            if (_size < ParallelSize || !WorkerPool.TryRun(&UpdatePart, null, this, WorkerPool.Parts)) Update(0, 1);
        }
    }

    /// <summary>Below this many parameter values the update runs on the calling thread only.</summary>
    const int ParallelSize = 1 << 16;

    static unsafe void UpdatePart(void* context, object? state, int part, int parts) => ((Adam<T>)state!).Update(part, parts);

    /// <summary>Part `part` of every parameter, cut at multiples of 64 so each value takes the same vector path as unsplit.</summary>
    void Update(int part, int parts)
    {
        T b1 = T.CreateTruncating(Beta1), b2 = T.CreateTruncating(Beta2), eps = T.CreateTruncating(Epsilon), wd = T.CreateTruncating(WeightDecay);
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters.Items[i];
            if (p.Grad is null) continue;
            var (lo, hi) = WorkerPool.Part(p.Size, part, parts, 64);
            AdamUpdate.Apply(p.Span[lo..hi], p.Grad.Span[lo..hi], _m[i].AsSpan(lo..hi), _v[i].AsSpan(lo..hi), b1, b2, wd, _stepSize, _invSqrtC2, eps);
        }
    }
}
