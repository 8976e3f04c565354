using System.Runtime.CompilerServices;
using Scg.Autodiff.Layers;
using Scg.Autodiff.Optim;

namespace Scg.Autodiff.Tests;

/// <summary>Gradient accumulation, zeroing, no-grad scopes, gradient cuts, VJPs, tape lifetime and step memory.</summary>
public sealed class TapeTests
{
    static Tensor<double> P(params double[] v) => Tensor<double>.FromDoubles(v, v.Length).AsParameter();

    [Fact]
    public void BackwardAccumulatesIntoLeavesAcrossCalls()
    {
        var x = P(1, -2, 3);
        (x * x).Sum().Backward();
        Assert.Equal([2.0, -4, 6], x.Grad!.ToArray());
        var buffer = x.Grad;
        (x * x).Sum().Backward();
        Assert.Equal([4.0, -8, 12], x.Grad!.ToArray());
        Assert.Same(buffer, x.Grad);
    }

    [Fact]
    public void ZeroGradZeroesInPlace()
    {
        var x = P(1, 2);
        (x.Exp()).Sum().Backward();
        var buffer = x.Grad!;
        x.ZeroGrad();
        Assert.Same(buffer, x.Grad);
        Assert.Equal([0.0, 0], buffer.ToArray());
        x.Square().Sum().Backward();
        Assert.Equal([2.0, 4], x.Grad!.ToArray());

        // through a parameter collection
        var w = P(5);
        var ps = new ParameterCollection<double>([x, w]);
        (x.Sum() * w.Sum()).Backward();
        ps.ZeroGrad();
        Assert.All(x.Grad!.ToArray().Concat(w.Grad!.ToArray()), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void ZeroGradBeforeAnyBackwardIsANoOp()
    {
        var x = P(1);
        x.ZeroGrad();
        Assert.Null(x.Grad);
    }

    [Fact]
    public void NoGradRecordsNothing()
    {
        var x = P(1, 2, 3);
        var tape = Tape<double>.Current;
        int before = tape.Count;
        Tensor<double> y, v, c;
        using (Autograd.NoGrad())
        {
            Assert.False(Autograd.IsRecording);
            y = (x * x).Exp().Sum();
            v = x.Reshape(3, 1).Narrow(0, 1, 2);                    // views
            c = Ops.Concat(0, x, x);                                  // multi-input
            var l = Ops.Linear(x.Reshape(1, 3), Tensor<double>.Zeros(2, 3).AsParameter(), null);
            Assert.False(l.RequiresGrad);
            using (Autograd.NoGrad()) Assert.False(Autograd.IsRecording);  // nested
            Assert.False(Autograd.IsRecording);
        }
        Assert.True(Autograd.IsRecording);
        Assert.Equal(before, tape.Count);
        Assert.False(y.RequiresGrad);
        Assert.False(v.RequiresGrad);
        Assert.False(c.RequiresGrad);
        Assert.Equal(Math.Exp(1) + Math.Exp(4) + Math.Exp(9), y.Item(), 1e-12);
        Assert.Throws<InvalidOperationException>(() => y.Backward());
    }

    [Fact]
    public void DetachAndStopGradientCutTheGradient()
    {
        var x = P(2, 3);
        (x.Detach() * x).Sum().Backward();       // d/dx (c·x) with c = x held constant
        Assert.Equal([2.0, 3], x.Grad!.ToArray());

        x.ZeroGrad();
        (x.StopGradient() * x.Square()).Sum().Backward();
        Assert.Equal([8.0, 18], x.Grad!.ToArray());

        // the score-function form x + d - StopGradient(d): value x, gradient 1 + d'
        x.ZeroGrad();
        var d = x.Exp();
        var s = (x + d - d.StopGradient()).Sum();
        Assert.Equal(5.0, s.Item(), 1e-12);
        s.Backward();
        Assert.Equal(1 + Math.Exp(2), x.Grad![0], 1e-12);
        Assert.Equal(1 + Math.Exp(3), x.Grad![1], 1e-12);

        Assert.False(x.Detach().RequiresGrad);
        Assert.True(x.Detach().IsLeaf);
    }

    [Fact]
    public void NonScalarBackwardWithASeedGivesTheVjp()
    {
        var rng = new Rng(21);
        var x = TestUtil.Normal(rng, 2, 3).AsParameter();
        var w = TestUtil.Normal(rng, 4, 3).AsParameter();
        var seed = TestUtil.Normal(rng, 2, 4);
        var y = Ops.MatMul(x, w, transB: true); // [2,4]
        y.Backward(seed);
        // VJP: dx = seed·W, dW = seedᵀ·x
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
            {
                double e = 0;
                for (int k = 0; k < 4; k++) e += seed[i, k] * w[k, j];
                Assert.Equal(e, x.Grad![i, j], 1e-12);
            }
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 3; j++)
            {
                double e = 0;
                for (int i = 0; i < 2; i++) e += seed[i, k] * x[i, j];
                Assert.Equal(e, w.Grad![k, j], 1e-12);
            }

        // a leaf root gets the seed itself
        var z = P(1, 2);
        z.Backward(Tensor<double>.FromDoubles([3, 4], 2));
        Assert.Equal([3.0, 4], z.Grad!.ToArray());
    }

    [Fact]
    public void ReluGradientIsGatedOnTheInputNotTheGradient()
    {
        var x = P(-1, 2, -3, 4);
        var seed = Tensor<double>.FromDoubles([5, -6, 7, -8], 4);
        x.Relu().Backward(seed);
        Assert.Equal([0.0, -6, 0, -8], x.Grad!.ToArray());
    }

    [Fact]
    public void BackwardFreesTheGraphAndTheTapeIsEmptyAfterwards()
    {
        var x = P(1, 2);
        var tape = Tape<double>.Current;
        tape.Clear();
        var y = (x.Exp() * x).Sum();
        Assert.True(tape.Count > 0);
        y.Backward();
        Assert.Equal(0, tape.Count);

        // an abandoned forward pass is dropped by Clear
        _ = (x * x).Sum();
        Assert.True(tape.Count > 0);
        tape.Clear();
        Assert.Equal(0, tape.Count);
    }

    /// <summary>A freed record goes back to its kind's free list without its references, so it keeps no tensor alive.</summary>
    [Fact]
    public void FreedRecordsKeepNoTensorAlive()
    {
        var x = P(1, 2, 3);
        var freedByBackward = ResultOfAFreedPass(x, backward: true);
        var freedByClear = ResultOfAFreedPass(x, backward: false);
        GC.Collect();
        Assert.False(freedByBackward.IsAlive, "an op result outlived the Backward that freed its records");
        Assert.False(freedByClear.IsAlive, "an op result outlived the Clear that freed its records");
    }

    /// <summary>A weak reference to an op result of a pass whose records Backward (or Clear) has freed.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    static WeakReference ResultOfAFreedPass(Tensor<double> x, bool backward)
    {
        var y = x.Exp();
        var loss = Ops.Concat(0, y * x, y.Reshape(3, 1).Max(1)).Sum();
        if (backward) loss.Backward();
        else Tape<double>.Current.Clear();
        return new WeakReference(y);
    }

    /// <summary>An op takes a freed record of its kind: once a pass has run, a recorded pass allocates what the same pass under NoGrad does.</summary>
    [Fact]
    public void RecordingReusesFreedRecords()
    {
        var x = P(1, 2, 3, 4, 5, 6);
        var w = Tensor<double>.FromDoubles([0.5, -1, 2, 0, 1, -0.5], 2, 3).AsParameter();
        var tape = Tape<double>.Current;
        tape.Clear();

        long BytesOfAPass(bool record)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            if (record)
            {
                Pass();
                tape.Clear();
            }
            else
                using (Autograd.NoGrad()) Pass();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        void Pass()
        {
            var h = Ops.Linear(x.Reshape(2, 3), w).Tanh();
            _ = (Ops.MatMul(h, w) / (x.Reshape(2, 3).Square() + 1)).LogSoftmax().Gather([0, 2]).Sum();
        }

        BytesOfAPass(record: true);   // the first pass creates the records (and JIT-compiles)
        BytesOfAPass(record: false);
        for (int i = 0; i < 3; i++) Assert.Equal(BytesOfAPass(record: false), BytesOfAPass(record: true));
    }

    /// <summary>
    /// Each thread records on its own tape. Two fresh threads each record one op, so the two tapes are at the same
    /// generation and the same node index: Backward of the first thread's result on the second thread must not walk
    /// the second thread's entry, which would write a gradient into the wrong parameter.
    /// </summary>
    [Fact]
    public void BackwardOnAnotherThreadThanTheRecordingOneThrows()
    {
        var x = P(1, 2);
        var w = P(3, 4);
        Tensor<double>? fromFirst = null;
        Exception? error = null;
        var first = new Thread(() => fromFirst = (x * x).Sum());
        first.Start();
        first.Join();
        var second = new Thread(() =>
        {
            var own = (w * w).Sum();
            Assert.Equal(fromFirst!.Node, own.Node);
            try { fromFirst.Backward(); } catch (Exception e) { error = e; }
        });
        second.Start();
        second.Join();
        var ex = Assert.IsType<InvalidOperationException>(error);
        Assert.Contains("recorded on thread", ex.Message);
        Assert.Contains("call Backward on the thread that ran the forward pass", ex.Message);
        Assert.Null(x.Grad);
        Assert.Null(w.Grad);
    }

    [Fact]
    public void AnOpOnAnotherThreadsResultThrows()
    {
        var x = P(1, 2);
        Tensor<double>? fromFirst = null;
        var first = new Thread(() => fromFirst = x.Exp());
        first.Start();
        first.Join();
        Exception? error = null;
        var second = new Thread(() => { try { _ = fromFirst! * x; } catch (Exception e) { error = e; } });
        second.Start();
        second.Join();
        Assert.Contains("run the whole forward pass on one thread", Assert.IsType<InvalidOperationException>(error).Message);
    }

    [Fact]
    public void ATensorUsedTwiceGetsBothContributions()
    {
        var x = P(3);
        var y = x.Exp();
        (y * y + y).Sum().Backward(); // d/dx (e^2x + e^x) = 2e^2x + e^x
        Assert.Equal(2 * Math.Exp(6) + Math.Exp(3), x.Grad![0], 1e-9);
    }

    // ---- steps ----------------------------------------------------------------------------------------

    /// <summary>One training step: an MLP classifier's NLL, backward, Adam.</summary>
    sealed class Step
    {
        readonly Mlp<float> _model;
        readonly Adam<float> _adam;
        readonly Tensor<float> _x;
        readonly int[] _labels;

        public Step(int batch, int hidden)
        {
            var rng = new Rng(31);
            _model = new Mlp<float>(rng, [4, hidden, 3], Activation.Tanh);
            _adam = new Adam<float>(new ParameterCollection<float>(_model.Parameters()), 1e-2);
            _x = TestUtil.Make<float>(rng, Domain.Normal, batch, 4);
            _labels = [.. Enumerable.Range(0, batch).Select(i => i % 3)];
        }

        public float Run()
        {
            _adam.ZeroGrad();
            var loss = -_model.Forward(_x).LogSoftmax().Gather(_labels).Mean();
            float value = loss.Item();
            loss.Backward();
            _adam.Step();
            return value;
        }
    }

    /// <summary>Bytes allocated on this thread per step over <paramref name="steps"/> steps, checking the tape and the arena after each.</summary>
    static long BytesPerStep(Step step, StepArena<float> arena, int steps, ref float loss)
    {
        var tape = Tape<float>.Current;
        int rented = arena.Rented;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
            using (arena.Begin())
            {
                loss = step.Run();
                Assert.Equal(0, tape.Count);
                Assert.True(rented == 0 || rented == arena.Rented, $"step rented {arena.Rented} tensors, earlier steps {rented}");
                rented = arena.Rented;
            }
        return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
    }

    /// <summary>Bytes allocated on this thread per step, with nothing else in the loop.</summary>
    static long BareBytesPerStep(Step step, StepArena<float> arena, int steps, ref float loss)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
            using (arena.Begin()) loss = step.Run();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / steps;
    }

