using System.Numerics;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff;

public static partial class Ops
{
    /// <summary>
    /// Matrix product op(a)·op(b) over the last two axes; op transposes when the flag is set, without a copy.
    /// a is [m,k] or [batch,m,k]; b is [k,n] (shared by every batch) or [batch,k,n].
    /// </summary>
    public static Tensor<T> MatMul<T>(Tensor<T> a, Tensor<T> b, bool transA = false, bool transB = false) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var p = MatMulPlan.Of(a.Shape, b.Shape, transA, transB);
        var y = Tensor<T>.Uninitialized(p.OutShape);
        var av = a.Span; var bv = b.Span; var yv = y.Span;
        for (int i = 0; i < p.Batch; i++)
            Gemm.Multiply(p.M, p.N, p.K, av.Slice(i * p.M * p.K, p.M * p.K), transA ? p.M : p.K, transA,
                bv.Slice(i * p.BStride, p.K * p.N), transB ? p.K : p.N, transB, yv.Slice(i * p.M * p.N, p.M * p.N), p.N, accumulate: false);
        if (Tape<T>.ShouldRecord(a, b))
            Tape<T>.Current.Record(MatMulRecord<T>.Rent(y, a, b, transA, transB));
        return y;
    }

    /// <summary>matmul: the two factors and whether each was transposed.</summary>
    sealed class MatMulRecord<T> : PooledRecord<T, MatMulRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public Tensor<T> Left = null!, Right = null!;
        public bool TransposeLeft, TransposeRight;

        public static MatMulRecord<T> Rent(Tensor<T> output, Tensor<T> left, Tensor<T> right, bool transposeLeft, bool transposeRight)
        {
            var r = FromPool("matmul", output);
            r.Left = left;
            r.Right = right;
            r.TransposeLeft = transposeLeft;
            r.TransposeRight = transposeRight;
            return r;
        }

        public override void Backward()
        {
            bool ta = TransposeLeft, tb = TransposeRight;
            var p = MatMulPlan.Of(Left.Shape, Right.Shape, ta, tb);
            int m = p.M, n = p.N, k = p.K, lda = ta ? m : k, ldb = tb ? k : n;
            var dy = GradOut; var av = Left.Span; var bv = Right.Span;
            for (int i = 0; i < p.Batch; i++)
            {
                var dyi = dy.Slice(i * m * n, m * n);
                if (Left.RequiresGrad)
                {
                    var ga = Tape<T>.GradSpan(Left).Slice(i * m * k, m * k);
                    var bi = bv.Slice(i * p.BStride, k * n);
                    if (!ta) Gemm.Multiply(m, k, n, dyi, n, false, bi, ldb, !tb, ga, k, accumulate: true);   // dA = dY·op(B)ᵀ
                    else Gemm.Multiply(k, m, n, bi, ldb, tb, dyi, n, true, ga, m, accumulate: true);         // dAᵀ = op(B)·dYᵀ
                }
                if (Right.RequiresGrad)
                {
                    var gb = Tape<T>.GradSpan(Right).Slice(i * p.BStride, k * n);
                    var ai = av.Slice(i * m * k, m * k);
                    if (!tb) Gemm.Multiply(k, n, m, ai, lda, !ta, dyi, n, false, gb, n, accumulate: true);   // dB = op(A)ᵀ·dY
                    else Gemm.Multiply(n, k, m, dyi, n, true, ai, lda, ta, gb, k, accumulate: true);         // dBᵀ = dYᵀ·op(A)
                }
            }
        }

        public override void CheckInputs(Tape<T> tape)
        {
            tape.CheckSameTape(Left, Op);
            tape.CheckSameTape(Right, Op);
        }

        protected override void ClearReferences()
        {
            Left = null!;
            Right = null!;
        }
    }

    /// <summary>Shapes of a (batched) matrix product; a rank-3 a with a rank-2 b folds the batch into m.</summary>
    readonly record struct MatMulPlan(int Batch, int M, int N, int K, int BStride, Shape OutShape)
    {
        public static MatMulPlan Of(Shape a, Shape b, bool transA, bool transB)
        {
            if (a.Rank < 2 || a.Rank > 3 || b.Rank < 2 || b.Rank > 3 || b.Rank > a.Rank)
                throw new ShapeMismatchException($"matmul: expected a of rank 2 or 3 and b of rank 2 or a's rank, got {a} and {b}.");
            int ar = a.Rank;
            int m = transA ? a[ar - 1] : a[ar - 2], ka = transA ? a[ar - 2] : a[ar - 1];
            int kb = transB ? b[b.Rank - 1] : b[b.Rank - 2], n = transB ? b[b.Rank - 2] : b[b.Rank - 1];
            if (ka != kb)
                throw new ShapeMismatchException($"matmul: inner dimensions differ: a {a}{(transA ? "ᵀ" : "")} has k = {ka}, b {b}{(transB ? "ᵀ" : "")} has k = {kb}.");
            if (ar == 2) return new(1, m, n, ka, 0, new Shape(m, n));
            int batch = a[0];
            if (b.Rank == 3)
            {
                if (b[0] != batch) throw new ShapeMismatchException($"matmul: batch sizes differ: a {a} and b {b}.");
                return new(batch, m, n, ka, ka * n, new Shape(batch, m, n));
            }
            if (transA)
                return new(batch, m, n, ka, 0, new Shape(batch, m, n));
            return new(1, batch * m, n, ka, 0, new Shape(batch, m, n));
        }
    }

    /// <summary>x·Wᵀ + b fused: x is [..., in], W is [out, in], b is [out] or null.</summary>
    public static Tensor<T> Linear<T>(Tensor<T> x, Tensor<T> weight, Tensor<T>? bias = null) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (weight.Shape.Rank != 2 || x.Shape.Rank < 1 || x.Shape.Last != weight.Shape[1])
            throw new ShapeMismatchException($"linear: input {x.Shape} does not fit weight {weight.Shape} (expected [..., {(weight.Shape.Rank == 2 ? weight.Shape[1] : -1)}] and [out, in]).");
        int outF = weight.Shape[0], inF = weight.Shape[1], rows = x.Shape.Rows;
        if (bias is not null && (bias.Shape.Rank != 1 || bias.Shape[0] != outF))
            throw new ShapeMismatchException($"linear: bias {bias.Shape} does not fit weight {weight.Shape} (expected [{outF}]).");
        var y = Tensor<T>.Uninitialized(x.Shape.WithAxis(x.Shape.Rank - 1, outF));
        var yv = y.Span;
        if (bias is not null) Broadcast.FillRows<T>(bias.Span, yv);
        Gemm.Multiply(rows, outF, inF, x.Span, inF, false, weight.Span, inF, true, yv, outF, accumulate: bias is not null);
        bool record = (x.RequiresGrad || weight.RequiresGrad || (bias?.RequiresGrad ?? false)) && Autograd.IsRecording;
        if (record)
            Tape<T>.Current.Record(LinearRecord<T>.Rent(y, x, weight, bias));
        return y;
    }

    /// <summary>linear: the input, the weight and the bias (null when there is none).</summary>
    sealed class LinearRecord<T> : PooledRecord<T, LinearRecord<T>> where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        public Tensor<T> Input = null!, Weight = null!;
        public Tensor<T>? Bias;

        public static LinearRecord<T> Rent(Tensor<T> output, Tensor<T> input, Tensor<T> weight, Tensor<T>? bias)
        {
            var r = FromPool("linear", output);
            r.Input = input;
            r.Weight = weight;
            r.Bias = bias;
            return r;
        }

        public override void Backward()
        {
            var x = Input; var w = Weight;
            int outF = w.Shape[0], inF = w.Shape[1], rows = x.Shape.Rows;
            var dy = GradOut;
            if (x.RequiresGrad)
            {
                var gx = Tape<T>.GradSpanToWrite(x, out bool accumulate);
                Gemm.Multiply(rows, inF, outF, dy, outF, false, w.Span, inF, false, gx, inF, accumulate);
            }
            if (w.RequiresGrad)
            {
                var gw = Tape<T>.GradSpanToWrite(w, out bool accumulate);
                Gemm.Multiply(outF, inF, rows, dy, outF, true, x.Span, inF, false, gw, inF, accumulate);
            }
            if (Bias is { RequiresGrad: true } b) Broadcast.SumToAccumulate(dy, new Shape(rows, outF), Tape<T>.GradSpan(b), b.Shape);
        }

        public override void CheckInputs(Tape<T> tape)
        {
            tape.CheckSameTape(Input, Op);
            tape.CheckSameTape(Weight, Op);
            tape.CheckSameTape(Bias, Op);
        }

        protected override void ClearReferences()
        {
            Input = null!;
            Weight = null!;
            Bias = null;
        }
    }
}
