using System.Reflection;
using Scg.Autodiff.Layers;

namespace Scg.Autodiff.Tests;

/// <summary>Backward against finite differences in double for every differentiable op (|a − n| ≤ 1e-11 + 1e-6·|n|, see <see cref="GradCheck"/>).</summary>
public sealed class GradCheckTests
{
    public static IEnumerable<object[]> Cases => OpCatalog.Names;

    [Theory]
    [MemberData(nameof(Cases))]
    public void OpGradientMatchesFiniteDifferences(string name)
    {
        var c = OpCatalog.ByName[name];
        var all = c.Tensors<double>(c.InputValues());
        int[] variable = [.. Enumerable.Range(0, all.Length).Where(i => !c.Inputs[i].Constant)];

        Tensor<double> F(Tensor<double>[] xs)
        {
            var full = (Tensor<double>[])all.Clone();
            for (int k = 0; k < variable.Length; k++) full[variable[k]] = xs[k];
            return c.Run(full);
        }

        TestUtil.AssertGradients(F, [.. variable.Select(i => all[i])], what: name);
        Assert.Equal(0, Tape<double>.Current.Count);
    }

    public static IEnumerable<object[]> MultiInputCases =>
        OpCatalog.All.Where(c => c.Inputs.Count(i => !i.Constant) >= 2).Select(c => new object[] { c.Name });

    /// <summary>
    /// With only one input requiring grad, backward gives that input the same gradient as when all do, and leaves
    /// the others without one (the "skip inputs that need none" branches of every multi-input rule).
    /// </summary>
    [Theory]
    [MemberData(nameof(MultiInputCases))]
    public void OneInputRequiringGradGetsTheSameGradient(string name)
    {
        var c = OpCatalog.ByName[name];
        var values = c.InputValues();
        int[] variable = [.. Enumerable.Range(0, c.Inputs.Length).Where(i => !c.Inputs[i].Constant)];

        Tensor<double>[] Backward(IEnumerable<int> parameters)
        {
            var xs = c.Tensors<double>(values);
            foreach (int i in parameters) xs[i].AsParameter();
            var y = c.Run(xs);
            y.Backward(Tensor<double>.FromDoubles(TestUtil.Values(new Rng(17), Domain.Normal, y.Size), y.Shape.ToArray()));
            return xs;
        }

        var full = Backward(variable);
        foreach (int k in variable)
        {
            var xs = Backward([k]);
            for (int i = 0; i < xs.Length; i++)
                if (i == k) TestUtil.AssertClose(full[k].Grad!.ToArray(), xs[k].Grad!.ToArray(), 1e-14, 1e-14, $"{name}: input {k} alone");
                else Assert.Null(xs[i].Grad);
        }
        Assert.Equal(0, Tape<double>.Current.Count);
    }

    [Fact]
    public void ConcatAndStackOfOneTensorSeveralTimes()
    {
        var x = TestUtil.Normal(new Rng(13), 2, 3);
        TestUtil.AssertGradients(xs => Ops.Concat(1, xs[0], xs[0].Exp(), xs[0]), [x], what: "concat x, exp x, x");
        TestUtil.AssertGradients(xs => Ops.Stack(0, xs[0], xs[0]), [x], what: "stack x, x");
        TestUtil.AssertGradients(xs => xs[0] * xs[0] - xs[0] / (xs[0].Square() + 1), [x], what: "x*x - x/(x²+1)");
    }

    [Fact]
    public void MaxGradientGoesToTheFirstMaximum()
    {
        var x = Tensor<double>.FromDoubles([1, 3, 3, 2, 5, 5], 3, 2).AsParameter();
        x.Max().Backward();
        Assert.Equal([0.0, 0, 0, 0, 1, 0], x.Grad!.ToArray());
        x.ZeroGrad();
        x.Max(0).Sum().Backward();   // columns [1,3,5] and [3,2,5]
        Assert.Equal([0.0, 0, 0, 0, 1, 1], x.Grad!.ToArray());
        x.ZeroGrad();
        x.Max(1, keepDim: true).Sum().Backward(); // rows [1,3], [3,2], [5,5]
        Assert.Equal([0.0, 1, 1, 0, 1, 0], x.Grad!.ToArray());
    }

