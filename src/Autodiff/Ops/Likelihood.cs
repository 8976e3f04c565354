using System.Numerics;
using System.Numerics.Tensors;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

public static partial class Ops
{
    /// <summary>
    /// Σ over the last axis of the Bernoulli(σ(x)) log-probability of targets t, t·x − softplus(x), row by row. logits
    /// are [samples · rows, features] and targets [rows, features], repeated sample-major: logit row i reads target row
    /// i mod rows. The chain <c>(-BinaryCrossEntropyWithLogits(logits, SampleMajor.Repeat(targets, samples))).Sum(-1)</c>
    /// in one pass per row, without the repeated targets or the chain's intermediate tensors.
    /// </summary>
    public static unsafe Tensor<T> BernoulliLogLikelihoodSum<T>(Tensor<T> logits, Tensor<T> targets) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        const string op = "bernoulli_log_likelihood_sum";
        if (logits.Shape.Rank != 2 || targets.Shape.Rank != 2)
            throw new ShapeMismatchException($"{op}: logits and targets must be [rows, features], got {logits.Shape} and {targets.Shape}.");
        if (logits.Shape[1] != targets.Shape[1] || targets.Shape[0] == 0 || logits.Shape[0] % targets.Shape[0] != 0)
            throw new ShapeMismatchException($"{op}: logits {logits.Shape} must be a whole number of repeats of the target rows {targets.Shape} (same features, samples · rows rows).");
        var y = Tensor<T>.Uninitialized(logits.Shape.RemoveAxis(1));
        LikelihoodRows<T>.Run(&LikelihoodRows<T>.ForwardPart, logits, targets, y, default, false);
        if (Tape<T>.ShouldRecord(logits, targets))
            Tape<T>.Current.Record(BernoulliLogLikelihoodSumRecord<T>.Rent(op, y, logits, targets));
        return y;
    }

    /// <summary>
    /// Pinned operands of <see cref="BernoulliLogLikelihoodSum"/>'s row loops, and their runner: PerRow is the output
    /// (forward) or its gradient (backward).
    /// </summary>
    unsafe struct LikelihoodRows<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public T* Logits, Targets, PerRow, GradLogits;
        public int Count, TargetRows, Features;
        public bool Accumulate;

        /// <summary>Runs part over every logit row, in parts on the pool when there are many values.</summary>
        public static void Run(delegate*<void*, object?, int, int, void> part, Tensor<T> logits, Tensor<T> targets, Tensor<T> perRow, Span<T> gradLogits, bool accumulate)
        {
            fixed (T* x = logits.Span, t = targets.Span, r = perRow.Span, g = gradLogits)
            {
                var o = new LikelihoodRows<T>
                {
                    Logits = x, Targets = t, PerRow = r, GradLogits = g, Accumulate = accumulate,
                    Count = logits.Shape[0], TargetRows = targets.Shape[0], Features = logits.Shape[1],
                };
                if (logits.Shape.Size < Elementwise.ParallelLength || o.Count < 2 || !WorkerPool.TryRun(part, &o, null, WorkerPool.Parts))
                    part(&o, null, 0, 1);
            }
        }

        /// <summary>PerRow[i] = −Σ_j (softplus(x_ij) − x_ij·t_j): the kernels of the chain, on one row at a time.</summary>
        public static void ForwardPart(void* operands, object? state, int part, int parts)
        {
            var o = (LikelihoodRows<T>*)operands;
            var (begin, end) = WorkerPool.Part(o->Count, part, parts, 1);
            int f = o->Features;
            var s = Scratch<T>.First(f);
            for (int i = begin; i < end; i++)
            {
                var x = new ReadOnlySpan<T>(o->Logits + (long)i * f, f);
                Special.Softplus(x, s);
                Elementwise.Map<T, SubtractProductOperator<T>>(s, x, new ReadOnlySpan<T>(o->Targets + (long)(i % o->TargetRows) * f, f), s);
                o->PerRow[i] = -TensorPrimitives.Sum<T>(s);
            }
        }

        /// <summary>∂/∂x_ij = g_i·(t_j − σ(x_ij)), added to the logits' gradient or written where it holds none yet.</summary>
        public static void BackwardPart(void* operands, object? state, int part, int parts)
        {
            var o = (LikelihoodRows<T>*)operands;
            var (begin, end) = WorkerPool.Part(o->Count, part, parts, 1);
            int f = o->Features;
            var s = Scratch<T>.First(f);
            for (int i = begin; i < end; i++)
            {
                Special.Sigmoid(new ReadOnlySpan<T>(o->Logits + (long)i * f, f), s);
                TensorPrimitives.Subtract(new ReadOnlySpan<T>(o->Targets + (long)(i % o->TargetRows) * f, f), s, s);
                var g = new Span<T>(o->GradLogits + (long)i * f, f);
                if (o->Accumulate) TensorPrimitives.MultiplyAdd(s, o->PerRow[i], g, g);
                else TensorPrimitives.Multiply(s, o->PerRow[i], g);
            }
        }
    }

    /// <summary>bernoulli_log_likelihood_sum: the logits and the (repeated) targets.</summary>
    sealed class BernoulliLogLikelihoodSumRecord<T> : LogitsTargetsRecord<T, BernoulliLogLikelihoodSumRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public override unsafe void Backward()
        {
            if (Logits.RequiresGrad)
            {
                var g = Tape<T>.GradSpanToWrite(Logits, out bool accumulate);
                LikelihoodRows<T>.Run(&LikelihoodRows<T>.BackwardPart, Logits, Targets, Output.Grad!, g, accumulate);
            }
            if (Targets.RequiresGrad)
            {
                // ∂/∂t_j = Σ over the rows that read it of g_i·x_ij
                var gt = Tape<T>.GradSpan(Targets);
                var dy = GradOut; var x = Logits.Span;
                int f = Logits.Shape[1], targetRows = Targets.Shape[0];
                for (int i = 0; i < dy.Length; i++)
                {
                    var row = gt.Slice(i % targetRows * f, f);
                    TensorPrimitives.MultiplyAdd(x.Slice(i * f, f), dy[i], row, row);
                }
            }
        }
    }
}
