using System.Numerics;

namespace Scg.Autodiff.Tests;

/// <summary>One input of an op case: its dims, value range, values to stay away from, and whether it is a constant (no gradient check).</summary>
public sealed record CaseInput(int[] Dims, Domain Domain = Domain.Normal, double[]? Avoid = null, bool Constant = false);

/// <summary>How much a float forward result may differ from the double one beyond its own rounding (see <see cref="OpCase.FloatScale"/>).</summary>
public enum Conditioning
{
    /// <summary>Relative error only (elementwise functions, movement).</summary>
    Elementwise,
    /// <summary>Sums of many terms: absolute slack √K·max|x| with K the reduced length.</summary>
    Reduction,
    /// <summary>Products summed over k: absolute slack √k·max|a|·max|b|.</summary>
    Product,
    /// <summary>A difference of terms of the inputs' size (e.g. softplus(x) - x·t): absolute slack max|x|.</summary>
    Cancellation,
}

/// <summary>
/// A differentiable op with its parameters and inputs, runnable in any element type: the single list that both the
/// gradient checks and the float/double agreement tests walk.
/// </summary>
public sealed record OpCase(string Name, string Op, CaseInput[] Inputs)
{
    public int? Axis { get; init; }
    public int Axis1 { get; init; }
    public bool Keep { get; init; }
    public double P { get; init; }
    public double Lo { get; init; }
    public double Hi { get; init; }
    public bool TransA { get; init; }
    public bool TransB { get; init; }
    public int Start { get; init; }
    public int Length { get; init; }
    public int[] Dims { get; init; } = [];
    public int[] Indices { get; init; } = [];
    public Conditioning Conditioning { get; init; } = Conditioning.Elementwise;
    /// <summary>The accumulation length K for Reduction/Product conditioning.</summary>
    public int K { get; init; } = 1;

    public override string ToString() => Name;

    /// <summary>Runs the op on a full input list (constants included).</summary>
    public Tensor<T> Run<T>(Tensor<T>[] x) where T : unmanaged, IBinaryFloatingPointIeee754<T> => Op switch
    {
        "add" => x[0] + x[1],
        "sub" => x[0] - x[1],
        "mul" => x[0] * x[1],
        "div" => x[0] / x[1],
        "neg" => -x[0],
        "exp" => x[0].Exp(),
        "log" => x[0].Log(),
        "log1p" => x[0].Log1p(),
        "expm1" => x[0].Expm1(),
        "sqrt" => x[0].Sqrt(),
        "pow" => x[0].Pow(P),
        "square" => x[0].Square(),
        "abs" => x[0].Abs(),
        "tanh" => x[0].Tanh(),
        "sigmoid" => x[0].Sigmoid(),
        "logsigmoid" => x[0].LogSigmoid(),
        "softplus" => x[0].Softplus(),
        "relu" => x[0].Relu(),
        "clamp" => x[0].Clamp(Lo, Hi),
        "where" => Ops.Where(x[0], x[1], x[2]),
        "sum" => Axis is int a ? x[0].Sum(a, Keep) : x[0].Sum(),
        "mean" => Axis is int a ? x[0].Mean(a, Keep) : x[0].Mean(),
        "max" => Axis is int a ? x[0].Max(a, Keep) : x[0].Max(),
        "logsumexp" => x[0].LogSumExp(Axis ?? -1, Keep),
        "softmax" => x[0].Softmax(),
        "log_softmax" => x[0].LogSoftmax(),
        "matmul" => Ops.MatMul(x[0], x[1], TransA, TransB),
        "linear" => Ops.Linear(x[0], x[1], x.Length > 2 ? x[2] : null),
        "reshape" => x[0].Reshape(Dims),
        "transpose" => x[0].Transpose(Axis ?? -2, Axis1),
        "narrow" => x[0].Narrow(Axis ?? 0, Start, Length),
        // a narrow of a narrow: a view of a view (offset relative to an offset)
        "narrow_narrow" => x[0].Narrow(Axis ?? 0, Start, Length).Narrow(Axis ?? 0, 1, Length - 1),
        "concat" => Ops.Concat(Axis ?? 0, x),
        "stack" => Ops.Stack(Axis ?? 0, x),
        "index_select" => x[0].IndexSelect(Axis ?? 0, Indices),
        "gather" => x[0].Gather(Indices),
        "expand" => x[0].Expand(new Shape(Dims)),
        "bce" => Ops.BinaryCrossEntropyWithLogits(x[0], x[1]),
        "logistic_log_density_sum" => Ops.LogisticLogDensitySum(x[0], P, x[1]),
        "bernoulli_log_likelihood_sum" => Ops.BernoulliLogLikelihoodSum(x[0], x[1]),
        _ => throw new InvalidOperationException($"unknown op {Op}"),
    };

