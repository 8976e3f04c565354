using System.Numerics;
using Scg.Autodiff.Kernels;

namespace Scg.Autodiff.Tests;

public class GemmTests
{
    /// <summary>
    /// (m, n, k) around the float/double micro-tiles (8×32, 8×16), the k slice (256, or 512 with 64-byte vectors), the
    /// A block (128 float rows, 64 double rows), the B panel (4096 float / 2048 double columns) and the parallel
    /// threshold.
    /// </summary>
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 0, 0, 0 }, { 0, 5, 3 }, { 4, 0, 3 }, { 3, 5, 0 },
        { 1, 1, 1 }, { 1, 33, 7 }, { 7, 1, 17 }, { 3, 7, 1 },
        { 7, 17, 31 }, { 8, 32, 16 }, { 17, 31, 33 }, { 31, 33, 65 },
        { 33, 65, 7 }, { 65, 100, 17 }, { 100, 3, 257 }, { 17, 257, 33 },
        { 257, 31, 65 }, { 129, 17, 3 }, { 65, 65, 257 }, { 5, 2050, 9 }, { 3, 4103, 5 },
        { 5, 1000, 100 }, { 64, 200, 100 }, { 17, 70, 513 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesNaiveProductForEveryTransposeAndAccumulateMode(int m, int n, int k)
    {
        ulong seed = (ulong)(m * 1_000_003 + n * 1_009 + k);
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (bool accumulate in new[] { false, true })
                {
                    Check<float>(m, n, k, transA, transB, accumulate, pad: 0, seed++);
                    Check<double>(m, n, k, transA, transB, accumulate, pad: 0, seed++);
                }
    }

    /// <summary>
    /// Shapes around the tile and block sizes of the kernel this machine runs (they follow from the vector width and
    /// the cache sizes): m at the edges of the 4-, 6- and MR-row kernels, n at the edges of one vector and NR
    /// columns and half a vector past NR; k at 1, around the 8-step packing transposes and around kc; products small
    /// enough to read B in place and large enough to pack it; more than one A block (mc), B panel (nc), and B panel
    /// fill (several k slices per panel).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatchesNaiveProductAtTheEdgesOfTheActiveTilesAndBlocks(bool inDouble)
    {
        if (inDouble) CheckEdges<double>();
        else CheckEdges<float>();
    }

    static void CheckEdges<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        GemmBlocking b = Gemm.BlockingFor<T>();
        int packedRows = b.InPlaceBRows + b.MR + 1;
        var shapes = new List<(int M, int N, int K)>();
        foreach (int m in new[] { 1, 4, b.MR - 2, b.MR - 1, b.MR, b.MR + 1, 2 * b.MR + 1 })
            foreach (int n in new[] { b.Lanes - 1, b.Lanes, b.Lanes + 1, b.NR - 1, b.NR, b.NR + 1, b.NR + b.Lanes / 2, 2 * b.NR + b.Lanes })
                foreach (int k in new[] { 1, 9 })
                    shapes.Add((m, n, k));
        foreach (int k in new[] { 7, 8, 17, b.Kc - 1, b.Kc, b.Kc + 1, 2 * b.Kc + 3 })
            shapes.Add((b.MR + 1, b.NR + b.Lanes + 1, k));
        foreach (int n in new[] { b.Lanes + 1, b.NR + b.Lanes / 2, b.NR + b.Lanes, 2 * b.NR + 1 })
            foreach (int k in new[] { 1, 9, b.Kc + 1 })
                shapes.Add((packedRows, n, k));
        shapes.Add((b.Mc + b.MR + 1, b.NR + 1, 3));
        shapes.Add((3, b.Nc + b.Lanes + 1, 2));
        shapes.Add((packedRows, b.Nc + b.Lanes + 1, 2));

        ulong seed = 1;
        foreach (var (m, n, k) in shapes)
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    foreach (bool accumulate in new[] { false, true })
                        Check<T>(m, n, k, transA, transB, accumulate, pad: 0, seed++);

        // Few rows, but B's rows a whole L1 way apart: B is packed (see PackedWhenBRowsShareL1Sets).
        int aliasN = b.NR + b.Lanes + 1, aliasPad = b.L1WayBytes / b.ElementBytes - aliasN;
        Check<T>(b.MR + 1, aliasN, b.Kc + 1, false, false, accumulate: true, aliasPad, seed++);

        // Wider than one B panel and 5 slices deep: two panels of about Nc/2 columns, each holding two of the 0.8·kc
        // slices at a time, so B is packed in three rounds (the reference checks a sample of the rows).
        Check<T>(packedRows, b.Nc + b.Lanes + 1, 4 * b.Kc + 1, false, false, accumulate: true, pad: 0, seed++, rowStep: 37);
        Check<T>(packedRows, b.Nc + b.Lanes + 1, 4 * b.Kc + 1, true, true, accumulate: false, pad: 0, seed++, rowStep: 37);
    }

    /// <summary>
    /// A few-row product reads B in place unless B's rows are a multiple of 256 bytes apart (with 4 KiB ways), which
    /// would put a micro-panel's rows in a few L1 sets; op(B) stored transposed, and many rows, always pack.
    /// </summary>
    [Fact]
    public void PackedWhenBRowsShareL1Sets()
    {
        var g = new GemmBlocking(MR: 8, NR: 32, Lanes: 16, Kc: 256, Mc: 512, Nc: 4096, BCapacity: 1 << 20, InPlaceBRows: 256,
            ElementBytes: 4, L1WayBytes: 4096);
        foreach (int ldb in new[] { 200, 784, 32, 33, 1000 })
            Assert.True(g.ReadsBInPlace(64, ldb, transB: false), $"ldb={ldb}");
        foreach (int ldb in new[] { 64, 512, 1024, 3072 })
            Assert.False(g.ReadsBInPlace(64, ldb, transB: false), $"ldb={ldb}");
        Assert.False(g.ReadsBInPlace(64, 200, transB: true));
        Assert.True(g.ReadsBInPlace(256, 200, transB: false));
        Assert.False(g.ReadsBInPlace(257, 200, transB: false));
    }

    [Theory]
    [InlineData("32K", 32 << 10)]
    [InlineData("1024K", 1 << 20)]
    [InlineData("32M", 32 << 20)]
    [InlineData("4096", 4096)]
    [InlineData("", null)]
    [InlineData("K", null)]
    [InlineData("12Q", null)]
    public void CacheSizesParseAsSysfsWritesThem(string text, int? bytes) => Assert.Equal(bytes, CacheInfo.ParseSize(text));

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1", 2)]
    [InlineData("0-3,8-11", 8)]
    [InlineData("0,64", 2)]
    [InlineData("", 1)]
    [InlineData("x", 1)]
    public void SharedCpuListsAreCounted(string list, int count) => Assert.Equal(count, CacheInfo.CountCpus(list));

    /// <summary>Multithreaded products, one the threads split by columns (300x500x200), one by rows (600x100x150).</summary>
    [Fact]
    public void LargeMultithreadedProductMatches()
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                Check<float>(300, 500, 200, transA, transB, accumulate: transA, pad: 0, seed: 11);
                Check<double>(300, 500, 200, transA, transB, accumulate: transB, pad: 0, seed: 12);
                Check<float>(600, 100, 150, transA, transB, accumulate: transB, pad: 0, seed: 13);
                Check<double>(600, 100, 150, transA, transB, accumulate: transA, pad: 0, seed: 14);
            }
    }

    /// <summary>
    /// Each element's bits depend only on its row of op(A), its column of op(B) and k, never on how the product is
    /// cut: the whole product (split over the threads, B packed), the same cut into 3 forced parts, each row alone
    /// (B read in place) and each column alone agree bit for bit, and so do the first columns alone, whose right edge
    /// is half a vector. k spans three k slices, and the rows are enough for the whole product to pack B while a part
    /// of it reads B in place.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BitsDoNotDependOnHowTheProductIsCut(bool inDouble)
    {
        if (inDouble) CheckCuts<double>();
        else CheckCuts<float>();
    }

    static void CheckCuts<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        GemmBlocking g = Gemm.BlockingFor<T>();
        int m = 2 * g.InPlaceBRows + g.MR + 1, n = 3 * g.NR + g.Lanes + 1, k = 2 * g.Kc + 3;
        ulong seed = 31;
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                var rng = new Rng(seed++);
                T[] a = Convert<T>(Random(rng, m * k)), b = Convert<T>(Random(rng, k * n)), c0 = Convert<T>(Random(rng, m * n));
                int lda = transA ? m : k, ldb = transB ? k : n;
                T[] Product(Action<T[]> multiply)
                {
                    var c = (T[])c0.Clone();
                    multiply(c);
                    return c;
                }
                T[] whole = Product(c => Gemm.Multiply<T>(m, n, k, a, lda, transA, b, ldb, transB, c, n, accumulate: true));
                T[] parts = Product(c =>
                {
                    WorkerPool.ForcedParts = 3;
                    try { Gemm.Multiply<T>(m, n, k, a, lda, transA, b, ldb, transB, c, n, accumulate: true); }
                    finally { WorkerPool.ForcedParts = 0; }
                });
                T[] rows = Product(c =>
                {
                    for (int i = 0; i < m; i++)
                        Gemm.Multiply<T>(1, n, k, a.AsSpan(transA ? i : i * k), lda, transA, b, ldb, transB, c.AsSpan(i * n), n, accumulate: true);
                });
                T[] columns = Product(c =>
                {
                    for (int j = 0; j < n; j++)
                        Gemm.Multiply<T>(m, 1, k, a, lda, transA, b.AsSpan(transB ? j * k : j), ldb, transB, c.AsSpan(j), n, accumulate: true);
                });
                // The first w columns alone: their last tile is half a vector wide, which 64-byte vectors run on
                // half-width ones (the whole product runs those columns in a two-vector tile).
                int w = 3 * g.NR + g.Lanes / 2;
                T[] narrow = Product(c => Gemm.Multiply<T>(m, w, k, a, lda, transA, b, ldb, transB, c, n, accumulate: true));
                for (int e = 0; e < whole.Length; e++)
                    if (!(e % n < w ? whole[e] : c0[e]).Equals(narrow[e]))
                        Assert.Fail($"{typeof(T).Name} {m}x{w}x{k} transA={transA} transB={transB}: C[{e / n},{e % n}] = {narrow[e]}, expected {(e % n < w ? whole[e] : c0[e])}");
                foreach (var (name, cut) in new[] { ("3 parts", parts), ("rows", rows), ("columns", columns) })
                    for (int e = 0; e < whole.Length; e++)
                        if (!whole[e].Equals(cut[e]))
                            Assert.Fail($"{typeof(T).Name} {m}x{n}x{k} transA={transA} transB={transB}, cut by {name}: C[{e / n},{e % n}] = {cut[e]}, whole product {whole[e]}");
            }
    }

    [Fact]
    public void StridesLargerThanTheRowsAreHonouredAndPaddingIsLeftAlone()
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
                foreach (bool accumulate in new[] { false, true })
                {
                    Check<float>(33, 65, 31, transA, transB, accumulate, pad: 5, seed: 21);
                    Check<double>(17, 31, 70, transA, transB, accumulate, pad: 3, seed: 22);
                    Check<float>(130, 300, 90, transA, transB, accumulate, pad: 7, seed: 23);
                }
    }

    [Fact]
    public async Task ConcurrentCallersGetCorrectResults()
    {
        var tasks = Enumerable.Range(0, 4)
            .Select(i => Task.Run(() =>
            {
                for (int rep = 0; rep < 5; rep++)
                    Check<float>(120 + i, 150, 80, transA: i % 2 == 1, transB: i >= 2, accumulate: rep % 2 == 0, pad: 0, seed: (ulong)(100 * i + rep));
            }))
            .ToArray();
        await Task.WhenAll(tasks);
    }

    [Fact]
    public void EmptyDepthZeroesOrKeepsC()
    {
        var c = new[] { float.NaN, float.NaN, 9f, float.NaN, float.NaN };
        Gemm.Multiply<float>(2, 2, 0, [], 0, false, [], 2, false, c, 3, accumulate: false);
        Assert.Equal(new[] { 0f, 0f, 9f, 0f, 0f }, c);

        var d = new[] { 1.0, 2.0, 3.0, 4.0 };
        Gemm.Multiply<double>(2, 2, 0, [], 0, false, [], 2, false, d, 2, accumulate: true);
        Assert.Equal(new[] { 1.0, 2.0, 3.0, 4.0 }, d);
    }

    [Fact]
    public void InvalidArgumentsAreRejectedWithTheirName()
    {
        var a = new float[12];
        var b = new float[12];
        var c = new float[9];

        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(3, 3, 4, a.AsSpan(0, 11), 4, false, b, 3, false, c, 3, false));
        Assert.Equal("a", e.ParamName);
        Assert.Contains("needs 12 elements", e.Message);
        Assert.Contains("got 11", e.Message);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(3, 3, 4, a, 3, false, b, 3, false, c, 3, false));
        Assert.Equal("lda", e.ParamName);
        Assert.Contains("at least 4", e.Message);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(3, 3, 4, a, 3, true, b.AsSpan(0, 11), 4, true, c, 3, false));
        Assert.Equal("b", e.ParamName);
        Assert.Contains("needs 12 elements", e.Message);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(3, 3, 4, a, 4, false, b, 2, false, c, 3, false));
        Assert.Equal("ldb", e.ParamName);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(3, 3, 4, a, 4, false, b, 3, false, c.AsSpan(0, 8), 3, false));
        Assert.Equal("c", e.ParamName);

        e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(3, 3, 4, a, 4, false, b, 3, false, c, 2, false));
        Assert.Equal("ldc", e.ParamName);

        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply<float>(-1, 3, 4, a, 4, false, b, 3, false, c, 3, false));
    }

    /// <summary>
    /// Runs one product on seeded data in (-1, 1), stored with `pad` extra elements per row, against a naive
    /// double-precision triple loop over every rowStep-th row and the last. Without accumulate C starts as NaN (it
    /// must not be read); padding between C's rows must come back unchanged.
    /// </summary>
    static void Check<T>(int m, int n, int k, bool transA, bool transB, bool accumulate, int pad, ulong seed, int rowStep = 1)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Rng(seed);
        int aRows = transA ? k : m, aCols = transA ? m : k, lda = aCols + pad;
        int bRows = transB ? n : k, bCols = transB ? k : n, ldb = bCols + pad;
        int ldc = n + pad;
        double[] a = Random(rng, aRows * lda), b = Random(rng, bRows * ldb), c0 = Random(rng, m * ldc);
        T[] ta = Convert<T>(a), tb = Convert<T>(b), tc = Convert<T>(c0);
        if (!accumulate)
            for (int i = 0; i < m; i++) tc.AsSpan(i * ldc, n).Fill(T.NaN);
        // Round the inputs through T so the reference sees exactly what the kernel sees.
        a = ToDouble(ta);
        b = ToDouble(tb);
        c0 = ToDouble(Convert<T>(c0));

        Gemm.Multiply<T>(m, n, k, ta, lda, transA, tb, ldb, transB, tc, ldc, accumulate);

        double relTol = (typeof(T) == typeof(float) ? 1e-5 : 1e-12) * Math.Sqrt(Math.Max(k, 1));
        var sums = new double[n];
        var scales = new double[n];
        for (int i = 0; i < m; i += i + rowStep < m ? rowStep : Math.Max(m - 1 - i, 1))
        {
            // Row i of the reference, each sum taken over p in order; the loops run along B's stored rows.
            for (int j = 0; j < n; j++)
            {
                sums[j] = accumulate ? c0[i * ldc + j] : 0;
                scales[j] = Math.Abs(sums[j]);
            }
            for (int p = 0; p < k && !transB; p++)
            {
                double aip = a[transA ? p * lda + i : i * lda + p];
                for (int j = 0; j < n; j++)
                {
                    double term = aip * b[p * ldb + j];
                    sums[j] += term;
                    scales[j] += Math.Abs(term);
                }
            }
            for (int j = 0; j < n && transB; j++)
                for (int p = 0; p < k; p++)
                {
                    double term = a[transA ? p * lda + i : i * lda + p] * b[j * ldb + p];
                    sums[j] += term;
                    scales[j] += Math.Abs(term);
                }
            for (int j = 0; j < n; j++)
            {
                double sum = sums[j], scale = scales[j];
                double got = double.CreateTruncating(tc[i * ldc + j]);
                if (!(Math.Abs(got - sum) <= relTol * Math.Max(scale, 1e-30)))
                    Assert.Fail($"{typeof(T).Name} m={m} n={n} k={k} transA={transA} transB={transB} accumulate={accumulate} pad={pad}: " +
                        $"C[{i},{j}] = {got}, expected {sum}");
            }
            for (int j = n; j < ldc && i * ldc + j < tc.Length; j++)
                Assert.Equal(c0[i * ldc + j], double.CreateTruncating(tc[i * ldc + j]));
        }
    }

    static double[] Random(Rng rng, int count)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = 2 * rng.NextDouble() - 1;
        return values;
    }

    static T[] Convert<T>(double[] values) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Array.ConvertAll(values, T.CreateTruncating);

    static double[] ToDouble<T>(T[] values) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Array.ConvertAll(values, double.CreateTruncating);
}
