using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// Dense matrix product in the GotoBLAS/BLIS style: the k dimension is cut into kc-deep slices, op(B) slices
/// are packed into a shared panel of nc columns, op(A) into mc-row blocks, and a register-tiled FMA micro-kernel
/// computes MR×NR tiles of C from the packed data (NR = two SIMD vectors). Packing absorbs the transposes.
/// Large products are split over a persistent pool of worker threads (see <see cref="GemmPool"/>).
/// </summary>
public static unsafe class Gemm
{
    /// <summary>Below this many multiply-adds (m·n·k) a product runs on the calling thread only.</summary>
    const long ParallelThreshold = 1L << 18;

    /// C = op(A)·op(B), or C += op(A)·op(B) when accumulate. All row-major.
    /// op(A) is m×k: A stored m×k with row stride lda, or (transA) stored k×m with row stride lda.
    /// op(B) is k×n: B stored k×n with row stride ldb, or (transB) stored n×k with row stride ldb.
    /// C is m×n with row stride ldc. C must not overlap A or B. When !accumulate, C is only written.
    public static void Multiply<T>(int m, int n, int k,
        ReadOnlySpan<T> a, int lda, bool transA,
        ReadOnlySpan<T> b, int ldb, bool transB,
        Span<T> c, int ldc, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        CheckOperand(a.Length, transA ? k : m, transA ? m : k, lda, "a", "lda", $"op(A) is {m}x{k}, transA={transA}");
        CheckOperand(b.Length, transB ? n : k, transB ? k : n, ldb, "b", "ldb", $"op(B) is {k}x{n}, transB={transB}");
        CheckOperand(c.Length, m, n, ldc, "c", "ldc", $"C is {m}x{n}");
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

    /// <summary>Checks that a rows×cols operand with row stride ld fits in a span of the given length.</summary>
    static void CheckOperand(int length, int rows, int cols, int ld, string span, string ldName, string what)
    {
        if (ld < cols)
            throw new ArgumentException(
                $"{ldName} must be at least {cols} (the row length of the stored operand; {what}), got {ld}.", ldName);
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException(
                $"Span '{span}' is too short: a stored {rows}x{cols} operand with {ldName}={ld} needs {need} elements ({what}), got {length}.",
                span);
    }
}

/// <summary>One product, as pointers and sizes, plus the split chosen for it.</summary>
unsafe struct GemmProblem
{
    public void* A, B, C;
    public int M, N, K, Lda, Ldb, Ldc;
    public bool TransA, TransB, Accumulate;
    /// <summary>Threads taking part; thread 0 is the caller.</summary>
    public int Threads;
    /// <summary>True: threads share the packed A block and split the columns; false: they split the rows.</summary>
    public bool SplitColumns;
    /// <summary>The caller's packing buffers, shared by all threads of the product.</summary>
    public byte* SharedA, SharedB;
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

/// <summary>Blocking, packing, micro-kernel and the work split for one element type and vector type.</summary>
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
    /// <summary>Columns of the packed B panel (shared, kept in L3), a multiple of NR.</summary>
    static int Nc => GemmWorkspace.BBytes / (Kc * sizeof(T)) / NR * NR;

    public static void Run(ref GemmProblem p, bool parallel)
    {
        GemmWorkspace ws = GemmWorkspace.Current;
        p.SharedA = ws.A;
        p.SharedB = ws.B;
        if (parallel && GemmPool.Threads > 1)
        {
            int threads = GemmPool.Threads;
            int rowTiles = CeilDiv(p.M, MR), colTiles = CeilDiv(Math.Min(p.N, Nc), NR);
            // Per-thread tile count of each split; sharing the A block needs it to be a single block.
            long byRows = (long)CeilDiv(rowTiles, threads) * colTiles;
            long byColumns = (long)rowTiles * CeilDiv(colTiles, threads);
            p.SplitColumns = p.M <= Mc && byColumns < byRows;
            p.Threads = threads;
            fixed (GemmProblem* pp = &p)
                if (GemmPool.TryRun(&Work, pp)) return;
        }
        p.Threads = 1;
        p.SplitColumns = false;
        fixed (GemmProblem* pp = &p) Work(pp, 0);
    }

