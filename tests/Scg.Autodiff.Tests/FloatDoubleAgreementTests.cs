namespace Scg.Autodiff.Tests;

/// <summary>
/// The same op on the same (float-representable) inputs in float and in double: float forward results agree to
/// float precision, scaled by the op's conditioning (√K·max|x| for sums over K terms, √k·max|a|·max|b| for products).
/// </summary>
public sealed class FloatDoubleAgreementTests
{
    public static IEnumerable<object[]> Cases => OpCatalog.Names;

    const double ForwardTolerance = 1e-5;   // ≈ 84 float ulps
    const double BackwardTolerance = 1e-4;  // relative to the largest gradient element

    [Theory]
    [MemberData(nameof(Cases))]
    public void FloatForwardAgreesWithDouble(string name)
    {
        var c = OpCatalog.ByName[name];
        var values = c.InputValues(roundToFloat: true);
        double[] d, f;
        using (Autograd.NoGrad())
        {
            d = c.Run(c.Tensors<double>(values)).ToDoubles();
            f = c.Run(c.Tensors<float>(values)).ToDoubles();
        }
        TestUtil.AssertClose(d, f, ForwardTolerance, ForwardTolerance * c.FloatScale(values), name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FloatGradientAgreesWithDouble(string name)
    {
        var c = OpCatalog.ByName[name];
        var values = c.InputValues(roundToFloat: true);
        var gd = Gradients<double>(c, values);
        var gf = Gradients<float>(c, values);
        for (int i = 0; i < gd.Length; i++)
        {
            if (gd[i] is null) continue;
            double scale = gd[i]!.Length == 0 ? 0 : gd[i]!.Max(Math.Abs);
            TestUtil.AssertClose(gd[i], gf[i], BackwardTolerance, BackwardTolerance * scale, $"{name}, gradient of input {i}");
        }
    }

    static double[]?[] Gradients<T>(OpCase c, double[][] values) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var xs = c.Tensors<T>(values);
        for (int i = 0; i < xs.Length; i++) if (!c.Inputs[i].Constant) xs[i].AsParameter();
        var y = c.Run(xs);
        var rng = new Rng(5);
        var seed = Tensor<T>.FromDoubles(TestUtil.Values(rng, Domain.Normal, y.Size), y.Shape.ToArray());
        y.Backward(seed);
        return [.. xs.Select((x, i) => c.Inputs[i].Constant ? null : x.Grad?.ToDoubles() ?? new double[x.Size])];
    }
}
