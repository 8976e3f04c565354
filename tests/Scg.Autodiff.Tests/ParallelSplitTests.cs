using System.Numerics;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff.Tests;

/// <summary>
/// Maps of at least <see cref="Elementwise.ParallelLength"/> values run in parts on the worker pool. Cut at multiples
/// of 64, every value takes the vector path it takes in one pass, so a long map must equal, bit for bit, the same map
/// applied to short slices (each below the threshold, so serial). Checked for the kernels, the broadcasting map, the
/// unary ops forward and backward, binary cross-entropy, the logistic log-density sum, the Bernoulli log-likelihood sum, Adam, clears of gradient
/// buffers, the Gumbel and logistic sampling transforms, row sums and their adjoint, bias rows, the argument scans and uniform fills (each part from the stream jumped to its start). The long runs are forced into
/// <see cref="ForcedParts"/> parts, also where the pool would run them serially (one core, a busy pool), and each
/// asserts that they did run in parts.
/// </summary>
public sealed class ParallelSplitTests
{
    const int Long = Elementwise.ParallelLength * 2 + 37;   // a ragged tail, well above the threshold
    const int Slice = 1024;                                  // a multiple of 64, far below it
    const int ForcedParts = 3;                               // cuts that fall at other multiples of 64 than halves

    /// <summary>Runs f, with this thread's pool jobs forced into <see cref="ForcedParts"/> parts or not; returns how
    /// many parts ran (0 when not forced).</summary>
    static int PartsRunBy(Action f, bool forced = true)
    {
        if (!forced)
        {
            f();
            return 0;
        }
        WorkerPool.ForcedParts = ForcedParts;
        int before = WorkerPool.PartsRun;
        try { f(); }
        finally { WorkerPool.ForcedParts = 0; }
        return WorkerPool.PartsRun - before;
    }

    /// <summary>`parts` parts ran: `jobs` jobs of <see cref="ForcedParts"/> parts each, or with jobs = 0 at least one.</summary>
    static void AssertRanInParts(int parts, string what, int jobs = 0)
    {
        bool ok = jobs > 0 ? parts == jobs * ForcedParts : parts >= ForcedParts && parts % ForcedParts == 0;
        Assert.True(ok, $"{what}: {parts} parts ran, expected {(jobs > 0 ? $"{jobs}" : "one or more")} job(s) of {ForcedParts}");
    }

    static void AssertSplit(int jobs, Action f, string what) => AssertRanInParts(PartsRunBy(f), what, jobs);

    static float[] Random(ulong seed, int n, double scale = 3)
    {
        var rng = new Rng(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(scale * rng.NextNormal());
        return a;
    }

    static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: element {i} of {expected.Length}: sliced {expected[i]:R}, whole {actual[i]:R}");
    }

    /// <summary>f over the whole span (split over the pool) and slice by slice (serial) give the same bits.</summary>
    static void WholeEqualsSliced(string what, Action<int, int, float[]> f)
    {
        var whole = new float[Long];
        AssertSplit(1, () => f(0, Long, whole), what);
        var sliced = new float[Long];
        for (int i = 0; i < Long; i += Slice) f(i, Math.Min(Slice, Long - i), sliced);
        AssertBits(sliced, whole, what);
    }

    [Fact]
    public void KernelMapsEqualSlicedMaps()
    {
        var a = Random(1, Long); var b = Random(2, Long); var c = Random(3, Long);
        WholeEqualsSliced("unary softplus", (i, n, y) => Special.Softplus<float>(a.AsSpan(i, n), y.AsSpan(i, n)));
        WholeEqualsSliced("binary divide", (i, n, y) => Elementwise.Map<float, DivideOperator<float>>(a.AsSpan(i, n), b.AsSpan(i, n), y.AsSpan(i, n)));
        WholeEqualsSliced("scalar right", (i, n, y) => Elementwise.MapScalarRight<float, SubtractOperator<float>>(a.AsSpan(i, n), 0.7f, y.AsSpan(i, n)));
        WholeEqualsSliced("scalar left", (i, n, y) => Elementwise.MapScalarLeft<float, DivideOperator<float>>(0.7f, a.AsSpan(i, n), y.AsSpan(i, n)));
        WholeEqualsSliced("ternary", (i, n, y) => Elementwise.Map<float, TanhGradAccumulate<float>>(a.AsSpan(i, n), b.AsSpan(i, n), c.AsSpan(i, n), y.AsSpan(i, n)));
    }

