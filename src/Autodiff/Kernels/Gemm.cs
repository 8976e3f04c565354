using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// Dense matrix product in the GotoBLAS/BLIS style: the k dimension is cut into kc-deep slices, op(B) slices
/// are packed into a panel of nc columns, op(A) into mc-row blocks, and a register-tiled FMA micro-kernel
/// computes MR×NR tiles of C from the packed data (NR = two SIMD vectors). Packing absorbs the transposes.
/// Large products are split over a persistent pool of worker threads (see <see cref="WorkerPool"/>).
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>Below this many multiply-adds (m·n·k) a product runs on the calling thread only.</summary>
    const long ParallelThreshold = 1L << 18;

    /// <summary>
    /// C = op(A)·op(B), or C += op(A)·op(B) when accumulate. All row-major.
    /// op(A) is m×k: A stored m×k with row stride lda, or (transA) stored k×m with row stride lda.
    /// op(B) is k×n: B stored k×n with row stride ldb, or (transB) stored n×k with row stride ldb.
    /// C is m×n with row stride ldc and must not overlap A or B; without accumulate it is only written, never read.
    /// </summary>
    public static void Multiply<T>(int m, int n, int k,
        ReadOnlySpan<T> a, int lda, bool transA,
        ReadOnlySpan<T> b, int ldb, bool transB,
        Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckOperand(a.Length, lda, m, k, transA, "a", "lda", "A");
        CheckOperand(b.Length, ldb, k, n, transB, "b", "ldb", "B");
        CheckOperand(c.Length, ldc, m, n, false, "c", "ldc", "C");
        if (m == 0 || n == 0) return;

        fixed (T* pa = a, pb = b, pc = c)
        {
            if (k == 0)
            {
                if (!accumulate)
                    for (int i = 0; i < m; i++) new Span<T>(pc + (nint)i * ldc, n).Clear();
                return;
            }
            var problem = new GemmProblem
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc,
                TransA = transA, TransB = transB, Accumulate = accumulate,
            };
            bool parallel = (long)m * n * k >= ParallelThreshold;
            if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
            {
                if (Vector512.IsHardwareAccelerated) GemmDriver<Simd512<T>, Vector512<T>, T>.Run(ref problem, parallel);
                else if (Vector256.IsHardwareAccelerated) GemmDriver<Simd256<T>, Vector256<T>, T>.Run(ref problem, parallel);
                else GemmDriver<SimdScalar<T>, T, T>.Run(ref problem, parallel);
            }
            else GemmDriver<SimdScalar<T>, T, T>.Run(ref problem, parallel);
        }
    }

    /// <summary>Checks that operand `op` (opRows×opCols, stored transposed if `trans`) fits its span with row stride ld.</summary>
    static void CheckOperand(int length, int ld, int opRows, int opCols, bool trans, string span, string ldName, string op)
    {
        int rows = trans ? opCols : opRows, cols = trans ? opRows : opCols;
        if (ld < cols)
            throw new ArgumentException(
                $"{ldName} must be at least {cols}, the row length of {Describe(op, opRows, opCols, trans)}; got {ld}.", ldName);
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException(
                $"Span '{span}' is too short: {Describe(op, opRows, opCols, trans)} with {ldName}={ld} needs {need} elements, got {length}.",
                span);
    }

    static string Describe(string op, int opRows, int opCols, bool trans) =>
        op == "C" ? $"C ({opRows}x{opCols})"
        : trans ? $"{op} stored {opCols}x{opRows} (op({op}) is {opRows}x{opCols}, trans{op}=true)"
        : $"{op} stored {opRows}x{opCols} (trans{op}=false)";
}

/// <summary>One product, as pointers and sizes, plus the split chosen for it.</summary>
unsafe struct GemmProblem
{
    public void* A, B, C;
    public int M, N, K, Lda, Ldb, Ldc;
    public bool TransA, TransB, Accumulate;
    /// <summary>True: each part is a share of the columns; false: a share of the rows.</summary>
    public bool SplitColumns;
}