    /// <summary>The part of the product done by thread t of p.Threads.</summary>
    static void Work(GemmProblem* pp, int t)
    {
        ref GemmProblem p = ref *pp;
        int threads = p.Threads, m = p.M, n = p.N, k = p.K;
        GemmWorkspace ws = GemmWorkspace.Current;
        T* aBlock = p.SplitColumns ? (T*)p.SharedA : (T*)ws.A;
        T* bPanel = (T*)p.SharedB;
        T* tile = (T*)ws.Tile;

        // Balanced block sizes: equal slices rather than full blocks plus a thin remainder.
        int kc = CeilDiv(k, CeilDiv(k, Kc));
        int nc = RoundUp(CeilDiv(n, CeilDiv(n, Nc)), NR);
        int rowTiles = CeilDiv(m, MR);
        (int rowBegin, int rowEnd) = p.SplitColumns ? (0, m) : Share(rowTiles, t, threads, MR, m);
        int rows = rowEnd - rowBegin;
        int mc = rows == 0 ? MR : RoundUp(CeilDiv(rows, CeilDiv(rows, Mc)), MR);

        for (int jc = 0; jc < n; jc += nc)
        {
            int ncCur = Math.Min(nc, n - jc), colTiles = CeilDiv(ncCur, NR);
            for (int pc = 0; pc < k; pc += kc)
            {
                int kcCur = Math.Min(kc, k - pc);
                bool accumulate = p.Accumulate || pc > 0;
                // Every thread packs its share of the B panel (and of the A block when that is shared too).
                (int jtBegin, int jtEnd) = Share(colTiles, t, threads, 1, colTiles);
                for (int jt = jtBegin; jt < jtEnd; jt++)
                    PackB(ref p, bPanel + (nint)jt * kcCur * NR, jc + jt * NR, Math.Min(NR, ncCur - jt * NR), pc, kcCur);
                if (p.SplitColumns)
                {
                    (int itBegin, int itEnd) = Share(rowTiles, t, threads, 1, rowTiles);
                    for (int it = itBegin; it < itEnd; it++)
                        PackA(ref p, aBlock + (nint)it * MR * Kc, it * MR, Math.Min(MR, m - it * MR), pc, kcCur);
                }
                GemmPool.Barrier(threads);

                if (p.SplitColumns)
                    Macro(ref p, aBlock, 0, m, bPanel, kcCur, jc, ncCur, jtBegin, jtEnd, accumulate, tile);
                else
                    for (int ic = rowBegin; ic < rowEnd; ic += mc)
                    {
                        int mcCur = Math.Min(mc, rowEnd - ic);
                        for (int it = 0; it * MR < mcCur; it++)
                            PackA(ref p, aBlock + (nint)it * MR * Kc, ic + it * MR, Math.Min(MR, mcCur - it * MR), pc, kcCur);
                        Macro(ref p, aBlock, ic, mcCur, bPanel, kcCur, jc, ncCur, 0, colTiles, accumulate, tile);
                    }
                // The next slice overwrites the shared panels.
                GemmPool.Barrier(threads);
            }
        }
    }

    /// <summary>Tiles [begin, end) of `count` owned by thread t, scaled by `unit` and clipped to `limit`.</summary>
    static (int Begin, int End) Share(int count, int t, int threads, int unit, int limit) =>
        (Math.Min(limit, (int)((long)count * t / threads) * unit),
         Math.Min(limit, (int)((long)count * (t + 1) / threads) * unit));

    /// <summary>C[row0.., jc..] (+)= packed A block (rows) · packed B micro-panels [jtBegin, jtEnd).</summary>
    static void Macro(ref GemmProblem p, T* aBlock, int row0, int rows, T* bPanel, int kc,
        int jc, int ncCur, int jtBegin, int jtEnd, bool accumulate, T* tile)
    {
        nint ldc = p.Ldc;
        T* c = (T*)p.C;
        // Each B micro-panel (kc×NR) stays in L1 while the A micro-panels stream from L2.
        for (int jt = jtBegin; jt < jtEnd; jt++)
        {
            T* b = bPanel + (nint)jt * kc * NR;
            int col = jc + jt * NR, nr = Math.Min(NR, ncCur - jt * NR);
            for (int i = 0; i < rows; i += MR)
                MicroTile(aBlock + (nint)(i / MR) * MR * Kc, b, kc, c + (row0 + i) * ldc + col, ldc,
                    Math.Min(MR, rows - i), nr, accumulate, tile);
        }
    }

    /// <summary>One mr×nr tile of C; edge tiles go through a scratch tile so the kernel always runs full MR rows.</summary>
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
    static void PackA(ref GemmProblem p, T* dst, int row0, int mr, int p0, int kc)
    {
        T* a = (T*)p.A;
        nint lda = p.Lda;
        for (int r = 0; r < MR; r++)
        {
            T* d = dst + r * Kc;
            if (r >= mr)
                new Span<T>(d, kc).Clear();
            else if (!p.TransA)
                new ReadOnlySpan<T>(a + (row0 + r) * lda + p0, kc).CopyTo(new Span<T>(d, kc));
            else
            {
                T* s = a + (nint)p0 * lda + row0 + r;
                for (int q = 0; q < kc; q++) d[q] = s[q * lda];
            }
        }
    }

