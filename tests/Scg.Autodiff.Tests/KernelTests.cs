using System.Numerics;
using System.Runtime.Intrinsics;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff.Tests;

/// <summary>3x - 1: a test operator whose vector forms are built from the same arithmetic as the scalar one.</summary>
readonly struct AffineOperator<T> : IUnaryOperator<T> where T : unmanaged, INumberBase<T>
{
    static T Three => T.CreateTruncating(3);
    public static T Invoke(T x) => Three * x - T.One;
    public static Vector128<T> Invoke(Vector128<T> x) => Vector128.Create(Three) * x - Vector128<T>.One;
    public static Vector256<T> Invoke(Vector256<T> x) => Vector256.Create(Three) * x - Vector256<T>.One;
    public static Vector512<T> Invoke(Vector512<T> x) => Vector512.Create(Three) * x - Vector512<T>.One;
}

/// <summary>
/// Every kernel against a scalar reference at lengths 0 to 2·Vector512&lt;T&gt;.Count + 1, so the widest vector loop,
/// each narrower one and the scalar tail all run; in float and double. Inputs start at an odd offset and outputs are
/// fenced by sentinels, so misaligned loads and writes past the end are caught.
/// </summary>
public sealed class KernelTests
{
    static int MaxLength<T>() => 2 * Vector512<T>.Count + 1;

    static IEnumerable<int> Lengths<T>() => Enumerable.Range(0, MaxLength<T>() + 1);

    static readonly double Sentinel = 12345.678;

