using System.Numerics;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;

namespace Scg.Autodiff.Tests;

/// <summary>Wrong shapes, indices and arguments fail with the right exception and a message naming the op and the shapes; NaNs propagate.</summary>
public sealed class BadInputTests
{
    static Tensor<double> Z(params int[] dims) => Tensor<double>.Zeros(dims);

    // ---- shape mismatches ----------------------------------------------------------------------------

    [Theory]
    [InlineData("add")]
    [InlineData("sub")]
    [InlineData("mul")]
    [InlineData("div")]
    public void BinaryOpShapeMismatch(string op)
    {
        Func<Tensor<double>, Tensor<double>, Tensor<double>> f = op switch
        {
            "add" => Ops.Add, "sub" => Ops.Sub, "mul" => Ops.Mul, _ => Ops.Div,
        };
        TestUtil.Throws<ShapeMismatchException>(() => f(Z(3, 4), Z(5)), op, "[3, 4]", "[5]");
        TestUtil.Throws<ShapeMismatchException>(() => f(Z(2, 3, 4), Z(2, 4)), op, "[2, 3, 4]", "[2, 4]");
    }

    [Fact]
    public void MatMulShapeMismatch()
    {
        TestUtil.Throws<ShapeMismatchException>(() => Ops.MatMul(Z(3, 4), Z(5, 6)), "matmul", "[3, 4]", "[5, 6]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.MatMul(Z(3, 4), Z(3, 6), transB: true), "matmul", "[3, 4]", "[3, 6]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.MatMul(Z(4), Z(4, 2)), "matmul", "[4]", "[4, 2]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.MatMul(Z(4, 2), Z(2, 4, 2)), "matmul", "[4, 2]", "[2, 4, 2]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.MatMul(Z(2, 3, 4), Z(3, 4, 5)), "matmul", "[2, 3, 4]", "[3, 4, 5]");
    }