    [Fact]
    public void FiveThousandStepsKeepTheTapeEmptyAndMemoryFlat()
    {
        var step = new Step(batch: 8, hidden: 16);
        var arena = new StepArena<float>();
        Tape<float>.Current.Clear();
        float first = 0, last = 0;
        BytesPerStep(step, arena, 1, ref first);
        BytesPerStep(step, arena, 99, ref last); // warm-up: arena buffers, gradient buffers, Adam state, JIT
        // five windows of 1000 steps: the same small allocation per step in each (nothing grows with the step count)
        long[] windows = [.. Enumerable.Range(0, 5).Select(_ => BytesPerStep(step, arena, 1000, ref last))];
        Assert.True(windows.Max() - windows.Min() <= windows.Min() / 10 + 16, $"bytes per step drift across windows: {string.Join(", ", windows)}");
        Assert.True(windows.Max() < 8192, $"bytes per step: {string.Join(", ", windows)}");
        Assert.True(last < first, $"loss went from {first} to {last}");
    }

    [Fact]
    public void StepsReuseBuffersInsteadOfReallocatingThem()
    {
        const int batch = 32, hidden = 256; // one [batch, hidden] float activation is 32 KB
        var step = new Step(batch, hidden);
        var arena = new StepArena<float>();
        Tape<float>.Current.Clear();
        float loss = 0;
        BytesPerStep(step, arena, 10, ref loss);
        long perStep = BytesPerStep(step, arena, 100, ref loss);
        // what remains per step are small objects (tensor headers, views): far less than one activation buffer
        Assert.True(perStep < batch * hidden * sizeof(float) / 4, $"{perStep} bytes allocated per step after warm-up");

        // the measure sees buffers: without an arena the same step allocates several activations
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) step.Run();
        long unpooled = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        Assert.True(unpooled > 2 * batch * hidden * sizeof(float), $"{unpooled} bytes per step without an arena");
    }

    /// <summary>
    /// An arena that reuses its headers makes a repeated step allocate nothing at all (ops, views, gradients, Adam),
    /// with the same losses as an arena of new headers; its tensors are the same objects step after step.
    /// </summary>
    [Fact]
    public void AnArenaThatReusesHeadersMakesARepeatedStepAllocateNothing()
    {
        var reused = new Step(batch: 8, hidden: 16);
        var fresh = new Step(batch: 8, hidden: 16);
        var reusing = new StepArena<float> { ReusesHeaders = true };
        var renting = new StepArena<float>();
        Tape<float>.Current.Clear();
        float a = 0, b = 0;
        BytesPerStep(reused, reusing, 10, ref a);
        BytesPerStep(fresh, renting, 10, ref b);
        Assert.Equal(b, a);
        // the least of three windows of 200 steps: an allocation in every step shows in each window, a one-off one
        // by the runtime (seen once in the full suite under DOTNET_EnableHWIntrinsic=0, about 2 KB) in one at most
        long reusedBytes = long.MaxValue, freshBytes = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            reusedBytes = Math.Min(reusedBytes, BareBytesPerStep(reused, reusing, 200, ref a));
            freshBytes = Math.Min(freshBytes, BareBytesPerStep(fresh, renting, 200, ref b));
        }
        Assert.Equal(b, a);
        Assert.Equal(0, reusedBytes);
        Assert.True(freshBytes > 0, "the measure sees the headers of an arena that does not reuse them");

        Tensor<float> first, second;
        using (reusing.Begin()) first = Tensor<float>.Full(new Shape(2, 3), 1f).Reshape(3, 2);
        using (reusing.Begin()) second = Tensor<float>.Full(new Shape(2, 3), 2f).Reshape(3, 2);
        Assert.Same(first, second);
        Assert.Equal(new Shape(3, 2), second.Shape);
    }

    /// <summary>
    /// A step of a header-reusing arena that ends without Backward (it threw) leaves no record behind: the next step's
    /// gradient is the one of its own pass, as without the failed step.
    /// </summary>
    [Fact]
    public void AStepThatEndedWithoutBackwardDoesNotReachTheNextStepsGradient()
    {
        var arena = new StepArena<double> { ReusesHeaders = true };
        var w = P(1, 2, 3);
        Tape<double>.Current.Clear();
        using (arena.Begin()) _ = (w * w).Sum();   // recorded, never backpropagated
        using (arena.Begin())
        {
            // the first tensor of this step reuses the header of the last step's w * w, and receives a gradient
            var p = Tensor<double>.Full(new Shape(3), 2.0).AsParameter();
            (p * w).Sum().Backward();
        }
        Assert.Equal(new[] { 2.0, 2, 2 }, w.Grad!.ToDoubles());
        Assert.Equal(0, Tape<double>.Current.Count);
    }

    [Fact]
    public void ATensorFromAnEndedStepThrows()
    {
        var arena = new StepArena<double>();
        var x = P(1, 2, 3);
        Tensor<double> y, view;
        using (arena.Begin())
        {
            y = x.Exp();
            view = y.Reshape(3, 1);
            _ = y.Span; _ = view.Span;
        }
        using (arena.Begin())
        {
            Assert.Throws<InvalidOperationException>(() => y.Span.ToArray());
            Assert.Throws<InvalidOperationException>(() => view.ToArray());
            // even once the new step has reused the memory
            var z = x.Exp();
            Assert.Throws<InvalidOperationException>(() => y.Item());
            Assert.Equal(Math.Exp(1), z.Span[0], 1e-15);
            var ex = Assert.Throws<InvalidOperationException>(() => y.Exp());
            Assert.Contains("step", ex.Message);
        }
        // a clone survives
        Tensor<double> kept;
        using (arena.Begin()) kept = x.Exp().Clone();
        using (arena.Begin()) Assert.Equal(Math.Exp(2), kept.Span[1], 1e-15);
    }

    [Fact]
    public void ArenaScopesRestoreThePreviousArena()
    {
        var outer = new StepArena<double>();
        var inner = new StepArena<double>();
        var x = P(1);
        using (outer.Begin())
        {
            _ = x.Exp();
            using (inner.Begin()) _ = x.Exp();
            Assert.Equal(1, inner.Rented);
            _ = x.Exp();
            Assert.Equal(2, outer.Rented);
        }
        _ = x.Exp();
        Assert.Equal(2, outer.Rented);
        Tape<double>.Current.Clear();
    }
}
