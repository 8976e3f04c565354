using System.Runtime.Intrinsics;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff.Tests;

/// <summary>The float-lane kernels against double references on a dense grid, at each vector width this host accelerates.</summary>
public sealed class FloatMathTests
{
    /// <summary>Every 2^-10 from -120 to 120, powers of ten down to 1e-30 of both signs, and the edges.</summary>
    static float[] Grid()
    {
        var grid = new List<float>();
        for (int i = -120 * 1024; i <= 120 * 1024; i++) grid.Add(i / 1024f);
        for (int e = -30; e < 0; e++) grid.AddRange([MathF.Pow(10, e), -MathF.Pow(10, e), 3 * MathF.Pow(10, e), -3 * MathF.Pow(10, e)]);
        grid.AddRange([87.5f, -87.5f, 103.9f, -103.9f, float.MaxValue, -float.MaxValue, float.Epsilon, -float.Epsilon]);
        while (grid.Count % 16 != 0) grid.Add(0);
        return [.. grid];
    }

    static double RefSigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    public static TheoryData<string> Functions => new() { "softplus", "sigmoid", "tanh", "log" };

    static (Func<Vector128<float>, Vector128<float>>, Func<Vector256<float>, Vector256<float>>, Func<Vector512<float>, Vector512<float>>, Func<double, double>) Kernel(string name) => name switch
    {
        "softplus" => (FloatMath.Softplus<FloatVector128, Vector128<float>>, FloatMath.Softplus<FloatVector256, Vector256<float>>, FloatMath.Softplus<FloatVector512, Vector512<float>>, TestUtil.RefSoftplus),
        "sigmoid" => (FloatMath.Sigmoid<FloatVector128, Vector128<float>>, FloatMath.Sigmoid<FloatVector256, Vector256<float>>, FloatMath.Sigmoid<FloatVector512, Vector512<float>>, RefSigmoid),
        "tanh" => (FloatMath.Tanh<FloatVector128, Vector128<float>>, FloatMath.Tanh<FloatVector256, Vector256<float>>, FloatMath.Tanh<FloatVector512, Vector512<float>>, Math.Tanh),
        "log" => (FloatMath.LogPositiveNormal<FloatVector128, Vector128<float>>, FloatMath.LogPositiveNormal<FloatVector256, Vector256<float>>, FloatMath.LogPositiveNormal<FloatVector512, Vector512<float>>, Math.Log),
        _ => throw new ArgumentException(name),
    };

    /// <summary>
    /// log's domain, positive normal floats: every uniform draw's grid point near 0 and 1, and a sweep of every binade.
    /// </summary>
    static float[] PositiveNormalGrid()
    {
        var grid = new List<float>();
        for (int k = 0; k < 1 << 16; k++) grid.AddRange([(k + 0.5f) / (1 << 23), 1 - (k + 0.5f) / (1 << 23)]);
        for (float v = 1.2e-38f; v < 3e38f; v *= 1.0001f) grid.Add(v);
        while (grid.Count % 16 != 0) grid.Add(1);
        return [.. grid];
    }

    /// <summary>Largest error in units of the last place of the correctly rounded float (subnormals: of float.Epsilon).</summary>
    static void AssertWithinThreeUlps(string what, float[] x, float[] y, Func<double, double> reference)
    {
        double worst = 0, at = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double exact = reference(x[i]);
            float rounded = (float)exact;
            double ulp = Math.Max(MathF.BitIncrement(MathF.Abs(rounded)) - MathF.Abs(rounded), float.Epsilon);
            double error = Math.Abs(y[i] - exact) / ulp;
            if (!(error <= worst)) { worst = error; at = x[i]; }
        }
        Assert.True(worst <= 3, $"{what}: {worst:F2} ulp at x = {at:R}, expected at most 3.");
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void IsWithinThreeUlpsAtEveryWidth(string name)
    {
        var (f128, f256, f512, reference) = Kernel(name);
        var x = name == "log" ? PositiveNormalGrid() : Grid();
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i += 4) f128(Vector128.Create(x.AsSpan(i, 4))).CopyTo(y.AsSpan(i, 4));
        AssertWithinThreeUlps($"{name} on Vector128", x, y, reference);
        if (Vector256.IsHardwareAccelerated)
        {
            for (int i = 0; i < x.Length; i += 8) f256(Vector256.Create(x.AsSpan(i, 8))).CopyTo(y.AsSpan(i, 8));
            AssertWithinThreeUlps($"{name} on Vector256", x, y, reference);
        }
        if (Vector512.IsHardwareAccelerated)
        {
            for (int i = 0; i < x.Length; i += 16) f512(Vector512.Create(x.AsSpan(i, 16))).CopyTo(y.AsSpan(i, 16));
            AssertWithinThreeUlps($"{name} on Vector512", x, y, reference);
        }
    }

    /// <summary>
    /// The float logistic and Gumbel transforms of every kind of uniform draw (odd multiples of 2^-24: the smallest and
    /// largest 2^16, and a stride through the rest) against double references, within 3 float ulps of their terms' size.
    /// </summary>
    [Fact]
    public void NoiseTransformsOfUniformDrawsMatchDoubleReferences()
    {
        var u = new List<float>();
        for (int k = 0; k < 1 << 16; k++) u.AddRange([(k + 0.5f) / (1 << 23), 1 - (k + 0.5f) / (1 << 23)]);
        for (int k = 1 << 16; k < (1 << 23) - (1 << 16); k += 97) u.Add((k + 0.5f) / (1 << 23));
        var logistic = u.ToArray();
        var gumbel = u.ToArray();
        Special.LogisticFromUniform<float>(logistic);
        Special.GumbelFromUniform<float>(gumbel);
        const double eps = 1.0 / (1 << 24);
        for (int i = 0; i < u.Count; i++)
        {
            double x = u[i], logU = Math.Log(x), log1mU = TestUtil.RefLog1p(-x);
            double l = logU - log1mU, g = -Math.Log(-logU);
            Assert.True(Math.Abs(logistic[i] - l) <= 3 * eps * (Math.Abs(logU) + Math.Abs(log1mU)) + 1e-30, $"logistic of u = {x:R}: {logistic[i]:R}, expected {l:R}");
            Assert.True(Math.Abs(gumbel[i] - g) <= 3 * eps * (Math.Abs(g) + 1), $"Gumbel of u = {x:R}: {gumbel[i]:R}, expected {g:R}");
        }
    }

    [Fact]
    public void KeepTheSpecialValues()
    {
        var x = Vector128.Create(float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f);
        var softplus = FloatMath.Softplus<FloatVector128, Vector128<float>>(x);
        var sigmoid = FloatMath.Sigmoid<FloatVector128, Vector128<float>>(x);
        var tanh = FloatMath.Tanh<FloatVector128, Vector128<float>>(x);
        Assert.True(float.IsNaN(softplus[0]) && float.IsNaN(sigmoid[0]) && float.IsNaN(tanh[0]));
        Assert.Equal((float.PositiveInfinity, 0f), (softplus[1], softplus[2]));
        Assert.Equal((1f, 0f, 0.5f), (sigmoid[1], sigmoid[2], sigmoid[3]));
        Assert.Equal((1f, -1f), (tanh[1], tanh[2]));
        Assert.True(tanh[3] == 0 && float.IsNegative(tanh[3]), $"tanh(-0) = {tanh[3]}, expected -0");
    }
}
