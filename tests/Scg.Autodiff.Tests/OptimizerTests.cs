using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;

namespace Scg.Autodiff.Tests;

/// <summary>Adam and SGD against hand computation, and both minimizing a convex quadratic.</summary>
public sealed class OptimizerTests
{
    /// <summary>f(θ) = Σ a_i (θ_i - c_i)², gradient 2a(θ - c).</summary>
    static readonly double[] A = [1.0, 3.0, 0.5], C = [0.5, -1.0, 2.0];

    static Tensor<T> Quadratic<T>(Tensor<T> theta) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T> =>
        ((theta - Tensor<T>.FromDoubles(C, 3)).Square() * Tensor<T>.FromDoubles(A, 3)).Sum();

    static double[] Gradient(double[] theta) => [.. theta.Select((t, i) => 2 * A[i] * (t - C[i]))];

    [Fact]
    public void AdamFirstStepsMatchKingmaBa()
    {
        const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double[] theta = [1.0, -2.0, 0.25];
        var p = Tensor<double>.FromDoubles(theta, 3).AsParameter("theta");
        var adam = new Adam<double>(new ParameterCollection<double>([p]), lr, b1, b2, eps);

        var m = new double[3]; var v = new double[3];
        for (int t = 1; t <= 5; t++)
        {
            adam.ZeroGrad();
            Quadratic(p).Backward();
            adam.Step();

            // Algorithm 1 of Kingma & Ba (2015), written out
            var g = Gradient(theta);
            for (int i = 0; i < 3; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                theta[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            TestUtil.AssertClose(theta, p.ToArray(), 1e-12, 1e-14, $"theta after step {t}");
            var (first, second) = adam.Moments(0);
            TestUtil.AssertClose(m, first, 1e-12, 1e-15, $"m after step {t}");
            TestUtil.AssertClose(v, second, 1e-12, 1e-15, $"v after step {t}");
            Assert.Equal(t, adam.StepCount);
        }
    }

    /// <summary>The first Adam step moves every coordinate by ≈ lr against its gradient's sign (m̂/√v̂ = ±1).</summary>
    [Fact]
    public void AdamFirstStepIsLearningRateTimesSign()
    {
        var p = Tensor<double>.FromDoubles([1.0, -2.0, 0.25], 3).AsParameter();
        var adam = new Adam<double>(new ParameterCollection<double>([p]), 0.01);
        Quadratic(p).Backward();
        adam.Step();
        // g = [1, -6, -1.75]
        TestUtil.AssertClose([0.99, -1.99, 0.26], p.ToArray(), 1e-9, 0, "theta");
    }

    [Fact]
    public void SgdWithMomentumMatchesHandComputation()
    {
        const double lr = 0.05, mu = 0.9, wd = 0.01;
        double[] theta = [1.0, -2.0, 0.25];
        var p = Tensor<double>.FromDoubles(theta, 3).AsParameter();
        var sgd = new Sgd<double>(new ParameterCollection<double>([p]), lr, mu, wd);
        var vel = new double[3];
        for (int t = 1; t <= 5; t++)
        {
            sgd.ZeroGrad();
            Quadratic(p).Backward();
            sgd.Step();
            var g = Gradient(theta);
            for (int i = 0; i < 3; i++)
            {
                vel[i] = mu * vel[i] + g[i] + wd * theta[i];
                theta[i] -= lr * vel[i];
            }
            TestUtil.AssertClose(theta, p.ToArray(), 1e-13, 1e-15, $"theta after step {t}");
        }

        // hand-computed first step without decay: θ - lr·g
        var q = Tensor<double>.FromDoubles([1.0, -2.0, 0.25], 3).AsParameter();
        var plain = new Sgd<double>(new ParameterCollection<double>([q]), 0.1, momentum: 0.9);
        Quadratic(q).Backward();
        plain.Step();
        TestUtil.AssertClose([0.9, -1.4, 0.425], q.ToArray(), 1e-14, 0, "first step");
        // second step with the same gradient: v = 0.9·g + g
        plain.Step();
        TestUtil.AssertClose([0.9 - 0.19, -1.4 + 1.14, 0.425 + 0.3325], q.ToArray(), 1e-14, 0, "second step");
    }

    [Fact]
    public void ParametersWithoutAGradientAreSkipped()
    {
        var used = Tensor<double>.FromDoubles([1.0], 1).AsParameter();
        var unused = Tensor<double>.FromDoubles([1.0], 1).AsParameter();
        var adam = new Adam<double>(new ParameterCollection<double>([used, unused]), 0.1);
        (used * used).Sum().Backward();
        adam.Step();
        Assert.NotEqual(1.0, used[0]);
        Assert.Equal(1.0, unused[0]);
    }

    public static IEnumerable<object[]> Optimizers => [["sgd"], ["sgd momentum"], ["adam"]];

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void ReducesAConvexQuadratic(string kind)
    {
        Minimize<double>(kind);
        Minimize<float>(kind);
    }

    static void Minimize<T>(string kind) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var p = Tensor<T>.FromDoubles([3.0, -4.0, 5.0], 3).AsParameter();
        var ps = new ParameterCollection<T>([p]);
        Optimizer<T> opt = kind switch
        {
            "sgd" => new Sgd<T>(ps, 0.1),
            "sgd momentum" => new Sgd<T>(ps, 0.05, momentum: 0.9),
            _ => new Adam<T>(ps, 0.1),
        };
        double initial = double.CreateTruncating(Quadratic(p).Item());
        Tape<T>.Current.Clear();
        double previous = initial;
        for (int step = 0; step < 300; step++)
        {
            opt.ZeroGrad();
            var loss = Quadratic(p);
            if (step % 50 == 0 && kind == "sgd")
            {
                // plain gradient descent with a small step decreases monotonically
                double now = double.CreateTruncating(loss.Item());
                Assert.True(now <= previous, $"{kind}: loss rose from {previous} to {now}");
                previous = now;
            }
            loss.Backward();
            opt.Step();
        }
        double final = double.CreateTruncating(Quadratic(p).Item());
        Tape<T>.Current.Clear();
        Assert.True(final < 1e-3 * initial, $"{typeof(T).Name} {kind}: loss {initial} -> {final}");
        TestUtil.AssertClose(C, p.ToDoubles(), 0, 0.05, $"{kind} minimizer");
    }
}