/// <summary>The SIMD operations the micro-kernel and packing need, for one vector type TV of T lanes.</summary>
unsafe interface ISimd<TV, T> where T : unmanaged
{
    static abstract int Lanes { get; }
    /// <summary>Rows of the micro-tile (MR): 8 where 32 vector registers are available, else 6.</summary>
    static abstract int Rows { get; }
    static abstract TV Load(T* p);
    static abstract TV Splat(T* p);
    static abstract TV MultiplyAdd(TV a, TV b, TV addend);
    static abstract TV Add(TV a, TV b);
    static abstract void Store(TV v, T* p);
}

unsafe struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged
{
    public static int Lanes => Vector512<T>.Count;
    public static int Rows => 8;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(T* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Splat(T* p) => Vector512.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> v, T* p) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> addend) =>
        typeof(T) == typeof(float)
            ? Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), addend.AsSingle()).As<float, T>()
            : Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), addend.AsDouble()).As<double, T>();
}

unsafe struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged
{
    public static int Lanes => Vector256<T>.Count;
    public static int Rows => 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(T* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Splat(T* p) => Vector256.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> v, T* p) => v.Store(p);

    /// <summary>Fused where the CPU has FMA, else multiply then add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> addend) =>
        typeof(T) == typeof(float)
            ? Vector256.MultiplyAddEstimate(a.AsSingle(), b.AsSingle(), addend.AsSingle()).As<float, T>()
            : Vector256.MultiplyAddEstimate(a.AsDouble(), b.AsDouble(), addend.AsDouble()).As<double, T>();
}

/// <summary>One lane per "vector": the fallback without SIMD, and the path for T other than float and double.</summary>
unsafe struct SimdScalar<T> : ISimd<T, T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static int Lanes => 1;
    public static int Rows => 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Load(T* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Splat(T* p) => *p;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Add(T a, T b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T v, T* p) => *p = v;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T MultiplyAdd(T a, T b, T addend) => T.MultiplyAddEstimate(a, b, addend);
}

/// <summary>Micro-kernel width: two vectors (a full NR-wide tile) or one (a right-edge tile of at most one vector).</summary>
interface ITileWidth { static abstract bool TwoVectors { get; } }
struct FullWidth : ITileWidth { public static bool TwoVectors => true; }
struct HalfWidth : ITileWidth { public static bool TwoVectors => false; }