    static T[] Random<T>(Rng rng, int n, double scale = 1) where T : INumberBase<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(scale * rng.NextNormal());
        return a;
    }

    /// <summary>n values at offset 1 of an array fenced by sentinels.</summary>
    static T[] Fenced<T>(int n) where T : INumberBase<T>
    {
        var a = new T[n + 2];
        Array.Fill(a, T.CreateTruncating(Sentinel));
        return a;
    }

    static void AssertFence<T>(T[] a, string what) where T : INumberBase<T>
    {
        Assert.True(a[0] == T.CreateTruncating(Sentinel) && a[^1] == T.CreateTruncating(Sentinel), $"{what}: wrote outside the span");
    }

    static void AssertExact<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what) where T : IFloatingPointIeee754<T>
    {
        Assert.True(expected.Length == actual.Length, what);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i] == actual[i] || (T.IsNaN(expected[i]) && T.IsNaN(actual[i])), $"{what}: element {i}: expected {expected[i]}, got {actual[i]}");
    }

    static double[] D<T>(ReadOnlySpan<T> x) where T : INumberBase<T>
    {
        var d = new double[x.Length];
        for (int i = 0; i < d.Length; i++) d[i] = double.CreateTruncating(x[i]);
        return d;
    }

    // ---- Elementwise.Map ---------------------------------------------------------------------------

    static void MapUnary<T, TOp>(Func<T, T> reference) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IUnaryOperator<T>
    {
        var rng = new Rng(1);
        foreach (int n in Lengths<T>())
        {
            var x = Random<T>(rng, n + 1);
            var y = Fenced<T>(n);
            Elementwise.Map<T, TOp>(x.AsSpan(1), y.AsSpan(1, n));
            AssertFence(y, $"{typeof(TOp).Name} n={n}");
            AssertExact<T>([.. x.Skip(1).Select(reference)], y.AsSpan(1, n), $"{typeof(TOp).Name} n={n}");
            // in place
            var z = x.AsSpan(1).ToArray();
            Elementwise.Map<T, TOp>(z, z);
            AssertExact<T>(y.AsSpan(1, n), z, $"{typeof(TOp).Name} in place n={n}");
        }
    }

    static void MapUnaryAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        MapUnary<T, AffineOperator<T>>(x => T.CreateTruncating(3) * x - T.One);
        MapUnary<T, ReluOperator<T>>(x => x > T.Zero ? x : T.Zero);
        MapUnary<T, StepOperator<T>>(x => x > T.Zero ? T.One : T.Zero);

        // NaN at every position of every length comes out NaN, the other elements unchanged
        foreach (int n in Lengths<T>())
            for (int p = 0; p < n; p++)
            {
                var x = Random<T>(new Rng((ulong)n), n);
                x[p] = T.NaN;
                var y = new T[n];
                Elementwise.Map<T, ReluOperator<T>>(x, y);
                Assert.True(T.IsNaN(y[p]), $"relu(NaN) at {p} of {n} gave {y[p]}");
                for (int i = 0; i < n; i++) if (i != p) Assert.Equal(x[i] > T.Zero ? x[i] : T.Zero, y[i]);
            }
    }

    [Fact] public void MapUnaryFloat() => MapUnaryAll<float>();
    [Fact] public void MapUnaryDouble() => MapUnaryAll<double>();

    static void MapBinary<T, TOp>(Func<T, T, T> reference) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOperator<T>
    {
        var rng = new Rng(2);
        string name = typeof(TOp).Name;
        foreach (int n in Lengths<T>())
        {
            var a = Random<T>(rng, n + 1); var b = Random<T>(rng, n + 3);
            var y = Fenced<T>(n);
            Elementwise.Map<T, TOp>(a.AsSpan(1), b.AsSpan(3), y.AsSpan(1, n));
            AssertFence(y, $"{name} n={n}");
            AssertExact<T>([.. a.Skip(1).Zip(b.Skip(3), reference)], y.AsSpan(1, n), $"{name} n={n}");

            T s = T.CreateTruncating(rng.NextNormal());
            y = Fenced<T>(n);
            Elementwise.MapScalarRight<T, TOp>(a.AsSpan(1), s, y.AsSpan(1, n));
            AssertFence(y, $"{name} right n={n}");
            AssertExact<T>([.. a.Skip(1).Select(v => reference(v, s))], y.AsSpan(1, n), $"{name} scalar right n={n}");

            y = Fenced<T>(n);
            Elementwise.MapScalarLeft<T, TOp>(s, b.AsSpan(3), y.AsSpan(1, n));
            AssertFence(y, $"{name} left n={n}");
            AssertExact<T>([.. b.Skip(3).Select(v => reference(s, v))], y.AsSpan(1, n), $"{name} scalar left n={n}");

            // in place on the left operand
            var z = a.AsSpan(1).ToArray();
            Elementwise.Map<T, TOp>(z, b.AsSpan(3), z);
            AssertExact<T>([.. a.Skip(1).Zip(b.Skip(3), reference)], z, $"{name} in place n={n}");
        }
    }

    static void MapBinaryAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        MapBinary<T, AddOperator<T>>((a, b) => a + b);
        MapBinary<T, SubtractOperator<T>>((a, b) => a - b);
        MapBinary<T, MultiplyOperator<T>>((a, b) => a * b);
        MapBinary<T, DivideOperator<T>>((a, b) => a / b);
    }

    [Fact] public void MapBinaryFloat() => MapBinaryAll<float>();
    [Fact] public void MapBinaryDouble() => MapBinaryAll<double>();

    static void MapTernary<T, TOp>(Func<T, T, T, T> reference) where T : unmanaged, IFloatingPointIeee754<T> where TOp : ITernaryOperator<T>
    {
        var rng = new Rng(3);
        string name = typeof(TOp).Name;
        foreach (int n in Lengths<T>())
        {
            var g = Random<T>(rng, n + 1); var u = Random<T>(rng, n + 2); var dy = Random<T>(rng, n + 3);
            var expected = new T[n];
            for (int i = 0; i < n; i++) expected[i] = reference(g[i + 1], u[i + 2], dy[i + 3]);
            var y = Fenced<T>(n);
            Elementwise.Map<T, TOp>(g.AsSpan(1), u.AsSpan(2), dy.AsSpan(3), y.AsSpan(1, n));
            AssertFence(y, $"{name} n={n}");
            AssertExact<T>(expected, y.AsSpan(1, n), $"{name} n={n}");
            // accumulate in place into g, as the backward rules do
            var acc = g.AsSpan(1).ToArray();
            Elementwise.Map<T, TOp>(acc, u.AsSpan(2), dy.AsSpan(3), acc);
            AssertExact<T>(expected, acc, $"{name} in place n={n}");
        }
    }

    static void MapTernaryAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        MapTernary<T, TanhGradAccumulate<T>>((g, y, dy) => g + dy * (T.One - y * y));
        MapTernary<T, SigmoidGradAccumulate<T>>((g, y, dy) => g + dy * y * (T.One - y));
        MapTernary<T, ReluGradAccumulate<T>>((g, x, dy) => x > T.Zero ? g + dy : g);
        MapTernary<T, SubtractProductOperator<T>>((a, b, c) => a - b * c);
    }

    [Fact] public void MapTernaryFloat() => MapTernaryAll<float>();
    [Fact] public void MapTernaryDouble() => MapTernaryAll<double>();

    // ---- Broadcast -----------------------------------------------------------------------------------

    /// <summary>Flat index into a shape broadcast to <paramref name="y"/> of the y element with flat index <paramref name="flat"/>.</summary>
    static int SourceIndex(int flat, Shape y, Shape src)
    {
        int index = 0, stride = 1;
        for (int k = 0; k < y.Rank; k++)
        {
            int axis = y.Rank - 1 - k, dy = y[axis], i = flat % dy;
            flat /= dy;
            int ds = src.DimFromEnd(k);
            if (k < src.Rank && ds != 1) index += i * stride;
            stride *= ds;
        }
        return index;
    }

    static IEnumerable<(int[] A, int[] B)> BroadcastPairs(int n) =>
    [
        ([n], [n]), ([2, n], []), ([], [2, n]), ([2, n], [1]), ([3, n], [n]), ([n], [3, n]), ([3, 1], [1, n]), ([1, n], [3, 1]),
        ([2, 3, n], [3, 1]), ([2, 1, n], [3, n]), ([2, 1, 1], [1, 3, n]), ([2, 3, n], [2, 3, n]), ([2, 1, 3, n], [4, 1, 1]),
    ];

    static void BroadcastBinary<T, TOp>(Func<T, T, T> reference) where T : unmanaged, IFloatingPointIeee754<T> where TOp : IBinaryOperator<T>
    {
        var rng = new Rng(4);
        foreach (int n in Lengths<T>())
            foreach (var (ad, bd) in BroadcastPairs(n))
            {
                Shape sa = new(ad), sb = new(bd), sy = Shape.Broadcast(sa, sb, "test");
                var a = Random<T>(rng, sa.Size); var b = Random<T>(rng, sb.Size);
                var y = Fenced<T>(sy.Size);
                Broadcast.Binary<T, TOp>(a, sa, b, sb, y.AsSpan(1, sy.Size), sy);
                string what = $"{typeof(TOp).Name} {sa} {sb}";
                AssertFence(y, what);
                var expected = new T[sy.Size];
                for (int i = 0; i < expected.Length; i++) expected[i] = reference(a[SourceIndex(i, sy, sa)], b[SourceIndex(i, sy, sb)]);
                AssertExact<T>(expected, y.AsSpan(1, sy.Size), what);
            }
    }

    static void BroadcastAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        BroadcastBinary<T, AddOperator<T>>((a, b) => a + b);
        BroadcastBinary<T, SubtractOperator<T>>((a, b) => a - b);
        BroadcastBinary<T, MultiplyOperator<T>>((a, b) => a * b);
        BroadcastBinary<T, DivideOperator<T>>((a, b) => a / b);

        // SumToAccumulate: x += g summed over the axes x was broadcast along
        var rng = new Rng(5);
        double eps = TestUtil.Eps<T>();
        foreach (int n in Lengths<T>())
            foreach (var (ad, bd) in BroadcastPairs(n))
            {
                Shape sy = Shape.Broadcast(new Shape(ad), new Shape(bd), "test");
                foreach (var xd in new[] { ad, bd })
                {
                    Shape sx = new(xd);
                    var g = Random<T>(rng, sy.Size);
                    var x0 = Random<T>(rng, sx.Size);
                    var expected = D<T>(x0); var magnitude = D<T>(x0).Select(Math.Abs).ToArray();
                    for (int i = 0; i < g.Length; i++)
                    {
                        int j = SourceIndex(i, sy, sx);
                        expected[j] += double.CreateTruncating(g[i]);
                        magnitude[j] += Math.Abs(double.CreateTruncating(g[i]));
                    }
                    var x = Fenced<T>(sx.Size);
                    x0.CopyTo(x, 1);
                    Broadcast.SumToAccumulate<T>(g, sy, x.AsSpan(1, sx.Size), sx);
                    AssertFence(x, $"sum_to {sy} -> {sx}");
                    var actual = D<T>(x.AsSpan(1, sx.Size));
                    for (int j = 0; j < expected.Length; j++)
                        Assert.True(Math.Abs(actual[j] - expected[j]) <= 2 * eps * magnitude[j] * Math.Sqrt(sy.Size + 1),
                            $"sum_to {sy} -> {sx}: element {j}: expected {expected[j]}, got {actual[j]}");
                }
            }
    }

    [Fact] public void BroadcastFloat() => BroadcastAll<float>();
    [Fact] public void BroadcastDouble() => BroadcastAll<double>();

    // ---- RowWise ------------------------------------------------------------------------------------

    /// <summary>Rows with ordinary, shifted-large and wide values.</summary>
    static T[] Rows<T>(Rng rng, int rows, int n) where T : INumberBase<T>
    {
        var x = new T[rows * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
                x[r * n + j] = T.CreateTruncating(r switch { 0 => rng.NextNormal(), 1 => 400 + 3 * rng.NextNormal(), _ => -30 + 10 * rng.NextNormal() });
        return x;
    }

    static (double[] Lse, double[] Softmax, double[] LogSoftmax) RowReference(double[] x, int rows, int n)
    {
        var lse = new double[rows]; var sm = new double[rows * n]; var lsm = new double[rows * n];
        for (int r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * n, n);
            double m = n == 0 ? double.NegativeInfinity : row.ToArray().Max(), s = 0;
            foreach (double v in row) s += Math.Exp(v - m);
            lse[r] = n == 0 ? double.NegativeInfinity : m + Math.Log(s);
            for (int j = 0; j < n; j++) { lsm[r * n + j] = row[j] - lse[r]; sm[r * n + j] = Math.Exp(row[j] - m) / s; }
        }
        return (lse, sm, lsm);
    }

    static void RowWiseAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(6);
        const int rows = 3;
        double rtol = 16 * TestUtil.Eps<T>();
        foreach (int n in Lengths<T>())
        {
            var x = Rows<T>(rng, rows, n);
            var xd = D<T>(x);
            var (lse, sm, lsm) = RowReference(xd, rows, n);
            double scale = xd.Length == 0 ? 0 : xd.Max(Math.Abs);

            var yl = Fenced<T>(rows);
            RowWise.LogSumExp<T>(x, yl.AsSpan(1, rows), rows, n);
            AssertFence(yl, "logsumexp");
            TestUtil.AssertClose(lse, D<T>(yl.AsSpan(1, rows)), rtol, 0, $"{typeof(T).Name} logsumexp n={n}");

            var ys = Fenced<T>(rows * n);
            RowWise.Softmax<T>(x, ys.AsSpan(1, rows * n), rows, n);
            AssertFence(ys, "softmax");
            var ysd = D<T>(ys.AsSpan(1, rows * n));
            // relative error of exp(x - m) grows with |x - m|
            TestUtil.AssertClose(sm, ysd, rtol * (1 + 2 * scale), 1e-300, $"{typeof(T).Name} softmax n={n}");

            var yls = Fenced<T>(rows * n);
            RowWise.LogSoftmax<T>(x, yls.AsSpan(1, rows * n), rows, n);
            AssertFence(yls, "log_softmax");
            TestUtil.AssertClose(lsm, D<T>(yls.AsSpan(1, rows * n)), rtol, rtol * scale, $"{typeof(T).Name} log_softmax n={n}");

            // backward: accumulate onto a non-zero gradient
            var gOutRows = Random<T>(rng, rows);
            var gy = Random<T>(rng, rows * n);
            var g0 = Random<T>(rng, rows * n);
            var g0d = D<T>(g0); var gyd = D<T>(gy);

            var gx = Fenced<T>(rows * n); g0.CopyTo(gx, 1);
            RowWise.LogSumExpBackward<T>(x, yl.AsSpan(1, rows), gOutRows, gx.AsSpan(1, rows * n), rows, n);
            AssertFence(gx, "logsumexp backward");
            var expected = new double[rows * n];
            for (int i = 0; i < expected.Length; i++) expected[i] = g0d[i] + double.CreateTruncating(gOutRows[i / n]) * sm[i];
            TestUtil.AssertClose(expected, D<T>(gx.AsSpan(1, rows * n)), rtol * (1 + 2 * scale), rtol * (1 + 2 * scale) * 4, $"{typeof(T).Name} logsumexp backward n={n}");

            gx = Fenced<T>(rows * n); g0.CopyTo(gx, 1);
            RowWise.SoftmaxBackward<T>(ys.AsSpan(1, rows * n), gy, gx.AsSpan(1, rows * n), rows, n);
            AssertFence(gx, "softmax backward");
            for (int r = 0; r < rows; r++)
            {
                double dot = 0;
                for (int j = 0; j < n; j++) dot += gyd[r * n + j] * ysd[r * n + j];
                for (int j = 0; j < n; j++) expected[r * n + j] = g0d[r * n + j] + ysd[r * n + j] * (gyd[r * n + j] - dot);
            }
            TestUtil.AssertClose(expected, D<T>(gx.AsSpan(1, rows * n)), rtol, rtol * 8, $"{typeof(T).Name} softmax backward n={n}");

            gx = Fenced<T>(rows * n); g0.CopyTo(gx, 1);
            RowWise.LogSoftmaxBackward<T>(yls.AsSpan(1, rows * n), gy, gx.AsSpan(1, rows * n), rows, n);
            AssertFence(gx, "log_softmax backward");
            var ylsd = D<T>(yls.AsSpan(1, rows * n));
            for (int r = 0; r < rows; r++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++) sum += gyd[r * n + j];
                for (int j = 0; j < n; j++) expected[r * n + j] = g0d[r * n + j] + gyd[r * n + j] - Math.Exp(ylsd[r * n + j]) * sum;
            }
            TestUtil.AssertClose(expected, D<T>(gx.AsSpan(1, rows * n)), rtol, rtol * 4 * (n + 1), $"{typeof(T).Name} log_softmax backward n={n}");
        }
    }

    [Fact] public void RowWiseFloat() => RowWiseAll<float>();
    [Fact] public void RowWiseDouble() => RowWiseAll<double>();

    // ---- Reduce -------------------------------------------------------------------------------------

    static IEnumerable<(int Outer, int Length, int Inner)> ReduceLayouts<T>() =>
        Lengths<T>().SelectMany(l => new[] { (2, l, 1), (2, l, 3), (1, 3, l), (3, 2, l), (1, l, 1) });

    static void ReduceAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(7);
        double eps = TestUtil.Eps<T>();
        foreach (var (outer, length, inner) in ReduceLayouts<T>())
        {
            string what = $"{typeof(T).Name} [{outer},{length},{inner}]";
            int size = outer * length * inner, outSize = outer * inner;
            var x = Random<T>(rng, size);
            var xd = D<T>(x);
            double At(int o, int l, int i) => xd[(o * length + l) * inner + i];

            // Sum
            var y = Fenced<T>(outSize);
            Reduce.Sum<T>(x, y.AsSpan(1, outSize), outer, length, inner);
            AssertFence(y, what + " sum");
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    double s = 0, abs = 0;
                    for (int l = 0; l < length; l++) { s += At(o, l, i); abs += Math.Abs(At(o, l, i)); }
                    Assert.True(Math.Abs(double.CreateTruncating(y[1 + o * inner + i]) - s) <= 2 * eps * abs * Math.Sqrt(length + 1), $"{what} sum [{o},{i}]");
                }

            // SumBackward: gx += scale·gy
            var gy = Random<T>(rng, outSize);
            var g0 = Random<T>(rng, size);
            var gx = Fenced<T>(size); g0.CopyTo(gx, 1);
            T scale = T.CreateTruncating(0.25);
            Reduce.SumBackward<T>(gy, gx.AsSpan(1, size), outer, length, inner, scale);
            AssertFence(gx, what + " sum backward");
            for (int o = 0; o < outer; o++)
                for (int l = 0; l < length; l++)
                    for (int i = 0; i < inner; i++)
                    {
                        int k = (o * length + l) * inner + i;
                        Assert.Equal(g0[k] + gy[o * inner + i] * scale, gx[1 + k]);
                    }

            // LogSumExp forward and backward
            var lse = Fenced<T>(outSize);
            Reduce.LogSumExp<T>(x, lse.AsSpan(1, outSize), outer, length, inner);
            AssertFence(lse, what + " logsumexp");
            var lsed = new double[outSize];
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    double m = double.NegativeInfinity, s = 0;
                    for (int l = 0; l < length; l++) m = Math.Max(m, At(o, l, i));
                    for (int l = 0; l < length; l++) s += Math.Exp(At(o, l, i) - m);
                    lsed[o * inner + i] = length == 0 ? double.NegativeInfinity : m + Math.Log(s);
                }
            TestUtil.AssertClose(lsed, D<T>(lse.AsSpan(1, outSize)), 16 * eps, 16 * eps, what + " logsumexp");
            gx = Fenced<T>(size); g0.CopyTo(gx, 1);
            Reduce.LogSumExpBackward<T>(x, lse.AsSpan(1, outSize), gy, gx.AsSpan(1, size), outer, length, inner);
            AssertFence(gx, what + " logsumexp backward");
            var expected = D<T>(g0);
            for (int o = 0; o < outer; o++)
                for (int l = 0; l < length; l++)
                    for (int i = 0; i < inner; i++)
                        expected[(o * length + l) * inner + i] += double.CreateTruncating(gy[o * inner + i]) * Math.Exp(At(o, l, i) - lsed[o * inner + i]);
            TestUtil.AssertClose(expected, D<T>(gx.AsSpan(1, size)), 64 * eps, 64 * eps, what + " logsumexp backward");

            // Max with ties (values rounded to halves): the first maximal index wins
            if (length == 0) continue;
            var xt = x.Select(v => T.Round(v * T.CreateTruncating(2)) / T.CreateTruncating(2)).ToArray();
            var ym = Fenced<T>(outSize);
            var arg = new int[outSize];
            Reduce.Max<T>(xt, ym.AsSpan(1, outSize), arg, outer, length, inner);
            AssertFence(ym, what + " max");
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int best = 0;
                    for (int l = 1; l < length; l++) if (xt[(o * length + l) * inner + i] > xt[(o * length + best) * inner + i]) best = l;
                    Assert.Equal(xt[(o * length + best) * inner + i], ym[1 + o * inner + i]);
                    Assert.Equal(best, arg[o * inner + i]);
                }

            // a NaN anywhere along the axis gives NaN, and its (first) index
            if (outSize == 0) continue;
            int nanAt = length - 1;
            xt[(0 * length + nanAt) * inner + 0] = T.NaN;
            Reduce.Max<T>(xt, ym.AsSpan(1, outSize), arg, outer, length, inner);
            Assert.True(T.IsNaN(ym[1]), what + " max of NaN");
            Assert.Equal(nanAt, arg[0]);
            Reduce.LogSumExp<T>(xt, lse.AsSpan(1, outSize), outer, length, inner);
            Assert.True(T.IsNaN(lse[1]), what + " logsumexp of NaN");
        }
    }

    [Fact] public void ReduceFloat() => ReduceAll<float>();
    [Fact] public void ReduceDouble() => ReduceAll<double>();

    // ---- Special ------------------------------------------------------------------------------------

    static readonly double[] Log1pPoints =
    [
        0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-40, 1e-20, -1e-20, 1e-10, -1e-10, 1e-7, 3e-5, -3e-5, 1e-3, 0.1, -0.3, 0.5, -0.5, -0.9,
        -0.999999, 1, 3, 100, 1e10, 1e30, 1e100, 1e300, double.MaxValue, 3.4e38, float.MaxValue,
    ];

    static readonly double[] Expm1Points =
    [
        0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-40, 1e-20, -1e-20, 1e-10, -1e-10, 1e-7, 3e-5, -3e-5, 1e-3, 0.1, -0.1, 0.4, -0.4,
        0.5, -0.5, 1, -1, 10, -10, 30, -40, 80, 88, 88.7, 100, -100, 700, 709, 709.78, -700, -800,
    ];

    static readonly double[] SoftplusPoints =
    [
        0, 1e-20, -1e-20, 1e-5, -1e-5, 0.5, -0.5, 1, -1, 15, -15, 17, -17, 30, -30, 40, -40, 80, -80, 88, -88, 100, -100, 700, -700,
        745, -745, 800, -800, 1e10, -1e10, 1e300, -1e300, double.MaxValue, -double.MaxValue,
    ];

    /// <summary>Compares the scalar and span forms of a special function against a high-accuracy reference at every point representable in T.</summary>
    static void SpecialAgainstReference<T>(string name, double[] points, Func<T, T> scalar, SpanMap<T> span, Func<double, double> reference, double ulps)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double eps = TestUtil.Eps<T>(), max = typeof(T) == typeof(float) ? float.MaxValue : double.MaxValue;
        var xs = points.Where(p => Math.Abs(p) <= max).Select(p => T.CreateTruncating(p)).Distinct().ToArray();
        var viaSpan = new T[xs.Length];
        span(xs, viaSpan);
        for (int i = 0; i < xs.Length; i++)
        {
            double x = double.CreateTruncating(xs[i]);
            double expected = double.CreateTruncating(T.CreateTruncating(reference(x))); // the correctly rounded T value, ±½ ulp
            double got = double.CreateTruncating(scalar(xs[i]));
            double tol = ulps * eps * Math.Abs(expected) + double.CreateTruncating(T.Epsilon);
            Assert.True(expected == got || Math.Abs(got - expected) <= tol, $"{typeof(T).Name} {name}({x:R}) = {got:R}, expected {expected:R}");
            // the span form may use vectorized exp/log (not bit-identical to the scalar ones) but is as accurate
            double gotSpan = double.CreateTruncating(viaSpan[i]);
            Assert.True(expected == gotSpan || Math.Abs(gotSpan - expected) <= tol, $"{typeof(T).Name} {name}({x:R}): span form gave {gotSpan:R}, expected {expected:R}");
        }
    }

    static void SpecialAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] Both(double[] p) => [.. p, .. p.Select(v => -v)];
        SpecialAgainstReference<T>("log1p", Log1pPoints, Special.Log1p, Special.Log1p, TestUtil.RefLog1p, 4);
        SpecialAgainstReference<T>("expm1", Expm1Points, Special.Expm1, Special.Expm1, TestUtil.RefExpm1, 4);
        SpecialAgainstReference<T>("softplus", Both(SoftplusPoints), Special.Softplus, Special.Softplus, TestUtil.RefSoftplus, 4);

        // exact special values
        Assert.Equal(T.NegativeInfinity, Special.Log1p(-T.One));
        Assert.Equal(T.PositiveInfinity, Special.Log1p(T.PositiveInfinity));
        Assert.True(T.IsNaN(Special.Log1p(T.CreateTruncating(-2))));
        Assert.Equal(-T.One, Special.Expm1(T.NegativeInfinity));
        Assert.Equal(T.PositiveInfinity, Special.Expm1(T.PositiveInfinity));
        Assert.Equal(T.PositiveInfinity, Special.Expm1(T.CreateTruncating(1000)));
        Assert.Equal(T.PositiveInfinity, Special.Softplus(T.PositiveInfinity));
        Assert.Equal(T.Zero, Special.Softplus(T.NegativeInfinity));

        // NaN in, NaN out: scalar and span forms, at every position of every length
        Assert.True(T.IsNaN(Special.Log1p(T.NaN)));
        Assert.True(T.IsNaN(Special.Expm1(T.NaN)));
        Assert.True(T.IsNaN(Special.Softplus(T.NaN)));
        foreach (int n in Lengths<T>())
            for (int p = 0; p < n; p++)
            {
                var x = TestUtil.Values(new Rng((ulong)(n * 100 + p)), Domain.AboveMinusHalf, n).Select(T.CreateTruncating).ToArray(); // inside log1p's domain
                x[p] = T.NaN;
                var y = new T[n];
                foreach (var (name, f) in new (string, SpanMap<T>)[] { ("log1p", Special.Log1p), ("expm1", Special.Expm1), ("softplus", Special.Softplus) })
                {
                    f(x, y);
                    for (int i = 0; i < n; i++) Assert.True(T.IsNaN(y[i]) == (i == p), $"{name} n={n}: NaN at {p}, element {i} is {y[i]}");
                }
            }
    }

    [Fact] public void SpecialFloat() => SpecialAll<float>();
    [Fact] public void SpecialDouble() => SpecialAll<double>();

    [Fact]
    public void SamplingTransformsStayInsideTheirSupport()
    {
        var rng = new Rng(8);
        var u = new float[10_000];
        rng.FillUniform<float>(u);
        Assert.All(u, v => Assert.True(v > 0 && v < 1));
        var l = new double[1000];
        rng.FillLogistic<double>(l);
        rng.FillGumbel<float>(u);
        Assert.All(l, v => Assert.True(double.IsFinite(v)));
        Assert.All(u, v => Assert.True(float.IsFinite(v)));
        var a = new double[8]; var b = new double[8];
        new Rng(9).FillNormal<double>(a);
        new Rng(9).FillNormal<double>(b);
        Assert.Equal(a, b);
    }

    // ---- Scan -----------------------------------------------------------------------------------------

    /// <summary>At every length, with no bad value and with one placed at each position (NaN, ±∞ / 0.5, -1), against the scalar test.</summary>
    static void ScanAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(17);
        foreach (int n in Lengths<T>())
        {
            var finite = Random<T>(rng, n + 1, 1e30);
            var bits = Enumerable.Range(0, n + 1).Select(_ => rng.NextSingle() < 0.5f ? T.Zero : T.One).ToArray();
            Assert.Equal(-1, Scan.IndexOfFailure<T, FiniteTest<T>>(finite.AsSpan(1)));
            Assert.Equal(-1, Scan.IndexOfFailure<T, BinaryTest<T>>(bits.AsSpan(1)));
            for (int bad = 0; bad < n; bad++)
            {
                foreach (T v in new[] { T.NaN, T.PositiveInfinity, T.NegativeInfinity })
                {
                    var x = finite.AsSpan(1).ToArray();
                    x[bad] = v;
                    if (bad + 1 < n) x[n - 1] = T.NaN;   // a later bad value must not be reported first
                    Assert.Equal(bad, Scan.IndexOfFailure<T, FiniteTest<T>>(x));
                }
                foreach (T v in new[] { T.CreateTruncating(0.5), -T.One, T.NaN })
                {
                    var x = bits.AsSpan(1).ToArray();
                    x[bad] = v;
                    Assert.Equal(bad, Scan.IndexOfFailure<T, BinaryTest<T>>(x));
                }
            }
        }
    }

    [Fact] public void ScanFloat() => ScanAll<float>();
    [Fact] public void ScanDouble() => ScanAll<double>();

    // ---- AdamUpdate ------------------------------------------------------------------------------------

    static void AdamAll<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(11);
        T beta1 = T.CreateTruncating(0.9), beta2 = T.CreateTruncating(0.999), wd = T.CreateTruncating(1e-3), step = T.CreateTruncating(3e-3),
            invSqrtC2 = T.CreateTruncating(1 / Math.Sqrt(1 - 0.999 * 0.999)), eps = T.CreateTruncating(1e-8), c1 = T.One - beta1, c2 = T.One - beta2;
        foreach (int n in Lengths<T>())
        {
            var theta = Fenced<T>(n); var m = Fenced<T>(n); var v = Fenced<T>(n);
            Random<T>(rng, n).CopyTo(theta, 1);
            Random<T>(rng, n, 0.1).CopyTo(m, 1);
            Random<T>(rng, n, 0.1).Select(T.Abs).ToArray().CopyTo(v, 1);
            var g = Random<T>(rng, n + 1);
            T[] th0 = theta[1..^1], m0 = m[1..^1], v0 = v[1..^1];
            AdamUpdate.Apply<T>(theta.AsSpan(1, n), g.AsSpan(1), m.AsSpan(1, n), v.AsSpan(1, n), beta1, beta2, wd, step, invSqrtC2, eps);
            foreach (var (a, what) in new[] { (theta, "theta"), (m, "m"), (v, "v") }) AssertFence(a, $"adam {what} n={n}");
            for (int i = 0; i < n; i++)
            {
                T gi = g[i + 1] + wd * th0[i];
                T mi = beta1 * m0[i] + c1 * gi, vi = beta2 * v0[i] + c2 * gi * gi;
                Assert.True(m[i + 1] == mi && v[i + 1] == vi, $"adam n={n}, element {i}: m {m[i + 1]} v {v[i + 1]}, expected {mi} {vi}");
                T expected = th0[i] - step * mi / (T.Sqrt(vi) * invSqrtC2 + eps);
                Assert.True(theta[i + 1] == expected, $"adam n={n}, element {i}: theta {theta[i + 1]}, expected {expected}");
            }
        }
    }

    [Fact] public void AdamFloat() => AdamAll<float>();
    [Fact] public void AdamDouble() => AdamAll<double>();
}