    [Fact]
    public void DocumentedSubgradientsAtKinks()
    {
        var x = Tensor<double>.FromDoubles([0, -0.0, 1, -1], 4).AsParameter();
        x.Abs().Sum().Backward();
        Assert.Equal([0.0, 0, 1, -1], x.Grad!.ToArray());      // sign(x), 0 at 0
        x.ZeroGrad();
        x.Relu().Sum().Backward();
        Assert.Equal([0.0, 0, 1, 0], x.Grad!.ToArray());       // gated on x > 0
        x.ZeroGrad();
        x.Clamp(-1, 0).Sum().Backward();
        Assert.Equal([1.0, 1, 0, 1], x.Grad!.ToArray());       // 1 on the closed interval [lo, hi]
    }

    [Fact]
    public void LogSumExpOfInfiniteRows()
    {
        double inf = double.PositiveInfinity;
        // rows: all -∞ (empty support), one +∞, -∞ mixed with finite
        var x = Tensor<double>.FromDoubles([-inf, -inf, -inf, inf, 0, 1, -inf, 0, Math.Log(3)], 3, 3);
        double[] expected = [-inf, inf, Math.Log(4)];
        TestUtil.AssertClose(expected, x.LogSumExp().ToArray(), 1e-15, 0, "rows");
        TestUtil.AssertClose(expected, x.Transpose().LogSumExp(0).ToArray(), 1e-15, 0, "columns");
        var xf = Tensor<float>.FromDoubles(x.ToArray(), 3, 3);
        TestUtil.AssertClose(expected, xf.LogSumExp().ToDoubles(), 1e-6, 0, "float rows");
        TestUtil.AssertClose(expected, xf.Transpose().LogSumExp(0).ToDoubles(), 1e-6, 0, "float columns");
        // -∞ logits get probability 0
        TestUtil.AssertClose([0, 0.25, 0.75], Tensor<double>.FromDoubles([-inf, 0, Math.Log(3)], 3).Softmax().ToArray(), 1e-15, 0, "softmax");
        TestUtil.AssertClose([-inf, Math.Log(0.25), Math.Log(0.75)], Tensor<double>.FromDoubles([-inf, 0, Math.Log(3)], 3).LogSoftmax().ToArray(), 1e-15, 0, "log_softmax");
    }

    /// <summary>The catalog names every public op of <see cref="Ops"/> except the non-differentiable ones.</summary>
    [Fact]
    public void CatalogCoversEveryPublicOp()
    {
        var opNames = new Dictionary<string, string>
        {
            ["Add"] = "add", ["Sub"] = "sub", ["Mul"] = "mul", ["Div"] = "div", ["Where"] = "where",
            ["BinaryCrossEntropyWithLogits"] = "bce", ["Neg"] = "neg", ["Exp"] = "exp", ["Log"] = "log", ["Log1p"] = "log1p",
            ["Expm1"] = "expm1", ["Sqrt"] = "sqrt", ["Pow"] = "pow", ["Square"] = "square", ["Abs"] = "abs", ["Tanh"] = "tanh",
            ["Sigmoid"] = "sigmoid", ["LogSigmoid"] = "logsigmoid", ["Softplus"] = "softplus", ["Relu"] = "relu", ["Clamp"] = "clamp",
            ["MatMul"] = "matmul", ["Linear"] = "linear", ["Reshape"] = "reshape", ["Transpose"] = "transpose", ["Narrow"] = "narrow",
            ["Concat"] = "concat", ["Stack"] = "stack", ["IndexSelect"] = "index_select", ["Gather"] = "gather", ["Expand"] = "expand",
            ["Sum"] = "sum", ["Mean"] = "mean", ["Max"] = "max", ["LogSumExp"] = "logsumexp", ["Softmax"] = "softmax",
            ["LogSoftmax"] = "log_softmax", ["LogisticLogDensitySum"] = "logistic_log_density_sum",
            ["BernoulliLogLikelihoodSum"] = "bernoulli_log_likelihood_sum",
        };
        string[] notDifferentiable = ["OneHot", "StopGradient"]; // a constant, and the gradient cut (TapeTests)
        var covered = OpCatalog.All.Select(c => c.Op).ToHashSet();
        foreach (var m in typeof(Ops).GetMethods(BindingFlags.Public | BindingFlags.Static))
        {
            if (notDifferentiable.Contains(m.Name)) continue;
            Assert.True(opNames.TryGetValue(m.Name, out var op), $"Ops.{m.Name} is new: add it to OpCatalog and to this map.");
            Assert.True(covered.Contains(op), $"Ops.{m.Name} has no case in OpCatalog.");
        }
    }

