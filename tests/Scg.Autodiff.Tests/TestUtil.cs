using System.Numerics;

namespace Scg.Autodiff.Tests;

/// <summary>Value ranges for generated test inputs.</summary>
public enum Domain
{
    /// <summary>Standard normal.</summary>
    Normal,
    /// <summary>3 × standard normal (wide logits).</summary>
    Wide,
    /// <summary>Uniform in (0.5, 2): safe for log, sqrt, fractional powers, division.</summary>
    Positive,
    /// <summary>Uniform in (-0.5, 2): the domain of log1p kept away from -1.</summary>
    AboveMinusHalf,
    /// <summary>Uniform in (0.05, 0.95): probabilities and targets.</summary>
    Unit,
    /// <summary>0 or 1 (both present).</summary>
    Mask,
    /// <summary>Normal values, then pushed at least 0.1 away from 0 (for kinks at 0).</summary>
    AwayFromZero,
}

public static class TestUtil
{
    /// <summary>Deterministic values for one input.</summary>
    public static double[] Values(Rng rng, Domain domain, int count, IReadOnlyList<double>? avoid = null)
    {
        var v = new double[count];
        for (int i = 0; i < count; i++)
            v[i] = domain switch
            {
                Domain.Normal => rng.NextNormal(),
                Domain.Wide => 3 * rng.NextNormal(),
                Domain.Positive => 0.5 + 1.5 * rng.NextDouble(),
                Domain.AboveMinusHalf => -0.5 + 2.5 * rng.NextDouble(),
                Domain.Unit => 0.05 + 0.9 * rng.NextDouble(),
                Domain.Mask => i % 2 == 0 ? (rng.NextDouble() < 0.7 ? 1 : 0) : (rng.NextDouble() < 0.3 ? 1 : 0),
                Domain.AwayFromZero => PushAway(rng.NextNormal(), 0, 0.1),
                _ => throw new ArgumentOutOfRangeException(nameof(domain)),
            };
        if (avoid is not null)
            for (int i = 0; i < count; i++)
                foreach (double p in avoid) v[i] = PushAway(v[i], p, 0.05);
        return v;
    }

    static double PushAway(double x, double point, double margin) =>
        Math.Abs(x - point) >= margin ? x : x >= point ? point + margin + Math.Abs(x - point) : point - margin - Math.Abs(x - point);

    public static Tensor<double> Normal(Rng rng, params int[] dims) => Tensor<double>.FromDoubles(Values(rng, Domain.Normal, new Shape(dims).Size), dims);

    public static Tensor<T> Make<T>(Rng rng, Domain domain, params int[] dims) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Tensor<T>.FromDoubles(Values(rng, domain, new Shape(dims).Size), dims);

    /// <summary>Asserts that <see cref="GradCheck.Check"/> passes with its default step and tolerances, reporting the worst element.</summary>
    public static void AssertGradients(Func<Tensor<double>[], Tensor<double>> f, Tensor<double>[] inputs, string what = "")
    {
        var result = GradCheck.Check(f, inputs);
        Assert.True(result.Passed, $"{what}: gradient check {result}");
    }

    /// <summary>|actual - expected| ≤ atol + rtol·|expected| elementwise (NaNs must match), with the first failure in the message.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double rtol, double atol = 0, string what = "")
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) || double.IsNaN(a))
            {
                Assert.True(double.IsNaN(e) && double.IsNaN(a), $"{what}: element {i}: expected {e:R}, got {a:R}");
                continue;
            }
            if (e == a) continue; // also equal infinities
            Assert.True(Math.Abs(a - e) <= atol + rtol * Math.Abs(e), $"{what}: element {i}: expected {e:R}, got {a:R} (diff {Math.Abs(a - e):E3}, allowed {atol + rtol * Math.Abs(e):E3})");
        }
    }

    /// <summary>High-accuracy log(1 + x): 2·atanh(x/(2+x)) as a series near 0 (≈2 ulp), log(1+x) where that is exact enough.</summary>
    public static double RefLog1p(double x)
    {
        if (double.IsNaN(x) || x < -0.5 || x > 1) return Math.Log(1 + x);
        double z = x / (2 + x), z2 = z * z, term = z, sum = 0;
        for (int k = 0; k < 200 && term != 0; k++)
        {
            double next = sum + term / (2 * k + 1);
            if (next == sum) break;
            sum = next;
            term *= z2;
        }
        return 2 * sum;
    }

    /// <summary>High-accuracy e^x - 1: the Taylor series for |x| &lt; 0.5, e^x - 1 elsewhere.</summary>
    public static double RefExpm1(double x)
    {
        if (double.IsNaN(x) || Math.Abs(x) >= 0.5) return Math.Exp(x) - 1;
        double term = x, sum = 0;
        for (int k = 2; k < 60 && term != 0; k++)
        {
            double next = sum + term;
            if (next == sum) break;
            sum = next;
            term *= x / k;
        }
        return sum;
    }

    /// <summary>High-accuracy log(1 + e^x).</summary>
    public static double RefSoftplus(double x) => x > 0 ? x + RefLog1p(Math.Exp(-x)) : RefLog1p(Math.Exp(x));

    public static double ToDouble<T>(T x) where T : INumberBase<T> => double.CreateTruncating(x);

    public static T From<T>(double x) where T : INumberBase<T> => T.CreateTruncating(x);

    /// <summary>Machine epsilon of T.</summary>
    public static double Eps<T>() => typeof(T) == typeof(float) ? Math.Pow(2, -23) : Math.Pow(2, -52);

    /// <summary>Asserts that <paramref name="action"/> throws exactly <typeparamref name="TEx"/> with a message containing every fragment.</summary>
    public static TEx Throws<TEx>(Action action, params string[] fragments) where TEx : Exception
    {
        var ex = Assert.Throws<TEx>(action);
        foreach (var f in fragments)
            Assert.True(ex.Message.Contains(f, StringComparison.Ordinal), $"message \"{ex.Message}\" does not mention \"{f}\"");
        return ex;
    }
}
