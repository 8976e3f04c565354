using Scg.Autodiff;
using Scg.Stochastic.Distributions;
using static Scg.Stochastic.Tests.Distributions.Statistics;

namespace Scg.Stochastic.Tests.Distributions;

public class TransformTests
{
    static ITransform<double> Make(string name) => name switch
    {
        "exp" => new ExpTransform<double>(),
        "sigmoid" => new SigmoidTransform<double>(),
        "softmax++ τ=1 δ=0.1" => new SoftmaxPlusPlusTransform<double>(1, 0.1),
        "softmax++ τ=0.3 δ=2" => new SoftmaxPlusPlusTransform<double>(0.3, 2),
        "stick-breaking" => new StickBreakingTransform<double>(),
        "stick-breaking then softmax++ (IGR-SB)" => new ComposedTransform<double>(new StickBreakingTransform<double>(), new SoftmaxPlusPlusTransform<double>(0.5, 0.1)),
        "exp then softmax++ (mixed event ranks)" => new ComposedTransform<double>(new ExpTransform<double>(), new SoftmaxPlusPlusTransform<double>(0.7, 1)),
        "sigmoid then exp" => new ComposedTransform<double>(new SigmoidTransform<double>(), new ExpTransform<double>()),
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string> Names =>
    [
        "exp", "sigmoid", "softmax++ τ=1 δ=0.1", "softmax++ τ=0.3 δ=2", "stick-breaking",
        "stick-breaking then softmax++ (IGR-SB)", "exp then softmax++ (mixed event ranks)", "sigmoid then exp",
    ];

    const int Rows = 4, Dimension = 3;

    static Tensor<double> Points(ulong seed)
    {
        var rng = new Rng(seed);
        return Tensor<double>.FromDoubles([.. Enumerable.Range(0, Rows * Dimension).Select(_ => 1.5 * rng.NextNormal())], Rows, Dimension);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void InverseUndoesForward(string name)
    {
        var transform = Make(name);
        var x = Points(1);
        var y = transform.Forward(x);
        Assert.Equal(transform.ForwardShape(x.Shape), y.Shape);
        var back = transform.Inverse(y).ToDoubles();
        var xs = x.ToDoubles();
        for (int i = 0; i < xs.Length; i++) Assert.Equal(xs[i], back[i], 1e-10 * (1 + Math.Abs(xs[i])));
    }

    /// <summary>
    /// log |det J| against central differences of Forward, in double: per element for an elementwise map, per row for a
    /// map of vectors, on the first d outputs when the output has d + 1 (the simplex's free coordinates).
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void LogAbsDetJacobianMatchesFiniteDifferences(string name)
    {
        var transform = Make(name);
        var x = Points(2);
        var logDet = transform.LogAbsDetJacobian(x, transform.Forward(x)).ToDoubles();
        var xs = x.ToDoubles();
        int outputs = transform.ForwardShape(x.Shape).Last;
        const double h = 1e-5;
        double[] ForwardAt(int i, double step)
        {
            var moved = (double[])xs.Clone();
            moved[i] += step;
            return transform.Forward(Tensor<double>.FromDoubles(moved, Rows, Dimension)).ToDoubles();
        }

        if (transform.EventRank == 0)
        {
            Assert.Equal(xs.Length, logDet.Length);
            for (int i = 0; i < xs.Length; i++)
            {
                double derivative = (ForwardAt(i, h)[i] - ForwardAt(i, -h)[i]) / (2 * h);
                Assert.Equal(Math.Log(Math.Abs(derivative)), logDet[i], 1e-7);
            }
            return;
        }
        Assert.Equal(Rows, logDet.Length);
        for (int r = 0; r < Rows; r++)
        {
            var jacobian = new double[Dimension, Dimension];
            for (int j = 0; j < Dimension; j++)
            {
                var up = ForwardAt(r * Dimension + j, h);
                var down = ForwardAt(r * Dimension + j, -h);
                for (int k = 0; k < Dimension; k++) jacobian[k, j] = (up[r * outputs + k] - down[r * outputs + k]) / (2 * h);
            }
            double expected = LogAbsDeterminant(jacobian);
            Assert.Equal(expected, logDet[r], 1e-7 * (1 + Math.Abs(expected)));
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void LogAbsDetJacobianGradientMatchesFiniteDifferences(string name)
    {
        var transform = Make(name);
        var result = GradCheck.Check(x => transform.LogAbsDetJacobian(x[0], transform.Forward(x[0])), [Points(3)]);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void ComposedTransformIsItsPartsInOrder()
    {
        var stickBreaking = new StickBreakingTransform<double>();
        var softmaxPlusPlus = new SoftmaxPlusPlusTransform<double>(0.5, 0.1);
        var composed = new ComposedTransform<double>(stickBreaking, softmaxPlusPlus);
        Assert.Equal("softmax++ ∘ stick-breaking", composed.Name);
        Assert.Equal(1, composed.EventRank);
        var x = Points(4);
        var w = stickBreaking.Forward(x);
        var z = composed.Forward(x);
        Assert.Equal(softmaxPlusPlus.Forward(w).ToDoubles(), z.ToDoubles());
        Assert.Equal(stickBreaking.Inverse(softmaxPlusPlus.Inverse(z)).ToDoubles(), composed.Inverse(z).ToDoubles());
        Assert.Equal((stickBreaking.LogAbsDetJacobian(x, w) + softmaxPlusPlus.LogAbsDetJacobian(w, z)).ToDoubles(), composed.LogAbsDetJacobian(x, z).ToDoubles());

        // the one-walk inverse used by TransformedDistribution agrees with Inverse and LogAbsDetJacobian
        var (back, logDet) = composed.InverseWithLogAbsDet(z);
        Assert.Equal(composed.Inverse(z).ToDoubles(), back.ToDoubles());
        var expected = composed.LogAbsDetJacobian(back, z).ToDoubles();
        var actual = logDet.ToDoubles();
        for (int r = 0; r < Rows; r++) Assert.Equal(expected[r], actual[r], 1e-12 * (1 + Math.Abs(expected[r])));

        // an elementwise part's log-det is summed over the event axis of a vector part
        var exp = new ExpTransform<double>();
        var mixed = new ComposedTransform<double>(exp, softmaxPlusPlus);
        var e = exp.Forward(x);
        Assert.Equal((exp.LogAbsDetJacobian(x, e).Sum(-1) + softmaxPlusPlus.LogAbsDetJacobian(e, mixed.Forward(x))).ToDoubles(),
            mixed.LogAbsDetJacobian(x, mixed.Forward(x)).ToDoubles());
    }

    /// <summary>exp of a Normal is the log-normal: its density written out here, and draws that are exp of the Normal's.</summary>
    [Fact]
    public void TransformedNormalIsTheLogNormal()
    {
        double[] mu = [0.3, -1.0, 0.8], sigma = [0.5, 1.2, 2.0];
        var normal = new Normal<double>(Tensor<double>.FromDoubles(mu, 1, 3), Tensor<double>.FromDoubles(sigma, 1, 3));
        var logNormal = new TransformedDistribution<double>(normal, new ExpTransform<double>());
        Assert.Equal("exp of Normal", logNormal.Name);
        Assert.Equal(new Shape(1), logNormal.BatchShape);
        Assert.Equal(new Shape(3), logNormal.EventShape);
        Assert.Equal(normal.RSample(new Rng(5)).Exp().ToDoubles(), logNormal.RSample(new Rng(5)).ToDoubles());

        double[] y = [0.7, 2.5, 0.01];
        double expected = Enumerable.Range(0, 3).Sum(i =>
            -Math.Pow((Math.Log(y[i]) - mu[i]) / sigma[i], 2) / 2 - Math.Log(sigma[i] * y[i] * Math.Sqrt(2 * Math.PI)));
        Assert.Equal(expected, logNormal.LogProb(Tensor<double>.FromDoubles(y, 1, 3)).Item(), 1e-13);
    }

    [Fact]
    public void TransformedDistributionIsIgrWithTheSameTransform()
    {
        var location = Tensor<double>.FromDoubles([0.4, -0.8, 1.1, 0.0, 0.3, -0.2], 2, 3);
        var scale = Tensor<double>.FromDoubles([0.7, 1.3, 0.5, 1.0, 0.9, 1.1], 2, 3);
        var igr = new Igr<double>(location, scale, 0.5, IgrMap.StickBreaking, 0.1);
        var transformed = new TransformedDistribution<double>(new Normal<double>(location, scale),
            new ComposedTransform<double>(new StickBreakingTransform<double>(), new SoftmaxPlusPlusTransform<double>(0.5, 0.1)));
        Assert.Equal(igr.EventShape, transformed.EventShape);
        var z = transformed.Sample(new Rng(6));
        Assert.Equal(igr.Sample(new Rng(6)).ToDoubles(), z.ToDoubles());
        Assert.Equal(igr.LogProb(z).ToDoubles(), transformed.LogProb(z).ToDoubles());
    }

    /// <summary>Each log-det is computed on the side where it is stable: finite in float where the value has rounded.</summary>
    [Fact]
    public void LogDetsStayFiniteWhereTheValueRounds()
    {
        var logits = Tensor<float>.FromDoubles([40, -40, 120], 3);
        var sigmoid = new SigmoidTransform<float>();
        var x = sigmoid.Forward(logits);
        Assert.Equal(1f, x.Span[0]);   // σ(40) rounds to 1 in float
        var logDet = sigmoid.LogAbsDetJacobian(logits, x).ToDoubles();
        double[] expectedLogDet = [-40, -40, -120];   // log σ(x) + log σ(−x) = −|x| − 2 log(1 + e^{−|x|})
        for (int i = 0; i < 3; i++) Assert.Equal(expectedLogDet[i], logDet[i], 1e-4);

        var logSimplex = Tensor<float>.FromDoubles([-200, 0], 2);
        var exp = new ExpTransform<float>();
        var simplex = exp.Forward(logSimplex);
        Assert.Equal(0f, simplex.Span[0]);
        Assert.Equal(logSimplex.ToDoubles(), exp.LogAbsDetJacobian(logSimplex, simplex).ToDoubles());

        // softmax++ at τ = 0.01: z = (1, 0, 0) in float, log |det J| = Σ log z − 2 log τ is finite
        var softmaxPlusPlus = new SoftmaxPlusPlusTransform<float>(0.01, 0.1);
        var y = Tensor<float>.FromDoubles([2.0, 0.5], 1, 2);
        var z = softmaxPlusPlus.Forward(y);
        Assert.Equal(0f, z.Span[2]);
        double u0 = 200, u1 = 50, u2 = Math.Log(0.1);
        double expected = u0 + u1 + u2 - 3 * (u0 + Math.Log(1 + Math.Exp(u1 - u0) + Math.Exp(u2 - u0))) - 2 * Math.Log(0.01);
        Assert.Equal(expected, softmaxPlusPlus.LogAbsDetJacobian(y, z).Item(), 1e-4 * Math.Abs(expected));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxPlusPlusTransform<double>(0, 0.1));
        Assert.Contains("softmax++: temperature must be a positive finite number, got 0", e1.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => new SoftmaxPlusPlusTransform<double>(0.5, double.NaN));
        Assert.Contains("softmax++: delta must be a positive finite number, got NaN", e2.Message);
        var e3 = Assert.Throws<ShapeMismatchException>(() => new SoftmaxPlusPlusTransform<double>(0.5, 0.1).Inverse(Tensor<double>.FromDoubles([1.0], 1)));
        Assert.Contains("softmax++: y must have a last (event) axis of length at least 2, got shape [1]", e3.Message);
        var e4 = Assert.Throws<ShapeMismatchException>(() => new StickBreakingTransform<double>().Forward(Tensor<double>.Scalar(0.5)));
        Assert.Contains("stick-breaking: x must have a last (event) axis of length at least 1, got shape []", e4.Message);
        var e5 = Assert.Throws<ArgumentException>(() => new ComposedTransform<double>());
        Assert.Contains("at least one transform", e5.Message);

        // a map of vectors over a base with scalar events
        var logistic = new Logistic<double>(Tensor<double>.FromDoubles([0.0, 1.0], 2), 0.5);
        var e6 = Assert.Throws<ArgumentException>(() => new TransformedDistribution<double>(logistic, new StickBreakingTransform<double>()));
        Assert.Contains("stick-breaking of Logistic: the transform stick-breaking acts on 1 event axes, but the base Logistic has event shape []", e6.Message);
        var e7 = Assert.Throws<ShapeMismatchException>(() => new TransformedDistribution<double>(logistic, new SigmoidTransform<double>()).LogProb(Tensor<double>.FromDoubles([0.5], 1)));
        Assert.Contains("sigmoid of Logistic: value has shape [1], expected [2]", e7.Message);
    }
}