/// <summary>
/// Blocking, packing, micro-kernel and the work split for one element type and vector type. The hot methods are
/// compiled fully optimized from their first call (AggressiveOptimization): each call's loops are too short for
/// on-stack replacement, so tiered compilation would run the first products unoptimized.
/// </summary>
static unsafe class GemmDriver<TS, TV, T>
    where TS : ISimd<TV, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Depth of a k slice; also the row stride of a packed A micro-panel, a constant so the kernel
    /// addresses the MR rows with fixed displacements.</summary>
    const int Kc = 256;
    static int MR => TS.Rows;
    static int NR => 2 * TS.Lanes;
    /// <summary>Rows of a packed A block (kept in L2), a multiple of MR.</summary>
    static int Mc => GemmWorkspace.ABytes / (Kc * sizeof(T)) / MR * MR;
    /// <summary>Elements of the packed B panel (kept in L2/L3): op(B) columns × as much of k as fits.</summary>
    static int BCapacity => GemmWorkspace.BBytes / sizeof(T);
    /// <summary>Widest B panel, a multiple of NR; it still holds one full k slice.</summary>
    static int Nc => BCapacity / Kc / NR * NR;
    /// <summary>Cost of sharing or duplicating packed data, in the choice of split (see Run).</summary>
    const double SplitOverhead = 16;

    public static void Run(ref GemmProblem p, bool parallel)
    {
        int parts = WorkerPool.Parts;
        if (parallel && parts > 1)
        {
            int rowTiles = CeilDiv(p.M, MR), colTiles = CeilDiv(p.N, NR);
            // Busiest part's tiles times the overhead of the split: split by rows, each part packs all of B (k·n
            // elements for m/parts rows of work); split by columns, all of A (m·k elements for n/parts columns).
            // Both are modelled as SplitOverhead over the rows or columns per part.
            double byRows = (double)CeilDiv(rowTiles, parts) * colTiles * (1 + SplitOverhead * parts / p.M);
            double byColumns = (double)rowTiles * CeilDiv(colTiles, parts) * (1 + SplitOverhead * parts / p.N);
            p.SplitColumns = byColumns < byRows;
            fixed (GemmProblem* pp = &p)
                if (WorkerPool.TryRun(&Work, pp, null, parts)) return;
        }
        fixed (GemmProblem* pp = &p) Compute(ref *pp, 0, p.M, 0, p.N, GemmWorkspace.Current);
    }

    /// <summary>
    /// One part of a split product: its share of the columns (all rows) or of the rows (all columns), from panels
    /// it packs itself, so nothing passes between threads and any thread may run any part.
    /// </summary>
    static void Work(void* problem, object? state, int part, int parts)
    {
        ref GemmProblem p = ref *(GemmProblem*)problem;
        GemmWorkspace ws = GemmWorkspace.Current;
        if (p.SplitColumns)
        {
            (int colBegin, int colEnd) = WorkerPool.Part(p.N, part, parts, NR);
            Compute(ref p, 0, p.M, colBegin, colEnd, ws);
        }
        else
        {
            (int rowBegin, int rowEnd) = WorkerPool.Part(p.M, part, parts, MR);
            Compute(ref p, rowBegin, rowEnd, 0, p.N, ws);
        }
    }

    /// <summary>C[rows, cols] (+)= op(A)[rows, :]·op(B)[:, cols]. The B panel holds as many k slices as fit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Compute(ref GemmProblem p, int rowBegin, int rowEnd, int colBegin, int colEnd, GemmWorkspace ws)
    {
        int k = p.K, cols = colEnd - colBegin, rows = rowEnd - rowBegin;
        if (cols <= 0) return;
        // Balanced block sizes: equal slices rather than full blocks plus a thin remainder.
        int kc = CeilDiv(k, CeilDiv(k, Kc));
        int nc = RoundUp(CeilDiv(cols, CeilDiv(cols, Nc)), NR);
        int kb = Math.Max(1, BCapacity / (nc * kc)) * kc;
        int mc = RoundUp(CeilDiv(Math.Max(rows, 1), CeilDiv(Math.Max(rows, 1), Mc)), MR);
        T* aBlock = (T*)ws.A, tile = (T*)ws.Tile, bPanel = (T*)ws.B;

        for (int jc = colBegin; jc < colEnd; jc += nc)
        {
            int ncCur = Math.Min(nc, colEnd - jc), colTiles = CeilDiv(ncCur, NR);
            for (int pb = 0; pb < k; pb += kb)
            {
                int kbCur = Math.Min(kb, k - pb);
                // Slice s of the panel (depth kc, the last one possibly less) starts at s·kc·colTiles·NR.
                for (int pc = 0; pc < kbCur; pc += kc)
                {
                    int kcCur = Math.Min(kc, kbCur - pc);
                    for (int jt = 0; jt < colTiles; jt++)
                        PackB(ref p, bPanel + ((nint)pc * colTiles + (nint)jt * kcCur) * NR,
                            jc + jt * NR, Math.Min(NR, ncCur - jt * NR), pb + pc, kcCur);
                }

                for (int ic = rowBegin; ic < rowEnd; ic += mc)
                {
                    int mcCur = Math.Min(mc, rowEnd - ic);
                    for (int pc = 0; pc < kbCur; pc += kc)
                    {
                        int kcCur = Math.Min(kc, kbCur - pc);
                        for (int it = 0; it * MR < mcCur; it++)
                            PackA(ref p, aBlock + (nint)it * MR * Kc, ic + it * MR, Math.Min(MR, mcCur - it * MR), pb + pc, kcCur);
                        Macro(ref p, aBlock, ic, mcCur, bPanel + (nint)pc * colTiles * NR, kcCur, jc, ncCur,
                            p.Accumulate || pb + pc > 0, tile);
                    }
                }
            }
        }
    }

    /// <summary>C[row0.., col0..] (+)= packed A block (rows × kc) · packed B slice (kc × cols).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Macro(ref GemmProblem p, T* aBlock, int row0, int rows, T* bSlice, int kc,
        int col0, int cols, bool accumulate, T* tile)
    {
        nint ldc = p.Ldc;
        T* c = (T*)p.C;
        // Each B micro-panel (kc×NR) stays in L1 while the A micro-panels stream from L2.
        for (int j = 0; j < cols; j += NR)
        {
            T* b = bSlice + (nint)j * kc;
            for (int i = 0; i < rows; i += MR)
                MicroTile(aBlock + (nint)i * Kc, b, kc, c + (row0 + i) * ldc + col0 + j, ldc,
                    Math.Min(MR, rows - i), Math.Min(NR, cols - j), accumulate, tile);
        }
    }

    /// <summary>One mr×nr tile of C; edge tiles go through a scratch tile so the kernel always runs full MR rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MicroTile(T* a, T* b, int kc, T* c, nint ldc, int mr, int nr, bool accumulate, T* tile)
    {
        bool direct = mr == MR && (nr == NR || nr == TS.Lanes);
        T* dst = direct ? c : tile;
        nint ld = direct ? ldc : NR;
        bool acc = direct && accumulate;
        if (nr > TS.Lanes) Kernel<FullWidth>(kc, a, b, dst, ld, acc);
        else Kernel<HalfWidth>(kc, a, b, dst, ld, acc);
        if (direct) return;
        for (int i = 0; i < mr; i++)
        {
            T* ci = c + i * ldc, ti = tile + i * NR;
            for (int j = 0; j < nr; j++)
                ci[j] = accumulate ? ci[j] + ti[j] : ti[j];
        }
    }

    /// <summary>
    /// MR×NR register tile: for each of kc steps, one or two vectors of the packed B row times the MR values of
    /// the packed A column (row r of the A micro-panel at r·Kc). Writes (or with accumulate adds) the tile to C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel<TW>(int kc, T* a, T* b, T* c, nint ldc, bool accumulate) where TW : ITileWidth
    {
        TV c00 = default!, c01 = default!, c10 = default!, c11 = default!, c20 = default!, c21 = default!;
        TV c30 = default!, c31 = default!, c40 = default!, c41 = default!, c50 = default!, c51 = default!;
        TV c60 = default!, c61 = default!, c70 = default!, c71 = default!;
        int lanes = TS.Lanes, nr = NR;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TS.Load(b), b1 = TW.TwoVectors ? TS.Load(b + lanes) : default!;
            TV ar = TS.Splat(a);
            c00 = TS.MultiplyAdd(ar, b0, c00); if (TW.TwoVectors) c01 = TS.MultiplyAdd(ar, b1, c01);
            ar = TS.Splat(a + Kc);
            c10 = TS.MultiplyAdd(ar, b0, c10); if (TW.TwoVectors) c11 = TS.MultiplyAdd(ar, b1, c11);
            ar = TS.Splat(a + 2 * Kc);
            c20 = TS.MultiplyAdd(ar, b0, c20); if (TW.TwoVectors) c21 = TS.MultiplyAdd(ar, b1, c21);
            ar = TS.Splat(a + 3 * Kc);
            c30 = TS.MultiplyAdd(ar, b0, c30); if (TW.TwoVectors) c31 = TS.MultiplyAdd(ar, b1, c31);
            ar = TS.Splat(a + 4 * Kc);
            c40 = TS.MultiplyAdd(ar, b0, c40); if (TW.TwoVectors) c41 = TS.MultiplyAdd(ar, b1, c41);
            ar = TS.Splat(a + 5 * Kc);
            c50 = TS.MultiplyAdd(ar, b0, c50); if (TW.TwoVectors) c51 = TS.MultiplyAdd(ar, b1, c51);
            // Rows 6 and 7 exist only in 8-row tiles; the test folds away when compiled for 6 rows.
            if (TS.Rows == 8)
            {
                ar = TS.Splat(a + 6 * Kc);
                c60 = TS.MultiplyAdd(ar, b0, c60); if (TW.TwoVectors) c61 = TS.MultiplyAdd(ar, b1, c61);
                ar = TS.Splat(a + 7 * Kc);
                c70 = TS.MultiplyAdd(ar, b0, c70); if (TW.TwoVectors) c71 = TS.MultiplyAdd(ar, b1, c71);
            }
            a++;
            b += nr;
        }
        StoreRow<TW>(c, c00, c01, accumulate); c += ldc;
        StoreRow<TW>(c, c10, c11, accumulate); c += ldc;
        StoreRow<TW>(c, c20, c21, accumulate); c += ldc;
        StoreRow<TW>(c, c30, c31, accumulate); c += ldc;
        StoreRow<TW>(c, c40, c41, accumulate); c += ldc;
        StoreRow<TW>(c, c50, c51, accumulate);
        if (TS.Rows == 8)
        {
            c += ldc; StoreRow<TW>(c, c60, c61, accumulate);
            c += ldc; StoreRow<TW>(c, c70, c71, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<TW>(T* c, TV v0, TV v1, bool accumulate) where TW : ITileWidth
    {
        if (accumulate)
        {
            v0 = TS.Add(TS.Load(c), v0);
            if (TW.TwoVectors) v1 = TS.Add(TS.Load(c + TS.Lanes), v1);
        }
        TS.Store(v0, c);
        if (TW.TwoVectors) TS.Store(v1, c + TS.Lanes);
    }

    /// <summary>
    /// Packs rows [row0, row0+mr) × depth [p0, p0+kc) of op(A) as an A micro-panel: row r at dst + r·Kc,
    /// contiguous in k; rows mr..MR are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackA(ref GemmProblem p, T* dst, int row0, int mr, int p0, int kc)
    {
        T* a = (T*)p.A;
        nint lda = p.Lda;
        if (!p.TransA)
            for (int r = 0; r < mr; r++)
                new ReadOnlySpan<T>(a + (row0 + r) * lda + p0, kc).CopyTo(new Span<T>(dst + r * Kc, kc));
        else
            Transpose(a + p0 * lda + row0, lda, dst, Kc, kc, mr);
        for (int r = mr; r < MR; r++)
            new Span<T>(dst + r * Kc, kc).Clear();
    }

    /// <summary>
    /// Packs depth [p0, p0+kc) × columns [col0, col0+nr) of op(B) as a B micro-panel: NR values per k step;
    /// columns nr..NR are zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackB(ref GemmProblem p, T* dst, int col0, int nr, int p0, int kc)
    {
        T* b = (T*)p.B;
        nint ldb = p.Ldb;
        int lanes = TS.Lanes, nrFull = NR;
        if (p.TransB)
            Transpose(b + col0 * ldb + p0, ldb, dst, nrFull, nr, kc);
        else if (nr == nrFull)
        {
            T* s = b + p0 * ldb + col0;
            for (int q = 0; q < kc; q++, s += ldb, dst += nrFull)
            {
                TS.Store(TS.Load(s), dst);
                TS.Store(TS.Load(s + lanes), dst + lanes);
            }
            return;
        }
        else
            for (int q = 0; q < kc; q++)
                new ReadOnlySpan<T>(b + (p0 + q) * ldb + col0, nr).CopyTo(new Span<T>(dst + q * nrFull, nr));
        if (nr < nrFull)
            for (int q = 0; q < kc; q++)
                new Span<T>(dst + q * nrFull + nr, nrFull - nr).Clear();
    }

    /// <summary>
    /// dst[j·ldDst + i] = src[i·ldSrc + j] for i &lt; rows, j &lt; cols: where Vector256 runs on AVX, in 8×8 (float) or 4×4 (double)
    /// register blocks, the ragged edges element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Transpose(T* src, nint ldSrc, T* dst, nint ldDst, int rows, int cols)
    {
        int block = Vector256.IsHardwareAccelerated && Avx.IsSupported && (sizeof(T) == 4 || sizeof(T) == 8) ? 32 / sizeof(T) : 1;
        int fullRows = block == 1 ? 0 : rows / block * block, fullCols = block == 1 ? 0 : cols / block * block;
        for (int i = 0; i < fullRows; i += block)
            for (int j = 0; j < fullCols; j += block)
            {
                if (sizeof(T) == 4) Transpose8x8((float*)(src + i * ldSrc + j), ldSrc, (float*)(dst + j * ldDst + i), ldDst);
                else Transpose4x4((double*)(src + i * ldSrc + j), ldSrc, (double*)(dst + j * ldDst + i), ldDst);
            }
        for (int i = 0; i < rows; i++)
            for (int j = i < fullRows ? fullCols : 0; j < cols; j++)
                dst[j * ldDst + i] = src[i * ldSrc + j];
    }

    static void Transpose8x8(float* src, nint ldSrc, float* dst, nint ldDst)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ldSrc);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * ldSrc), r3 = Avx.LoadVector256(src + 3 * ldSrc);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * ldSrc), r5 = Avx.LoadVector256(src + 5 * ldSrc);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * ldSrc), r7 = Avx.LoadVector256(src + 7 * ldSrc);
        // Interleave pairs of rows, then pairs of pairs (within 128-bit lanes), then swap the lane halves.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(dst + ldDst, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(dst + 2 * ldDst, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(dst + 3 * ldDst, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(dst + 4 * ldDst, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(dst + 5 * ldDst, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(dst + 6 * ldDst, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(dst + 7 * ldDst, Avx.Permute2x128(s3, s7, 0x31));
    }

    static void Transpose4x4(double* src, nint ldSrc, double* dst, nint ldDst)
    {
        Vector256<double> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + ldSrc);
        Vector256<double> r2 = Avx.LoadVector256(src + 2 * ldSrc), r3 = Avx.LoadVector256(src + 3 * ldSrc);
        Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Avx.Store(dst, Avx.Permute2x128(t0, t2, 0x20));
        Avx.Store(dst + ldDst, Avx.Permute2x128(t1, t3, 0x20));
        Avx.Store(dst + 2 * ldDst, Avx.Permute2x128(t0, t2, 0x31));
        Avx.Store(dst + 3 * ldDst, Avx.Permute2x128(t1, t3, 0x31));
    }

    static int CeilDiv(int x, int y) => (x + y - 1) / y;
    static int RoundUp(int x, int multiple) => CeilDiv(x, multiple) * multiple;
}

/// <summary>
/// Packing buffers of one thread, allocated once (64-byte aligned native memory) and freed when the thread's
/// workspace is collected. Sized in bytes so that one set serves float and double.
/// </summary>
sealed unsafe class GemmWorkspace
{
    public const int ABytes = 128 * 1024;
    public const int BBytes = 4 * 1024 * 1024;
    /// <summary>The largest micro-tile: 8 rows × 2 vectors of 64 bytes.</summary>
    const int TileBytes = 8 * 2 * 64;

    [ThreadStatic] static GemmWorkspace? t_current;
    public static GemmWorkspace Current => t_current ??= new GemmWorkspace();

    public readonly byte* A = Alloc(ABytes);
    public readonly byte* Tile = Alloc(TileBytes);
    byte* _b;

    /// <summary>The B panel, allocated on first use.</summary>
    public byte* B => _b != null ? _b : _b = Alloc(BBytes);

    static byte* Alloc(int bytes) => (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);

    ~GemmWorkspace()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(Tile);
        NativeMemory.AlignedFree(_b);
    }
}