    [Fact]
    public void BroadcastRowsEqualRowByRow()
    {
        const int rows = 300, cols = 257;   // 77,100 values: split by rows
        var a = Random(4, rows * cols); var bias = Random(5, cols);
        var whole = new float[rows * cols];
        AssertSplit(1, () => Broadcast.Binary<float, SubtractOperator<float>>(a, new Shape(rows, cols), bias, new Shape(cols), whole, new Shape(rows, cols)), "broadcast subtract");
        var byRow = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            Broadcast.Binary<float, SubtractOperator<float>>(a.AsSpan(r * cols, cols), new Shape(1, cols), bias, new Shape(cols), byRow.AsSpan(r * cols, cols), new Shape(1, cols));
        AssertBits(byRow, whole, "broadcast subtract");
    }

    public static TheoryData<string> UnaryOps => ["exp", "log", "tanh", "sigmoid", "logsigmoid", "softplus", "sqrt", "neg"];

    static Tensor<float> Apply(string op, Tensor<float> x) => op switch
    {
        "exp" => x.Exp(), "log" => x.Abs().Log(), "tanh" => x.Tanh(), "sigmoid" => x.Sigmoid(), "logsigmoid" => x.LogSigmoid(),
        "softplus" => x.Softplus(), "sqrt" => x.Abs().Sqrt(), "neg" => x.Neg(),
        _ => throw new ArgumentException(op),
    };

    /// <summary>The op's value and input gradient (seeded with dy), on a leaf x of the given values, and the parts
    /// that the forward and the backward ran in (when forced).</summary>
    static (float[] Value, float[] Gradient, int ForwardParts, int BackwardParts) ValueAndGradient(string op, float[] values, float[] dy, bool forced)
    {
        var x = Tensor<float>.FromArray(values, values.Length).AsParameter("x");
        Tensor<float> y = null!;
        int forwardParts = PartsRunBy(() => y = Apply(op, x), forced);
        int backwardParts = PartsRunBy(() => y.Backward(Tensor<float>.FromArray(dy, dy.Length)), forced);
        return (y.Span.ToArray(), x.Grad!.Span.ToArray(), forwardParts, backwardParts);
    }

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void UnaryOpForwardAndBackwardEqualSliced(string op)
    {
        var x = Random(6, Long); var dy = Random(7, Long, 1);
        var (value, gradient, forwardParts, backwardParts) = ValueAndGradient(op, x, dy, forced: true);
        AssertRanInParts(forwardParts, $"{op} forward");
        AssertRanInParts(backwardParts, $"{op} backward");
        var slicedValue = new float[Long]; var slicedGradient = new float[Long];
        for (int i = 0; i < Long; i += Slice)
        {
            int n = Math.Min(Slice, Long - i);
            var (v, g, _, _) = ValueAndGradient(op, x[i..(i + n)], dy[i..(i + n)], forced: false);
            v.CopyTo(slicedValue, i); g.CopyTo(slicedGradient, i);
        }
        AssertBits(slicedValue, value, $"{op} forward");
        AssertBits(slicedGradient, gradient, $"{op} backward");
    }

    [Fact]
    public void AdamOnOneLongParameterEqualsAdamOnSlices()
    {
        const int size = (1 << 16) + 37;   // above Adam's parallel size
        var init = Random(11, size);
        var whole = Tensor<float>.FromArray(init, size).AsParameter("whole");
        var slices = Enumerable.Range(0, (size + Slice - 1) / Slice)
            .Select(k => Tensor<float>.FromArray(init.AsSpan(k * Slice, Math.Min(Slice, size - k * Slice)), Math.Min(Slice, size - k * Slice)).AsParameter($"s{k}")).ToList();
        var adamWhole = new Scg.Autodiff.Optim.Adam<float>(new Scg.Autodiff.Layers.ParameterCollection<float>([whole]), 1e-2, weightDecay: 1e-3);
        var adamSliced = new Scg.Autodiff.Optim.Adam<float>(new Scg.Autodiff.Layers.ParameterCollection<float>(slices), 1e-2, weightDecay: 1e-3);
        for (int step = 0; step < 3; step++)
        {
            var g = Random(20 + (ulong)step, size, 1);
            Tape<float>.GradSpan(whole).Clear();
            g.CopyTo(Tape<float>.GradSpan(whole));
            for (int k = 0; k < slices.Count; k++)
            {
                var gs = Tape<float>.GradSpan(slices[k]);
                g.AsSpan(k * Slice, gs.Length).CopyTo(gs);
            }
            AssertSplit(1, adamWhole.Step, $"adam step {step + 1}");
            adamSliced.Step();
        }
        AssertBits(slices.SelectMany(p => p.Span.ToArray()).ToArray(), whole.Span.ToArray(), "adam");
    }