    /// <summary>Deterministic double inputs (seeded by the case name), optionally rounded to float precision.</summary>
    public double[][] InputValues(bool roundToFloat = false)
    {
        var rng = new Rng(StableHash(Name));
        var values = new double[Inputs.Length][];
        for (int i = 0; i < Inputs.Length; i++)
        {
            var v = TestUtil.Values(rng, Inputs[i].Domain, new Shape(Inputs[i].Dims).Size, Inputs[i].Avoid);
            if (roundToFloat) for (int j = 0; j < v.Length; j++) v[j] = (float)v[j];
            values[i] = v;
        }
        return values;
    }

    public Tensor<T>[] Tensors<T>(double[][] values) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        [.. Inputs.Select((inp, i) => Tensor<T>.FromDoubles(values[i], inp.Dims))];

    /// <summary>The absolute slack (before multiplying by the tolerance) that the conditioning of this op allows.</summary>
    public double FloatScale(double[][] values)
    {
        double MaxAbs(int i) => values[i].Length == 0 ? 0 : values[i].Max(Math.Abs);
        return Conditioning switch
        {
            Conditioning.Elementwise => 0,
            Conditioning.Reduction => Math.Sqrt(K) * MaxAbs(0),
            Conditioning.Product => Math.Sqrt(K) * MaxAbs(0) * MaxAbs(1) + (values.Length > 2 ? MaxAbs(2) : 0),
            Conditioning.Cancellation => Enumerable.Range(0, values.Length).Max(MaxAbs),
            _ => throw new InvalidOperationException(),
        };
    }

    static ulong StableHash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }
}

/// <summary>Every differentiable op, with broadcasting, axes, flags and view/copy paths spelled out.</summary>
public static class OpCatalog
{
    static CaseInput In(params int[] dims) => new(dims);
    static CaseInput In(Domain d, params int[] dims) => new(dims, d);

    static string Dims(int[] d) => "[" + string.Join(",", d) + "]";

    public static readonly IReadOnlyList<OpCase> All = Build();

    public static readonly IReadOnlyDictionary<string, OpCase> ByName = All.ToDictionary(c => c.Name);

    public static IEnumerable<object[]> Names => All.Select(c => new object[] { c.Name });