    [Fact]
    public void LinearShapeMismatch()
    {
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Linear(Z(2, 3), Z(4, 5)), "linear", "[2, 3]", "[4, 5]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Linear(Z(2, 5), Z(4, 5), Z(3)), "linear", "[3]", "[4, 5]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Linear(Z(2, 5), Z(20)), "linear", "[2, 5]", "[20]");
    }

    [Fact]
    public void ConcatStackExpandShapeMismatch()
    {
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Concat(1, Z(2, 3), Z(3, 3)), "concat", "[2, 3]", "[3, 3]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Concat(0, Z(2, 3), Z(2, 3, 1)), "concat", "[2, 3]", "[2, 3, 1]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Stack(0, Z(2, 3), Z(3, 2)), "stack", "[2, 3]", "[3, 2]");
        TestUtil.Throws<ShapeMismatchException>(() => Z(3).Expand(new Shape(4)), "expand", "[3]", "[4]");
        TestUtil.Throws<ShapeMismatchException>(() => Z(2, 3).Expand(new Shape(3)), "expand", "[2, 3]", "[3]");
    }

    [Fact]
    public void WhereAndBceShapeMismatch()
    {
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Where(Z(2, 3), Z(2, 3), Z(3, 2)), "where", "[2, 3]", "[3, 2]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.Where(Z(3), Z(2, 3), Z(2, 3)), "where", "[3]", "[2, 3]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.BinaryCrossEntropyWithLogits(Z(2, 3), Z(3, 2)), "binary_cross_entropy_with_logits", "[2, 3]", "[3, 2]");
    }

    [Fact]
    public void LogisticLogDensitySumBadInput()
    {
        const string op = "logistic_log_density_sum";
        TestUtil.Throws<ShapeMismatchException>(() => Ops.LogisticLogDensitySum(Z(2, 3), 0.5, Z(3, 2)), op, "[2, 3]", "[3, 2]");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.LogisticLogDensitySum(Z(), 0.5, Z()), op, "rank at least 1", "[]");
        foreach (double lambda in new[] { 0, -1, double.NaN, double.PositiveInfinity })
            TestUtil.Throws<ArgumentOutOfRangeException>(() => Ops.LogisticLogDensitySum(Z(2, 3), lambda, Z(2, 3)), op, "lambda", "positive finite", $"got {lambda}");
    }

    [Fact]
    public void BernoulliLogLikelihoodSumBadInput()
    {
        const string op = "bernoulli_log_likelihood_sum";
        TestUtil.Throws<ShapeMismatchException>(() => Ops.BernoulliLogLikelihoodSum(Z(4, 3), Z(2, 5)), op, "[4, 3]", "[2, 5]", "same features");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.BernoulliLogLikelihoodSum(Z(5, 3), Z(2, 3)), op, "[5, 3]", "[2, 3]", "whole number of repeats");
        TestUtil.Throws<ShapeMismatchException>(() => Ops.BernoulliLogLikelihoodSum(Z(6), Z(6)), op, "[rows, features]", "[6]");
    }

    [Fact]
    public void ReshapeToAnIncompatibleSize()
    {
        TestUtil.Throws<ShapeMismatchException>(() => Z(2, 3).Reshape(4, 2), "reshape", "[2, 3]", "[4, 2]");
        TestUtil.Throws<ShapeMismatchException>(() => Z(2, 3).Reshape(-1, 4), "reshape", "[2, 3]", "-1");
        TestUtil.Throws<ShapeMismatchException>(() => Z(2, 3).Reshape(-1, -1), "reshape", "-1");
        TestUtil.Throws<ShapeMismatchException>(() => Z(2, 3).Reshape(), "reshape", "[2, 3]", "[]");
    }

    [Fact]
    public void RankAndAxisErrors()
    {
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(2, 3, 4).Sum(3), "sum", "axis 3", "[2, 3, 4]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(2, 3).Transpose(0, 2), "transpose", "[2, 3]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(2, 3).LogSumExp(-3), "logsumexp", "[2, 3]");
        TestUtil.Throws<ArgumentException>(() => Z(2, 0).Max(1), "max", "[2, 0]", "empty");
        TestUtil.Throws<ShapeMismatchException>(() => Tensor<double>.Scalar(1).Softmax(), "softmax", "[]");
        TestUtil.Throws<ShapeMismatchException>(() => Tensor<double>.Scalar(1).LogSoftmax(), "log_softmax", "[]");
    }

    // ---- backward misuse -----------------------------------------------------------------------------

    [Fact]
    public void BackwardOnANonScalarWithoutASeed()
    {
        var x = Z(2, 3).AsParameter();
        var y = x.Exp();
        TestUtil.Throws<InvalidOperationException>(() => y.Backward(), "Backward", "[2, 3]", "not a scalar", "seed");
        TestUtil.Throws<ShapeMismatchException>(() => y.Backward(Z(3, 2)), "Backward", "[3, 2]", "[2, 3]");
        Tape<double>.Current.Clear();
    }

    [Fact]
    public void BackwardTwiceOnTheSameGraph()
    {
        var x = Z(3).AsParameter();
        var loss = x.Exp().Sum();
        loss.Backward();
        TestUtil.Throws<InvalidOperationException>(() => loss.Backward(), "Backward", "already freed");
        // also after another graph was recorded meanwhile
        var other = (x * x).Sum();
        TestUtil.Throws<InvalidOperationException>(() => loss.Backward(), "already freed");
        other.Backward();
    }

    [Fact]
    public void BackwardOnATensorThatRequiresNoGrad()
    {
        var x = Z(2, 2);
        TestUtil.Throws<InvalidOperationException>(() => x.Exp().Sum().Backward(), "Backward", "does not require grad");
        var p = Z(2).AsParameter();
        TestUtil.Throws<InvalidOperationException>(() => p.Detach().Sum().Backward(), "does not require grad");
    }

    [Fact]
    public void AsParameterOnAnOpResult()
    {
        var y = Z(2).AsParameter().Exp();
        TestUtil.Throws<InvalidOperationException>(() => y.AsParameter(), "AsParameter", "not a leaf");
        Tape<double>.Current.Clear();
    }

    // ---- ranges and arguments ------------------------------------------------------------------------

    [Fact]
    public void NarrowOutOfRange()
    {
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(3, 4).Narrow(1, 2, 3), "narrow", "[2, 5)", "[3, 4]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(3, 4).Narrow(0, -1, 2), "narrow", "[3, 4]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(3, 4).Narrow(0, 1, -1), "narrow", "[3, 4]");
    }

    [Fact]
    public void IndexOutOfRange()
    {
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(3, 4).IndexSelect(1, [0, 4]), "index_select", "index 4", "[3, 4]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(3, 4).IndexSelect(0, [-1]), "index_select", "index -1", "[3, 4]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(2, 5).Gather([0, 5]), "gather", "index 5", "[2, 5]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Z(2, 5).Gather([-1, 0]), "gather", "index -1", "[2, 5]");
        TestUtil.Throws<ShapeMismatchException>(() => Z(2, 5).Gather([0, 1, 2]), "gather", "3 indices", "[2, 5]");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Ops.OneHot<double>([0, 3], 3), "one_hot", "index 3", "row 1");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => Ops.OneHot<double>([-2], 3), "one_hot", "index -2");
    }

    [Fact]
    public void ClampWithLowAboveHigh()
    {
        TestUtil.Throws<ArgumentException>(() => Z(2).Clamp(2, 1), "clamp", "2", "1");
        TestUtil.Throws<ArgumentException>(() => Z(2).Clamp(double.NaN, 1), "clamp", "NaN");
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1e-3)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void OptimizerWithInvalidLearningRate(double lr)
    {
        var ps = new ParameterCollection<double>([Z(2).AsParameter()]);
        TestUtil.Throws<ArgumentOutOfRangeException>(() => new Sgd<double>(ps, lr), "learning rate", lr.ToString());
        TestUtil.Throws<ArgumentOutOfRangeException>(() => new Adam<double>(ps, lr), "learning rate", lr.ToString());
        var opt = new Sgd<double>(ps, 0.1);
        TestUtil.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = lr, "learning rate");
    }

    [Fact]
    public void OptimizerHyperparametersOutOfRange()
    {
        var ps = new ParameterCollection<double>([Z(2).AsParameter()]);
        TestUtil.Throws<ArgumentOutOfRangeException>(() => new Sgd<double>(ps, 0.1, momentum: 1), "momentum");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => new Adam<double>(ps, 0.1, beta1: 1), "beta1");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => new Adam<double>(ps, 0.1, beta2: -0.1), "beta2");
        TestUtil.Throws<ArgumentOutOfRangeException>(() => new Adam<double>(ps, 0.1, epsilon: 0), "epsilon");
        TestUtil.Throws<ArgumentException>(() => new ParameterCollection<double>([Z(2)]), "AsParameter");
    }

    // ---- NaN propagation and EnsureFinite ------------------------------------------------------------

    public static IEnumerable<object[]> NanOps =>
        new[] { "exp", "log", "tanh", "sigmoid", "softplus", "logsigmoid", "relu", "clamp", "sqrt", "abs", "square", "expm1", "log1p", "max", "max axis", "softmax", "log_softmax", "logsumexp", "logsumexp axis 0", "sum", "bce" }
            .SelectMany(op => new[] { new object[] { op, "float" }, new object[] { op, "double" } });

    /// <summary>
    /// A NaN in a [3, 2·Vector512.Count+1] input (at the start, in a vector body, in the tail) makes every output that
    /// depends on it NaN, and no other.
    /// </summary>
    [Theory]
    [MemberData(nameof(NanOps))]
    public void NanPropagates(string op, string type)
    {
        if (type == "float") CheckNanPropagates<float>(op);
        else CheckNanPropagates<double>(op);
    }

    static void CheckNanPropagates<T>(string op) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = 2 * System.Runtime.Intrinsics.Vector512<T>.Count + 1;
        foreach (int p in new[] { 0, 5, n - 1, n + 3, 2 * n + 9, 3 * n - 1 })
        {
            var x = TestUtil.Make<T>(new Rng((ulong)p), Domain.Positive, 3, n);
            x.Span[p] = T.NaN;
            int row = p / n, col = p % n;
            Tensor<T> y = op switch
            {
                "exp" => x.Exp(), "log" => x.Log(), "tanh" => x.Tanh(), "sigmoid" => x.Sigmoid(), "softplus" => x.Softplus(),
                "logsigmoid" => x.LogSigmoid(), "relu" => (x - 1.25).Relu(), "clamp" => x.Clamp(0.7, 1.2), "sqrt" => x.Sqrt(),
                "abs" => (x - 1.25).Abs(), "square" => x.Square(), "expm1" => x.Expm1(), "log1p" => x.Log1p(),
                "max" => x.Max(), "max axis" => x.Max(0), "softmax" => x.Softmax(), "log_softmax" => x.LogSoftmax(),
                "logsumexp" => x.LogSumExp(), "logsumexp axis 0" => x.LogSumExp(0), "sum" => x.Sum(1),
                "bce" => Ops.BinaryCrossEntropyWithLogits(x, Tensor<T>.Full(x.Shape, T.CreateTruncating(0.5))),
                _ => throw new ArgumentException(op),
            };
            Func<int, bool> dependsOnNan = op switch
            {
                "max" => _ => true,
                "max axis" or "logsumexp axis 0" => i => i == col,
                "softmax" or "log_softmax" => i => i / n == row,
                "logsumexp" or "sum" => i => i == row,
                _ => i => i == p,
            };
            var v = y.ToArray();
            for (int i = 0; i < v.Length; i++)
                Assert.True(T.IsNaN(v[i]) == dependsOnNan(i), $"{typeof(T).Name} {op}: NaN at {p}, output {i} of {y.Shape} is {v[i]}");
        }
    }

    [Fact]
    public void EnsureFiniteNamesTheElement()
    {
        var x = Tensor<double>.FromDoubles([1, 2, 3, double.NaN, 5, 6], 2, 3);
        TestUtil.Throws<NonFiniteException>(() => x.EnsureFinite("loss"), "loss", "element 3", "[2, 3]", "NaN");
        var y = Tensor<float>.FromDoubles([1, double.PositiveInfinity], 2);
        TestUtil.Throws<NonFiniteException>(() => y.EnsureFinite("grad"), "grad", "element 1", "[2]");
        var ok = Tensor<double>.FromDoubles([1, 2], 2);
        Assert.Same(ok, ok.EnsureFinite("fine"));
        // a NaN produced by an op is caught too
        TestUtil.Throws<NonFiniteException>(() => Tensor<double>.FromDoubles([-1, 4], 2).Log().EnsureFinite("log"), "log", "element 0");
    }
}