    [Fact]
    public void BinaryCrossEntropyEqualsSliced()
    {
        var logits = Random(8, Long); var targets = Random(9, Long).Select(v => v > 0 ? 1f : 0f).ToArray(); var dy = Random(10, Long, 1);
        (float[], float[], float[]) Run(float[] l, float[] t, float[] d, bool forced)
        {
            var x = Tensor<float>.FromArray(l, l.Length).AsParameter("logits");
            var target = Tensor<float>.FromArray(t, t.Length).AsParameter("targets");
            Tensor<float> y = null!;
            int forwardParts = PartsRunBy(() => y = Ops.BinaryCrossEntropyWithLogits(x, target), forced);
            int backwardParts = PartsRunBy(() => y.Backward(Tensor<float>.FromArray(d, d.Length)), forced);
            if (forced)
            {
                AssertRanInParts(forwardParts, "bce forward");
                AssertRanInParts(backwardParts, "bce backward");
            }
            return (y.Span.ToArray(), x.Grad!.Span.ToArray(), target.Grad!.Span.ToArray());
        }
        var (value, gLogits, gTargets) = Run(logits, targets, dy, forced: true);
        var sv = new float[Long]; var sl = new float[Long]; var st = new float[Long];
        for (int i = 0; i < Long; i += Slice)
        {
            int n = Math.Min(Slice, Long - i);
            var (v, gl, gt) = Run(logits[i..(i + n)], targets[i..(i + n)], dy[i..(i + n)], forced: false);
            v.CopyTo(sv, i); gl.CopyTo(sl, i); gt.CopyTo(st, i);
        }
        AssertBits(sv, value, "bce forward");
        AssertBits(sl, gLogits, "bce logits gradient");
        AssertBits(st, gTargets, "bce targets gradient");
    }

    [Fact]
    public void SamplingTransformsEqualSliced()
    {
        var u = new float[Long];
        new Rng(12).FillUniform<float>(u);
        WholeEqualsSliced("gumbel", (i, n, y) => { u.AsSpan(i, n).CopyTo(y.AsSpan(i, n)); Special.GumbelFromUniform<float>(y.AsSpan(i, n)); });
        WholeEqualsSliced("logistic", (i, n, y) => { u.AsSpan(i, n).CopyTo(y.AsSpan(i, n)); Special.LogisticFromUniform<float>(y.AsSpan(i, n)); });
    }

    [Fact]
    public void RowSumsAndTheirAdjointEqualRowByRow()
    {
        const int rows = 300, cols = 257;
        var x = Random(13, rows * cols); var gy = Random(14, rows, 1); var gx0 = Random(15, rows * cols, 1);
        var sums = new float[rows];
        AssertSplit(1, () => Reduce.Sum<float>(x, sums, rows, cols, 1), "row sums");
        var gx = (float[])gx0.Clone();
        AssertSplit(1, () => Reduce.SumBackward<float>(gy, gx, rows, cols, 1, 0.3f), "row sums backward");
        var rowSums = new float[rows]; var rowGx = (float[])gx0.Clone();
        for (int r = 0; r < rows; r++)
        {
            Reduce.Sum<float>(x.AsSpan(r * cols, cols), rowSums.AsSpan(r, 1), 1, cols, 1);
            Reduce.SumBackward<float>(gy.AsSpan(r, 1), rowGx.AsSpan(r * cols, cols), 1, cols, 1, 0.3f);
        }
        AssertBits(rowSums, sums, "row sums");
        AssertBits(rowGx, gx, "row sums backward");
        for (int r = 0; r < rows; r++) Assert.Equal(x.AsSpan(r * cols, cols).ToArray().Sum(v => (double)v), sums[r], 2e-3);
    }