    static List<OpCase> Build()
    {
        var cases = new List<OpCase>();

        // binary ops with broadcasting, both directions
        int[][][] pairs =
        [
            [[3, 4], [3, 4]], [[3, 4], [4]], [[4], [3, 4]], [[3, 1], [1, 4]], [[1, 4], [3, 1]],
            [[2, 3, 4], [3, 1]], [[3, 1], [2, 3, 4]], [[], [2, 3]], [[2, 3], []], [[2, 1, 4], [3, 1]],
        ];
        foreach (var op in new[] { "add", "sub", "mul", "div" })
            foreach (var p in pairs)
                cases.Add(new($"{op} {Dims(p[0])} {Dims(p[1])}", op,
                    [In(p[0]), In(op == "div" ? Domain.Positive : Domain.Normal, p[1])]));

        // unary elementwise, 35 elements: every vector width and a scalar tail
        int[] u = [5, 7];
        cases.Add(new("neg", "neg", [In(u)]));
        cases.Add(new("exp", "exp", [In(u)]));
        cases.Add(new("log", "log", [In(Domain.Positive, u)]));
        cases.Add(new("log1p", "log1p", [In(Domain.AboveMinusHalf, u)]));
        cases.Add(new("expm1", "expm1", [In(u)]));
        cases.Add(new("sqrt", "sqrt", [In(Domain.Positive, u)]));
        foreach (double p in new[] { 0.5, 2, -1.5, 3, 0, 1.0 / 3 })
            cases.Add(new($"pow {p:G4}", "pow", [In(p == 2 || p == 3 ? Domain.Normal : Domain.Positive, u)]) { P = p });
        cases.Add(new("square", "square", [In(u)]));
        cases.Add(new("abs", "abs", [In(Domain.AwayFromZero, u)]));
        cases.Add(new("tanh", "tanh", [In(u)]));
        cases.Add(new("sigmoid", "sigmoid", [In(Domain.Wide, u)]));
        cases.Add(new("logsigmoid", "logsigmoid", [In(Domain.Wide, u)]));
        cases.Add(new("softplus", "softplus", [In(Domain.Wide, u)]));
        cases.Add(new("relu", "relu", [In(Domain.AwayFromZero, u)]));
        // points inside and outside [lo, hi], none within 0.05 of a bound
        cases.Add(new("clamp", "clamp", [new CaseInput(u, Domain.Wide, [-0.5, 0.7])]) { Lo = -0.5, Hi = 0.7 });
        cases.Add(new("clamp lo=hi", "clamp", [new CaseInput(u, Domain.Wide, [0.25])]) { Lo = 0.25, Hi = 0.25 });
        cases.Add(new("where", "where", [new CaseInput([3, 4], Domain.Mask, Constant: true), In(3, 4), In(3, 4)]));
        cases.Add(new("bce", "bce", [In(Domain.Wide, 3, 4), In(Domain.Unit, 3, 4)]) { Conditioning = Conditioning.Cancellation });
        // location and value of the logit Binary Concrete node, at a low and a high λ; rank 1, 2 and 3 (210 values: every
        // vector width and tail of the maps; short rows keep each sum, and so the finite differences' rounding, small)
        foreach (var (dims, lambda) in new (int[], double)[] { ([7], 0.5), ([3, 5], 2.0 / 3), ([2, 35, 3], 0.1), ([4, 6], 3.0) })
            cases.Add(new($"logistic_log_density_sum {Dims(dims)} lambda {lambda:G3}", "logistic_log_density_sum", [In(Domain.Wide, dims), In(Domain.Wide, dims)])
            { P = lambda, Conditioning = Conditioning.Cancellation });

        // one target row per logit row, two samples of three target rows (37 features: every vector width and tail), one target row for all
        foreach (var (logits, targets) in new (int[], int[])[] { ([3, 4], [3, 4]), ([6, 37], [3, 37]), ([4, 5], [1, 5]) })
            cases.Add(new($"bernoulli_log_likelihood_sum {Dims(logits)} {Dims(targets)}", "bernoulli_log_likelihood_sum", [In(Domain.Wide, logits), In(Domain.Unit, targets)])
            { Conditioning = Conditioning.Cancellation });

        // reductions over every axis of a rank-3 tensor, keepDim both ways, and over all
        int[] r3 = [2, 3, 4];
        foreach (var op in new[] { "sum", "mean", "max", "logsumexp" })
        {
            foreach (int axis in new[] { 0, 1, 2, -1, -3 })
                foreach (bool keep in new[] { false, true })
                    cases.Add(new($"{op} axis {axis} keep {keep}", op, [In(r3)])
                    { Axis = axis, Keep = keep, Conditioning = Conditioning.Reduction, K = r3[axis < 0 ? axis + 3 : axis] });
            if (op != "logsumexp")
                cases.Add(new($"{op} all", op, [In(r3)]) { Conditioning = Conditioning.Reduction, K = 24 });
        }
        cases.Add(new("sum all of a scalar", "sum", [In()]));
        cases.Add(new("logsumexp rank 1", "logsumexp", [In(9)]) { Axis = 0, Conditioning = Conditioning.Reduction, K = 9 });
        foreach (var op in new[] { "softmax", "log_softmax" })
            foreach (var dims in new int[][] { [7], [3, 5], [2, 3, 4], [2, 19] })
                cases.Add(new($"{op} {Dims(dims)}", op, [In(Domain.Wide, dims)]) { Conditioning = Conditioning.Reduction, K = dims[^1] });

        // matrix products: stored shapes follow the flags (op(a) is m×k = 3×4, op(b) is k×n = 4×5)
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
            {
                int[] a2 = ta ? [4, 3] : [3, 4], b2 = tb ? [5, 4] : [4, 5];
                cases.Add(new($"matmul 2d ta={ta} tb={tb}", "matmul", [In(a2), In(b2)]) { TransA = ta, TransB = tb, Conditioning = Conditioning.Product, K = 4 });
                cases.Add(new($"matmul batched ta={ta} tb={tb}", "matmul", [In([2, .. a2]), In([2, .. b2])]) { TransA = ta, TransB = tb, Conditioning = Conditioning.Product, K = 4 });
                cases.Add(new($"matmul rank3 x rank2 ta={ta} tb={tb}", "matmul", [In([2, .. a2]), In(b2)]) { TransA = ta, TransB = tb, Conditioning = Conditioning.Product, K = 4 });
            }
        cases.Add(new("linear with bias", "linear", [In(4, 3), In(5, 3), In(5)]) { Conditioning = Conditioning.Product, K = 3 });
        cases.Add(new("linear without bias", "linear", [In(4, 3), In(5, 3)]) { Conditioning = Conditioning.Product, K = 3 });
        cases.Add(new("linear rank-3 input", "linear", [In(2, 3, 3), In(4, 3), In(4)]) { Conditioning = Conditioning.Product, K = 3 });
        cases.Add(new("linear rank-1 input", "linear", [In(3), In(4, 3), In(4)]) { Conditioning = Conditioning.Product, K = 3 });

        // movement
        foreach (var dims in new int[][] { [6, 4], [-1, 2], [4, -1, 3], [24], [2, -1], [1, 2, 3, 4] })
            cases.Add(new($"reshape {Dims(dims)}", "reshape", [In(r3)]) { Dims = dims });
        cases.Add(new("reshape to scalar", "reshape", [In(1, 1)]) { Dims = [] });
        foreach (var (dims, a0, a1) in new (int[], int, int)[]
                 {
                     ([3, 4], 0, 1), ([3, 4], -1, -2), ([2, 3, 4], 0, 1), ([2, 3, 4], 0, 2), ([2, 3, 4], 1, 2), ([2, 3, 4], -1, -3),
                     ([2, 3, 2, 2], 0, 3), ([2, 3, 2, 2], 1, 2), ([2, 3, 2, 2], 0, 1), ([2, 3, 2, 2], 2, 3), ([2, 3, 2, 2], 1, 1),
                 })
            cases.Add(new($"transpose {Dims(dims)} {a0} {a1}", "transpose", [In(dims)]) { Axis = a0, Axis1 = a1 });
        foreach (var (dims, axis, start, length) in new (int[], int, int, int)[]
                 {
                     ([3, 4, 5], 0, 1, 2), ([3, 4, 5], 1, 1, 2), ([3, 4, 5], 2, 2, 3), ([3, 4, 5], -1, 0, 1), ([3, 4, 5], 1, 0, 4),
                     ([4, 3], 0, 1, 3), ([4, 3], 1, 1, 2), ([9], 0, 3, 4), ([1, 4, 3], 1, 1, 2),
                 })
        {
            string path = new Shape(dims).Split(axis < 0 ? axis + dims.Length : axis).outer == 1 ? "view" : "copy";
            cases.Add(new($"narrow {Dims(dims)} axis {axis} [{start},{start + length}) {path}", "narrow", [In(dims)]) { Axis = axis, Start = start, Length = length });
        }
        cases.Add(new("narrow of a narrow view", "narrow_narrow", [In(6, 2)]) { Axis = 0, Start = 2, Length = 3 });
        cases.Add(new("narrow of a narrow copy", "narrow_narrow", [In(2, 6)]) { Axis = 1, Start = 2, Length = 3 });
        foreach (var (axis, shapes) in new (int, int[][])[]
                 {
                     (0, [[1, 3, 2], [2, 3, 2], [3, 3, 2]]), (1, [[2, 1, 2], [2, 3, 2], [2, 2, 2]]),
                     (2, [[2, 3, 1], [2, 3, 3], [2, 3, 2]]), (-1, [[2, 2], [2, 5]]), (0, [[4]]),
                 })
            cases.Add(new($"concat axis {axis} {string.Join(" ", shapes.Select(Dims))}", "concat", [.. shapes.Select(In)]) { Axis = axis });
        foreach (int axis in new[] { 0, 1, 2, -1 })
            cases.Add(new($"stack axis {axis}", "stack", [In(2, 3), In(2, 3), In(2, 3)]) { Axis = axis });
        foreach (var (axis, idx) in new (int, int[])[] { (0, [2, 0, 2, 1]), (1, [3, 3, 0]), (2, [1, 1, 0, 1]), (-1, [0]) })
            cases.Add(new($"index_select axis {axis} [{string.Join(",", idx)}]", "index_select", [In(3, 4, 2)]) { Axis = axis, Indices = idx });
        cases.Add(new("gather [3,5]", "gather", [In(3, 5)]) { Indices = [4, 4, 0, 2, 1, 1, 1, 3, 0, 2, 4, 0] });
        cases.Add(new("gather [2,2,4] one per row", "gather", [In(2, 2, 4)]) { Indices = [3, 0, 0, 2] });
        cases.Add(new("gather [6]", "gather", [In(6)]) { Indices = [5, 5, 1] });
        foreach (var (from, to) in new (int[], int[])[] { ([3, 1], [2, 3, 4]), ([4], [3, 4]), ([], [2, 3]), ([1, 3, 1], [2, 3, 4]), ([2, 3], [2, 3]) })
            cases.Add(new($"expand {Dims(from)} to {Dims(to)}", "expand", [In(from)]) { Dims = to });

        return cases;
    }
}