    /// <summary>
    /// Packs depth [p0, p0+kc) × columns [col0, col0+nr) of op(B) as a B micro-panel: NR values per k step;
    /// columns nr..NR are zero.
    /// </summary>
    static void PackB(ref GemmProblem p, T* dst, int col0, int nr, int p0, int kc)
    {
        T* b = (T*)p.B;
        nint ldb = p.Ldb;
        int lanes = TS.Lanes, nrFull = NR;
        if (!p.TransB)
        {
            T* s = b + (nint)p0 * ldb + col0;
            for (int q = 0; q < kc; q++, s += ldb, dst += nrFull)
            {
                if (nr == nrFull)
                {
                    TS.Store(TS.Load(s), dst);
                    TS.Store(TS.Load(s + lanes), dst + lanes);
                }
                else
                {
                    new ReadOnlySpan<T>(s, nr).CopyTo(new Span<T>(dst, nr));
                    new Span<T>(dst + nr, nrFull - nr).Clear();
                }
            }
        }
        else
        {
            for (int j = 0; j < nrFull; j++)
            {
                T* d = dst + j;
                if (j >= nr)
                    for (int q = 0; q < kc; q++) d[q * nrFull] = default;
                else
                {
                    T* s = b + (col0 + j) * ldb + p0;
                    for (int q = 0; q < kc; q++) d[q * nrFull] = s[q];
                }
            }
        }
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
    const int TileBytes = 8 * 2 * 64;

    [ThreadStatic] static GemmWorkspace? t_current;
    public static GemmWorkspace Current => t_current ??= new GemmWorkspace();

    public readonly byte* A = Alloc(ABytes);
    public readonly byte* Tile = Alloc(TileBytes);
    byte* _b;

    /// <summary>The B panel: only a calling thread packs one, so worker threads never allocate it.</summary>
    public byte* B => _b != null ? _b : _b = Alloc(BBytes);

    static byte* Alloc(int bytes) => (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);

    ~GemmWorkspace()
    {
        NativeMemory.AlignedFree(A);
        NativeMemory.AlignedFree(Tile);
        NativeMemory.AlignedFree(_b);
    }
}

/// <summary>
/// Persistent worker threads (ProcessorCount - 1 of them; the caller is thread 0). A product owns the pool while
/// it holds a lock; a concurrent product runs on its own thread instead of waiting. Idle workers spin briefly for
/// the next product, then block on a semaphore.
/// </summary>
static unsafe class GemmPool
{
    public static readonly int Threads = Environment.ProcessorCount;
    static readonly long SpinTicks = Stopwatch.Frequency / 2000;
    static readonly object Gate = new();
    static readonly Worker[] Workers = StartWorkers();

    static delegate*<GemmProblem*, int, void> s_work;
    static GemmProblem* s_problem;
    static int s_generation;
    static int s_arrived, s_phase;

    sealed class Worker
    {
        public readonly SemaphoreSlim Wake = new(0);
        /// <summary>1 while the worker is (about to be) blocked on Wake.</summary>
        public int Sleeping;
    }

    static Worker[] StartWorkers()
    {
        var workers = new Worker[Threads - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Worker();
            new Thread(WorkerLoop, maxStackSize: 256 * 1024) { IsBackground = true, Name = $"Scg GEMM {i + 1}" }.Start(i + 1);
        }
        return workers;
    }

    /// <summary>Runs work(problem, t) on threads t = 0..Threads-1, or returns false if another product owns the pool.</summary>
    public static bool TryRun(delegate*<GemmProblem*, int, void> work, GemmProblem* problem)
    {
        if (!Monitor.TryEnter(Gate)) return false;
        try
        {
            s_work = work;
            s_problem = problem;
            Interlocked.Increment(ref s_generation);
            foreach (Worker w in Workers)
                if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
            work(problem, 0);
            Barrier(Threads);
        }
        finally
        {
            Monitor.Exit(Gate);
        }
        return true;
    }

    /// <summary>Waits until all `threads` threads of the current product arrive; a no-op for one thread.</summary>
    public static void Barrier(int threads)
    {
        if (threads == 1) return;
        int phase = Volatile.Read(ref s_phase);
        if (Interlocked.Increment(ref s_arrived) == threads)
        {
            s_arrived = 0;
            Volatile.Write(ref s_phase, phase + 1);
            return;
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref s_phase) == phase) spin.SpinOnce(sleep1Threshold: -1);
    }

    static void WorkerLoop(object? index)
    {
        int t = (int)index!;
        Worker w = Workers[t - 1];
        int seen = 0;
        while (true)
        {
            seen = WaitForWork(w, seen);
            s_work(s_problem, t);
            Barrier(Threads);
        }
    }

    /// <summary>Spins, then sleeps, until the generation moves past `seen`; returns the new generation.</summary>
    static int WaitForWork(Worker w, int seen)
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        int generation;
        while ((generation = Volatile.Read(ref s_generation)) == seen)
        {
            if (Stopwatch.GetTimestamp() < spinUntil)
            {
                Thread.SpinWait(20);
                continue;
            }
            Interlocked.Exchange(ref w.Sleeping, 1);
            // Re-check after announcing the sleep: a product started in between may not have seen the flag.
            if (Volatile.Read(ref s_generation) == seen || Interlocked.Exchange(ref w.Sleeping, 0) == 0)
                w.Wake.Wait();
            spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        }
        return generation;
    }
}