    /// <summary>
    /// The fused logistic log-density sum, forward and backward, run in parts (cut inside rows) equals the unfused
    /// chain it stands for, bit for bit: on the whole input, and on blocks of rows each below the threshold. Both
    /// inputs are intermediates; the location also feeds a row sum, so one gradient is written new and one added to.
    /// </summary>
    [Fact]
    public void LogisticLogDensitySumEqualsTheUnfusedChainInPartsAndSliced()
    {
        const int rows = 330, cols = 200;   // 66,000 values: above the threshold; 3 parts cut inside rows
        const double lambda = 0.6;
        var mu = Random(31, rows * cols); var x = Random(32, rows * cols); var dy = Random(33, rows, 1);
        (float[] Y, float[] GradMu, float[] GradX) Run(int r0, int n, bool fused, bool forced)
        {
            var muParameter = Tensor<float>.FromArray(mu[(r0 * cols)..((r0 + n) * cols)], n, cols).AsParameter("mu");
            var xParameter = Tensor<float>.FromArray(x[(r0 * cols)..((r0 + n) * cols)], n, cols).AsParameter("x");
            Tensor<float> y = null!, total = null!;
            int parts = PartsRunBy(() =>
            {
                // Intermediates, as in a model: the value's gradient is new when the op writes it, the location's is
                // already written by the row sum's backward (which runs first) and is added to.
                var location = muParameter * 1.0;
                var value = xParameter * 1.0;
                if (fused) y = Ops.LogisticLogDensitySum(location, lambda, value);
                else
                {
                    var t = location - value * lambda;
                    y = (t - 2.0 * t.Softplus() + Math.Log(lambda)).Sum(-1);
                }
                total = Ops.Add(y * Tensor<float>.FromArray(dy[r0..(r0 + n)], n), location.Sum(-1)).Sum();
                total.Backward();
            }, forced);
            if (forced) AssertRanInParts(parts, fused ? "fused logistic log-density" : "unfused chain");
            return (y.Span.ToArray(), muParameter.Grad!.Span.ToArray(), xParameter.Grad!.Span.ToArray());
        }
        var chain = Run(0, rows, fused: false, forced: false);
        var whole = Run(0, rows, fused: true, forced: true);
        AssertBits(chain.Y, whole.Y, "value, in parts");
        AssertBits(chain.GradMu, whole.GradMu, "location gradient, in parts");
        AssertBits(chain.GradX, whole.GradX, "value gradient, in parts");
        const int block = 32;   // 6,400 values: serial
        var sliced = (Y: new float[rows], GradMu: new float[rows * cols], GradX: new float[rows * cols]);
        for (int r = 0; r < rows; r += block)
        {
            int n = Math.Min(block, rows - r);
            var part = Run(r, n, fused: true, forced: false);
            part.Y.CopyTo(sliced.Y, r); part.GradMu.CopyTo(sliced.GradMu, r * cols); part.GradX.CopyTo(sliced.GradX, r * cols);
        }
        AssertBits(chain.Y, sliced.Y, "value, sliced");
        AssertBits(chain.GradMu, sliced.GradMu, "location gradient, sliced");
        AssertBits(chain.GradX, sliced.GradX, "value gradient, sliced");
    }