    /// <summary>
    /// Only <see cref="Ops"/> (and the lambdas inside it) records on the tape, so every recorded op is one the catalog
    /// covers. Record is internal to Scg.Autodiff; this scans the IL of every method of that assembly for calls to it.
    /// </summary>
    [Fact]
    public void OnlyOpsRecordsOnTheTape()
    {
        var callers = RecordCallers(typeof(Tape<>).Assembly);
        Assert.True(callers.Count(t => t == typeof(Ops)) >= 20, $"the scan found only {callers.Count(t => t == typeof(Ops))} calls in Ops: it no longer sees them.");
        var outside = callers.Where(t => t != typeof(Ops)).Select(t => t.FullName).Distinct().ToArray();
        Assert.True(outside.Length == 0, $"Tape.Record is called outside Ops, in {string.Join(", ", outside)}: make it an op with an OpCatalog case.");
    }

    /// <summary>The outermost declaring type of each method in <paramref name="assembly"/>, once per call to Tape&lt;T&gt;.Record.</summary>
    static List<Type> RecordCallers(Assembly assembly)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var callers = new List<Type>();
        foreach (var type in assembly.GetTypes())
            foreach (var method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method.GetMethodBody()?.GetILAsByteArray() is not { } il) continue;
                var typeArguments = type.IsGenericType ? type.GetGenericArguments() : null;
                var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
                // every byte that could be a call or callvirt opcode, followed by a method token (MethodDef, MemberRef or MethodSpec)
                for (int i = 0; i + 4 < il.Length; i++)
                {
                    if (il[i] is not (0x28 or 0x6F) || il[i + 4] is not (0x06 or 0x0A or 0x2B)) continue;
                    MethodBase? callee;
                    try { callee = type.Module.ResolveMethod(BitConverter.ToInt32(il, i + 1), typeArguments, methodArguments); }
                    catch (Exception e) when (e is ArgumentException or BadImageFormatException) { continue; }
                    if (callee is { Name: "Record", DeclaringType: { IsGenericType: true } d } && d.GetGenericTypeDefinition() == typeof(Tape<>))
                    {
                        var outer = type;
                        while (outer.DeclaringType is { } enclosing) outer = enclosing;
                        callers.Add(outer);
                    }
                }
            }
        return callers;
    }

    /// <summary>GradCheck itself notices a wrong backward rule (here y = x² whose rule forgets the factor 2).</summary>
    [Fact]
    public void GradCheckDetectsAWrongRule()
    {
        static Tensor<double> WrongSquare(Tensor<double> x)
        {
            var y = Tensor<double>.Zeros(x.Shape);
            for (int i = 0; i < x.Size; i++) y.Span[i] = x.Span[i] * x.Span[i];
            if (Tape<double>.ShouldRecord(x)) Tape<double>.Current.Record(WrongSquareRecord.Rent("wrong_square", y, x));
            return y;
        }

        var x = TestUtil.Make<double>(new Rng(3), Domain.Positive, 4);
        var result = GradCheck.Check(xs => WrongSquare(xs[0]), [x]);
        Assert.False(result.Passed, result.ToString());
    }

    /// <summary>y = exp(x) whose backward rule doubles the derivative.</summary>
    static Tensor<double> ExpWithDoubledRule(Tensor<double> x)
    {
        var y = Tensor<double>.Zeros(x.Shape);
        for (int i = 0; i < x.Size; i++) y.Span[i] = Math.Exp(x.Span[i]);
        if (Tape<double>.ShouldRecord(x)) Tape<double>.Current.Record(ExpDoubledRuleRecord.Rent("exp_doubled_rule", y, x));
        return y;
    }

    /// <summary>A one-input record whose backward is <see cref="Rule"/>.</summary>
    abstract class OneInputRecord<TSelf> : PooledRecord<double, TSelf> where TSelf : OneInputRecord<TSelf>, new()
    {
        public Tensor<double> Input = null!;

        public static TSelf Rent(string op, Tensor<double> output, Tensor<double> input)
        {
            var r = FromPool(op, output);
            r.Input = input;
            return r;
        }

        public override void Backward() => Rule(Tape<double>.GradSpan(Input), Input.Span, Output.Span, GradOut);

        protected abstract void Rule(Span<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy);

        public override void CheckInputs(Tape<double> tape) => tape.CheckSameTape(Input, Op);

        protected override void ClearReferences() => Input = null!;
    }

    /// <summary>y = x² whose rule forgets the factor 2.</summary>
    sealed class WrongSquareRecord : OneInputRecord<WrongSquareRecord>
    {
        protected override void Rule(Span<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy)
        {
            for (int i = 0; i < g.Length; i++) g[i] += dy[i] * x[i];
        }
    }

    /// <summary>y = exp(x) whose rule doubles the derivative.</summary>
    sealed class ExpDoubledRuleRecord : OneInputRecord<ExpDoubledRuleRecord>
    {
        protected override void Rule(Span<double> g, ReadOnlySpan<double> x, ReadOnlySpan<double> y, ReadOnlySpan<double> dy)
        {
            for (int i = 0; i < g.Length; i++) g[i] += 2 * dy[i] * y[i];
        }
    }

    /// <summary>
    /// A rule off by 2× fails whatever the gradients' size, down to gradients near 1e-9 (exp around -20), where
    /// |a − n| is far below the 1e-6 that an absolute error would allow; the correct rule passes at the same inputs.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(-10)]
    [InlineData(-20)]
    public void GradCheckDetectsARuleOffByTwoAtEveryMagnitude(double center)
    {
        var x = Tensor<double>.FromDoubles([center - 1, center - 0.5, center, center + 0.5, center + 1], 5);
        var result = GradCheck.Check(xs => ExpWithDoubledRule(xs[0]), [x.Clone()]);
        Assert.False(result.Passed, result.ToString());
        if (center == -20) Assert.True(Math.Abs(result.Analytic - result.Numeric) < 1e-8, result.ToString());
        TestUtil.AssertGradients(xs => xs[0].Exp(), [x], what: $"exp around {center}");
    }

    // ---- composite: a 2-layer MLP classifier loss end to end --------------------------------------------

    static readonly int[] Labels = [0, 2, 1, 1, 0];

    static Tensor<double> MlpLoss(Tensor<double>[] p)
    {
        var (x, w1, b1, w2, b2) = (p[0], p[1], p[2], p[3], p[4]);
        var logp = Ops.Linear(Ops.Linear(x, w1, b1).Tanh(), w2, b2).LogSoftmax();
        return -logp.Gather(Labels).Mean(); // NLL
    }

    [Fact]
    public void MlpLossGradientMatchesFiniteDifferences()
    {
        var rng = new Rng(11);
        Tensor<double>[] p = [TestUtil.Normal(rng, 5, 4), TestUtil.Normal(rng, 6, 4), TestUtil.Normal(rng, 6), TestUtil.Normal(rng, 3, 6), TestUtil.Normal(rng, 3)];
        TestUtil.AssertGradients(MlpLoss, p, what: "mlp");
    }

    [Fact]
    public void MlpModuleMatchesTheComposedOpsAndOneHotNll()
    {
        var rng = new Rng(12);
        var mlp = new Mlp<double>(rng, [4, 6, 3], Activation.Tanh);
        var x = TestUtil.Normal(rng, 5, 4);
        var l0 = mlp.Layers[0]; var l1 = mlp.Layers[1];
        double viaOps = MlpLoss([x, l0.Weight, l0.Bias!, l1.Weight, l1.Bias!]).Item();
        Tape<double>.Current.Clear();
        var logp = mlp.Forward(x).LogSoftmax();
        double viaOneHot = (-(Ops.OneHot<double>(Labels, 3) * logp).Sum(-1).Mean()).Item();
        Tape<double>.Current.Clear();
        Assert.Equal(viaOps, viaOneHot, 1e-14);
        TestUtil.AssertGradients(_ => -(Ops.OneHot<double>(Labels, 3) * mlp.Forward(x).LogSoftmax()).Sum(-1).Mean(),
            [.. mlp.Parameters()], what: "mlp module");
    }

    // ---- edge values: large logits stay finite, match a direct formula, and still pass the gradient check --

    static Tensor<double> T(double[] v, params int[] dims) => Tensor<double>.FromDoubles(v, dims);

    [Fact]
    public void LogSumExpOfLargeEqualLogits()
    {
        var x = T([1000, 1000], 2).AsParameter();
        var y = x.LogSumExp();
        Assert.Equal(1000 + Math.Log(2), y.Item(), 1e-12);
        y.Backward();
        // exp(x - y) with y rounded to an ulp of 1000 (1.1e-13): the gradient is 0.5 to that precision
        TestUtil.AssertClose([0.5, 0.5], x.Grad!.ToArray(), 2e-13, 0, "grad");

        var f = Tensor<float>.FromDoubles([1000, 1000], 2).LogSumExp().Item();
        Assert.Equal(1000 + Math.Log(2), f, 1e-3);
    }

    public static IEnumerable<object[]> LargeRows =>
    [
        [new double[] { 50, -50, 0, 1 }],
        [new double[] { 500, -500, 499, 0 }],
        [new double[] { -500, -500, -500, -499 }],
        [new double[] { 1000, 1000, -1000, 999 }],
    ];

    static double[] DirectLogSoftmax(double[] x)
    {
        double m = x.Max(), s = x.Sum(v => Math.Exp(v - m));
        return [.. x.Select(v => v - m - Math.Log(s))];
    }

    [Theory]
    [MemberData(nameof(LargeRows))]
    public void SoftmaxFamilyAtLargeLogits(double[] row)
    {
        var expectedLog = DirectLogSoftmax(row);
        double m = row.Max(), expectedLse = m + Math.Log(row.Sum(v => Math.Exp(v - m)));

        var x = T(row, 1, row.Length);
        var lse = x.LogSumExp().ToArray();
        var sm = x.Softmax().ToArray();
        var lsm = x.LogSoftmax().ToArray();
        Assert.All(sm.Concat(lsm).Concat(lse), v => Assert.True(double.IsFinite(v)));
        Assert.Equal(expectedLse, lse[0], 1e-12 * Math.Abs(expectedLse));
        TestUtil.AssertClose(expectedLog, lsm, 1e-13, 1e-12, "log_softmax");
        TestUtil.AssertClose([.. expectedLog.Select(Math.Exp)], sm, 1e-13, 1e-300, "softmax");
        Assert.Equal(1.0, sm.Sum(), 1e-14);

        // along axis 0 of a column too (the strided reduction path)
        Assert.Equal(expectedLse, T(row, row.Length, 1).LogSumExp(0).Item(), 1e-12 * Math.Abs(expectedLse));

        // float stays finite and close
        var xf = Tensor<float>.FromDoubles(row, 1, row.Length);
        Assert.All(xf.Softmax().ToDoubles().Concat(xf.LogSoftmax().ToDoubles()).Concat(xf.LogSumExp().ToDoubles()), v => Assert.True(double.IsFinite(v)));
        TestUtil.AssertClose(expectedLog, xf.LogSoftmax().ToDoubles(), 1e-6, 1e-4, "float log_softmax");

        var rows = T([.. row, .. row.Select(v => -v)], 2, row.Length);
        TestUtil.AssertGradients(xs => xs[0].LogSoftmax(), [rows.Clone()], what: "log_softmax");
        TestUtil.AssertGradients(xs => xs[0].Softmax(), [rows.Clone()], what: "softmax");
        TestUtil.AssertGradients(xs => xs[0].LogSumExp(), [rows.Clone()], what: "logsumexp last");
        TestUtil.AssertGradients(xs => xs[0].LogSumExp(0), [rows.Clone()], what: "logsumexp axis 0");
    }

    static readonly double[] Large = [-500, -50, -5, 5, 50, 500];

    [Fact]
    public void SoftplusLogSigmoidSigmoidAtLargeArguments()
    {
        var x = T(Large, Large.Length);
        // softplus(x) = log(1 + e^x): e^x(1 - e^x/2) below, x + e^-x above
        double[] softplus = [Math.Exp(-500), Math.Exp(-50), TestUtil.RefLog1p(Math.Exp(-5)), 5 + TestUtil.RefLog1p(Math.Exp(-5)), 50 + Math.Exp(-50), 500];
        TestUtil.AssertClose(softplus, x.Softplus().ToArray(), 1e-15, 0, "softplus");
        TestUtil.AssertClose([.. softplus.Reverse().Select(v => -v)], x.LogSigmoid().ToArray(), 1e-15, 0, "logsigmoid");
        var sig = x.Sigmoid().ToArray();
        TestUtil.AssertClose([.. Large.Select(v => 1 / (1 + Math.Exp(-v)))], sig, 1e-15, 1e-300, "sigmoid");

        var xf = Tensor<float>.FromDoubles(Large, Large.Length);
        foreach (var y in new[] { xf.Softplus(), xf.LogSigmoid(), xf.Sigmoid() })
            Assert.All(y.ToArray(), v => Assert.True(float.IsFinite(v)));
        TestUtil.AssertClose(softplus, xf.Softplus().ToDoubles(), 1e-6, 1e-37, "float softplus");

        TestUtil.AssertGradients(xs => xs[0].Softplus(), [x.Clone()], what: "softplus");
        TestUtil.AssertGradients(xs => xs[0].LogSigmoid(), [x.Clone()], what: "logsigmoid");
        TestUtil.AssertGradients(xs => xs[0].Sigmoid(), [x.Clone()], what: "sigmoid");
    }

    [Fact]
    public void BinaryCrossEntropyAtLargeLogits()
    {
        double[] logits = [500, -500, 500, -500, 50, -50, 0, 3];
        double[] targets = [1, 0, 0, 1, 0.3, 0.7, 0.5, 0.2];
        // -[t log σ(x) + (1-t) log(1-σ(x))] with log σ(x) = -softplus(-x), log(1-σ(x)) = -softplus(x)
        static double Sp(double v) => Math.Max(v, 0) + Math.Log(1 + Math.Exp(-Math.Abs(v)));
        double[] expected = [.. logits.Zip(targets, (x, t) => t * Sp(-x) + (1 - t) * Sp(x))];
        var l = T(logits, 2, 4); var t = T(targets, 2, 4);
        var y = Ops.BinaryCrossEntropyWithLogits(l, t).ToArray();
        Assert.All(y, v => Assert.True(double.IsFinite(v)));
        TestUtil.AssertClose(expected, y, 1e-13, 1e-13, "bce");

        var yf = Ops.BinaryCrossEntropyWithLogits(Tensor<float>.FromDoubles(logits, 2, 4), Tensor<float>.FromDoubles(targets, 2, 4));
        TestUtil.AssertClose(expected, yf.ToDoubles(), 1e-6, 1e-5, "float bce");

        TestUtil.AssertGradients(xs => Ops.BinaryCrossEntropyWithLogits(xs[0], xs[1]), [l, t], what: "bce");
    }
}