    /// <summary>
    /// The Bernoulli log-likelihood row sums equal, bit for bit, the chain they replace (binary cross-entropy against
    /// targets repeated sample-major, negated, summed over rows): forward, and the logits' gradient both written new and
    /// added to. Rows of 784 values, a multiple of every vector width, so each value takes the same vector path in both.
    /// Run whole in parts (cut between rows) and serially.
    /// </summary>
    [Fact]
    public void BernoulliLogLikelihoodSumEqualsTheChainInParts()
    {
        const int samples = 2, targetRows = 48, cols = 784;   // 75,264 logits: above the threshold
        const int rows = samples * targetRows;
        var logits = Random(41, rows * cols); var targets = Random(42, targetRows * cols, 0.3); var dy = Random(43, rows, 1);
        for (int i = 0; i < targets.Length; i++) targets[i] = targets[i] > 0 ? 1 : 0;
        (float[] Y, float[] GradNew, float[] GradAdded) Run(bool fused, bool forced)
        {
            var parameter = Tensor<float>.FromArray(logits, rows, cols).AsParameter("logits");
            var t = Tensor<float>.FromArray(targets, targetRows, cols);
            Tensor<float> y = null!;
            float[] gradNew = null!;
            int parts = PartsRunBy(() =>
            {
                for (int pass = 0; pass < 2; pass++)
                {
                    // pass 0: an intermediate whose gradient the op writes new; pass 1: the leaf, whose gradient it adds to
                    var x = pass == 0 ? parameter * 1.0 : parameter;
                    y = fused ? Ops.BernoulliLogLikelihoodSum(x, t)
                        : (-Ops.BinaryCrossEntropyWithLogits(x, t.Reshape(1, targetRows, cols).Expand(new Shape(samples, targetRows, cols)).Reshape(rows, cols))).Sum(-1);
                    (y * Tensor<float>.FromArray(dy, rows)).Sum().Backward();
                    if (pass == 0) gradNew = parameter.Grad!.Span.ToArray();
                }
            }, forced);
            if (forced) AssertRanInParts(parts, fused ? "Bernoulli log-likelihood sum" : "chain");
            return (y.Span.ToArray(), gradNew, parameter.Grad!.Span.ToArray());
        }
        var chain = Run(fused: false, forced: false);
        foreach (bool forced in new[] { true, false })
        {
            var fused = Run(fused: true, forced);
            AssertBits(chain.Y, fused.Y, $"value, forced {forced}");
            AssertBits(chain.GradNew, fused.GradNew, $"gradient written new, forced {forced}");
            AssertBits(chain.GradAdded, fused.GradAdded, $"gradient added to, forced {forced}");
        }
    }

    [Fact]
    public void LongClearsZeroEveryValueInParts()
    {
        var y = Random(34, Long);
        y[0] = float.NaN;
        y[^1] = float.NegativeInfinity;
        AssertSplit(1, () => Elementwise.Clear<float>(y), "clear");
        AssertBits(new float[Long], y, "clear");
    }

    [Fact]
    public void BiasRowsAreEveryRow()
    {
        const int rows = 300, cols = 257;
        var bias = Random(16, cols);
        var y = new float[rows * cols];
        AssertSplit(1, () => Broadcast.FillRows<float>(bias, y), "bias rows");
        for (int r = 0; r < rows; r++) AssertBits(bias, y[(r * cols)..((r + 1) * cols)], $"bias row {r}");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5)]
    [InlineData(Long / 2 + 11)]
    [InlineData(Long - 1)]
    public void ScansFindTheFirstFailureInAnyPart(int first)
    {
        var x = Random(17, Long);
        if (first >= 0)
        {
            x[first] = float.NaN;
            x[Long - 1] = float.PositiveInfinity;   // a later failure in the last part does not win
            x[Math.Min(first + 70_000, Long - 1)] = float.NaN;
        }
        int found = 0;
        AssertSplit(1, () => found = Scan.IndexOfFailure<float, FiniteTest<float>>(x), "finite scan");
        Assert.Equal(first, found);
    }

    [Fact]
    public void LongUniformFillsEqualFillsInOrderAndLeaveTheSameState()
    {
        var whole = new float[Long]; var sliced = new float[Long];
        var rngWhole = new Rng(18); var rngSliced = new Rng(18);
        AssertSplit(1, () => rngWhole.FillUniform<float>(whole), "uniform fill");
        for (int i = 0; i < Long; i += Slice) rngSliced.FillUniform<float>(sliced.AsSpan(i, Math.Min(Slice, Long - i)));
        AssertBits(sliced, whole, "uniform fill");
        Assert.Equal(rngSliced.NextUInt64(), rngWhole.NextUInt64());

        var wholeDouble = new double[Long]; var slicedDouble = new double[Long];
        AssertSplit(1, () => rngWhole.FillUniform<double>(wholeDouble), "uniform fill, double");
        for (int i = 0; i < Long; i += Slice) rngSliced.FillUniform<double>(slicedDouble.AsSpan(i, Math.Min(Slice, Long - i)));
        Assert.Equal(slicedDouble, wholeDouble);
        Assert.Equal(rngSliced.NextUInt64(), rngWhole.NextUInt64());
    }
}
