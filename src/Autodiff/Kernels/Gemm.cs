using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// Dense matrix product in the GotoBLAS/BLIS style: the k dimension is cut into kc-deep slices, op(B) slices
/// are packed into a panel of nc columns, op(A) into mc-row blocks, and a register-tiled FMA micro-kernel
/// computes MR×NR tiles of C from the packed data (NR = two SIMD vectors; a packed A micro-panel holds each
/// k step's MR values contiguously, a B micro-panel its NR values). Packing absorbs the transposes; with few
/// rows, op(B) stored k×n is read in place. One kernel per vector width (Vector512, Vector256, Vector128,
/// scalar); kc is fixed (it sets the order of the sums), mc and nc follow from the cache sizes the machine reports
/// (<see cref="CacheInfo"/>).
/// Large products are split over a persistent pool of worker threads (see <see cref="WorkerPool"/>).
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>Below this many multiply-adds (m·n·k) a product runs on the calling thread only.</summary>
    const long ParallelThreshold = 1L << 18;

    /// <summary>Multiply-adds (m·n·k) of the products this thread has run: benchmarks count a step's GEMM work.</summary>
    public static long MultiplyAdds => t_multiplyAdds;
    [ThreadStatic] static long t_multiplyAdds;

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
        t_multiplyAdds += (long)m * n * k;

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
            switch (KernelFor<T>())
            {
                case GemmKernel.Vector512: GemmDriver<Simd512<T>, Vector512<T>, T>.Run(ref problem, parallel); break;
                case GemmKernel.Vector256: GemmDriver<Simd256<T>, Vector256<T>, T>.Run(ref problem, parallel); break;
                case GemmKernel.Vector128: GemmDriver<Simd128<T>, Vector128<T>, T>.Run(ref problem, parallel); break;
                default: GemmDriver<SimdScalar<T>, T, T>.Run(ref problem, parallel); break;
            }
        }
    }

    /// <summary>The widest accelerated vector type; scalar for T other than float and double.</summary>
    internal static GemmKernel KernelFor<T>() =>
        typeof(T) != typeof(float) && typeof(T) != typeof(double) ? GemmKernel.Scalar
        : Vector512.IsHardwareAccelerated ? GemmKernel.Vector512
        : Vector256.IsHardwareAccelerated ? GemmKernel.Vector256
        : Vector128.IsHardwareAccelerated ? GemmKernel.Vector128
        : GemmKernel.Scalar;

    /// <summary>The tile and block sizes products of T use on this machine.</summary>
    internal static GemmBlocking BlockingFor<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        KernelFor<T>() switch
        {
            GemmKernel.Vector512 => GemmDriver<Simd512<T>, Vector512<T>, T>.Blocking,
            GemmKernel.Vector256 => GemmDriver<Simd256<T>, Vector256<T>, T>.Blocking,
            GemmKernel.Vector128 => GemmDriver<Simd128<T>, Vector128<T>, T>.Blocking,
            _ => GemmDriver<SimdScalar<T>, T, T>.Blocking,
        };

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

enum GemmKernel { Scalar, Vector128, Vector256, Vector512 }

/// <summary>
/// Tile and block sizes of one kernel: MR×NR tiles of Lanes-wide vectors of ElementBytes-byte elements, k slices of
/// Kc, A blocks of Mc rows, B panels of at most Nc columns and BCapacity elements; B may be read in place for parts of
/// at most InPlaceBRows rows (see <see cref="ReadsBInPlace"/>). L1WayBytes: one way of the L1 data cache.
/// </summary>
readonly record struct GemmBlocking(int MR, int NR, int Lanes, int Kc, int Mc, int Nc, int BCapacity, int InPlaceBRows,
    int ElementBytes, int L1WayBytes)
{
    /// <summary>
    /// Whether a part of `rows` rows reads op(B) stored k×n (row stride ldb) in place: when few row tiles share each
    /// B micro-panel, so that packing would not repay itself, and the micro-panel's rows spread over all of L1's sets.
    /// A way spans a power of two of bytes, so rows ldb apart return to the same sets every way / gcd(stride, way)
    /// rows, the gcd being the stride's lowest set bit. A stride with a large power-of-two factor (2 KiB for a row of
    /// 512 floats) puts a kc-row micro-panel in a few sets, whose ways cannot hold it: it is then packed.
    /// </summary>
    public bool ReadsBInPlace(int rows, int ldb, bool transB)
    {
        if (transB || rows > InPlaceBRows) return false;
        long stride = (long)ldb * ElementBytes;
        long rowsPerCycle = L1WayBytes / Math.Min(stride & -stride, L1WayBytes);
        return rowsPerCycle * NR * ElementBytes >= L1WayBytes;
    }
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
    /// <summary>Rows of the micro-tile (MR): its MR×2 accumulators, two B vectors and a broadcast A value fit the
    /// vector registers: 8 rows where the instruction set has 32 (AVX-512, Arm64), 6 where it may have 16 (AVX2,
    /// x86 without AVX2, scalar).</summary>
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

/// <summary>Vector128: the Arm64 AdvSimd path (32 registers, 8 rows) and x86 without AVX2 (16 registers, 6 rows).</summary>
unsafe struct Simd128<T> : ISimd<Vector128<T>, T> where T : unmanaged
{
    public static int Lanes => Vector128<T>.Count;
    public static int Rows => AdvSimd.Arm64.IsSupported ? 8 : 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(T* p) => Vector128.Load(p);
    /// <summary>On x86 a broadcast load (without AVX2 the JIT would load, then shuffle).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> Splat(T* p) =>
        Avx.IsSupported && typeof(T) == typeof(float) ? Avx.BroadcastScalarToVector128((float*)p).As<float, T>()
        : Sse3.IsSupported && typeof(T) == typeof(double) ? Sse3.LoadAndDuplicateToVector128((double*)p).As<double, T>()
        : Vector128.Create(*p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> v, T* p) => v.Store(p);

    /// <summary>Fused where the CPU has FMA (always on Arm64), else multiply then add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> addend) =>
        typeof(T) == typeof(float)
            ? Vector128.MultiplyAddEstimate(a.AsSingle(), b.AsSingle(), addend.AsSingle()).As<float, T>()
            : Vector128.MultiplyAddEstimate(a.AsDouble(), b.AsDouble(), addend.AsDouble()).As<double, T>();
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

/// <summary>Rows the micro-kernel computes: MR, or fewer for a bottom-edge tile (4 rows still keep 8 FMA chains
/// in flight, enough for two FMA units of 4-cycle latency).</summary>
interface ITileRows { static abstract int Rows { get; } }
struct FourRows : ITileRows { public static int Rows => 4; }
struct SixRows : ITileRows { public static int Rows => 6; }
struct EightRows : ITileRows { public static int Rows => 8; }

/// <summary>
/// Blocking, packing, micro-kernel and the work split for one element type and vector type. The hot methods are
/// compiled fully optimized from their first call (AggressiveOptimization): each call's loops are too short for
/// on-stack replacement, so tiered compilation would run the first products unoptimized.
/// </summary>
static unsafe class GemmDriver<TS, TV, T>
    where TS : ISimd<TV, T>
    where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static int MR => TS.Rows;
    static int NR => 2 * TS.Lanes;

    /// <summary>
    /// Depth of a k slice. Each slice's products are summed in registers and then added to C, so kc fixes the order
    /// of the sums of every element: it is a constant, never taken from the machine's caches or cores, so that a
    /// seeded run gives the same bits on every host of one vector path, and every split of the rows or columns (over
    /// threads, in place or packed) the bits of a serial run. 512 for 64-byte vectors, whose NR-wide B micro-panel
    /// outgrows L1 at either depth, so that a tile adds to C half as often (measured on Zen 4: 2-4 % faster at 512³
    /// and 1024³, up to 4 % at 64x784x200); 256 for narrower vectors, whose micro-panel then stays in L1.
    /// </summary>
    static readonly int Kc = TS.Lanes * sizeof(T) >= 64 ? 512 : 256;
    /// <summary>Rows of a packed A block, a multiple of MR: the block (mc×kc) fills the L2 but for one way
    /// (C) and the ways of a B micro-panel.</summary>
    static readonly int Mc = RowBlock();
    /// <summary>Elements of the packed B panel: half of this CPU's share of the L3 (at least half the L2).</summary>
    static readonly int BCapacity = Math.Max(CacheInfo.L3.Bytes, CacheInfo.L2.Bytes) / 2 / sizeof(T);
    /// <summary>Widest B panel, a multiple of NR; it still holds one full k slice.</summary>
    static readonly int Nc = Math.Max(BCapacity / Kc / NR, 1) * NR;
    /// <summary>Elements a packed A panel may be written past its end (the 8-wide transposes of a 6-row panel).</summary>
    const int ASlack = 8;
    /// <summary>Up to this many row tiles share a B micro-panel, op(B) stored k×n is read in place, not packed
    /// (measured: packing pays from about 32 row tiles on).</summary>
    const int InPlaceBRowTiles = 32;
    public static readonly GemmBlocking Blocking =
        new(MR, NR, TS.Lanes, Kc, Mc, Nc, BCapacity, InPlaceBRowTiles * MR, sizeof(T), CacheInfo.L1.WayBytes);
    /// <summary>Cost of sharing or duplicating packed data, in the choice of split (see Run).</summary>
    const double SplitOverhead = 16;

    static int RowBlock()
    {
        CacheLevel l2 = CacheInfo.L2;
        int bWays = CeilDiv(Kc * NR * sizeof(T), l2.WayBytes);
        int aWays = Math.Max(l2.Ways - 1 - bWays, 1);
        return Math.Max((int)((long)aWays * l2.WayBytes / (Kc * sizeof(T)) / MR * MR), MR);
    }

    public static void Run(ref GemmProblem p, bool parallel)
    {
        int parts = WorkerPool.Parts;
        if (parallel && parts > 1)
        {
            int rowTiles = CeilDiv(p.M, MR), vectors = CeilDiv(p.N, TS.Lanes);
            // Busiest part's work in NR-wide tiles (a one-vector tile counting half) times the overhead of the
            // split: split by rows, each part packs all of B (k·n elements for m/parts rows of work) unless it reads
            // B in place; split by columns (at whole vectors), all of A (m·k elements for n/parts columns). Both are
            // modelled as SplitOverhead over the rows or columns per part.
            bool bInPlace = Blocking.ReadsBInPlace(CeilDiv(rowTiles, parts) * MR, p.Ldb, p.TransB);
            double byRows = CeilDiv(rowTiles, parts) * (vectors / 2.0) * (bInPlace ? 1 : 1 + SplitOverhead * parts / p.M);
            double byColumns = rowTiles * (CeilDiv(vectors, parts) / 2.0) * (1 + SplitOverhead * parts / p.N);
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
            (int colBegin, int colEnd) = WorkerPool.Part(p.N, part, parts, TS.Lanes);
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
        if (cols <= 0 || rows <= 0) return;
        // Few rows: op(B) stored k×n is read in place, each B micro-panel being used by too few row tiles to
        // repay packing it; only a ragged right-edge tile (neither NR nor one vector wide) is packed.
        bool directB = Blocking.ReadsBInPlace(rows, p.Ldb, p.TransB);
        // Balanced block sizes: equal slices rather than full blocks plus a thin remainder.
        int kc = CeilDiv(k, CeilDiv(k, Kc));
        int nc = RoundUp(CeilDiv(cols, CeilDiv(cols, Nc)), NR);
        int kb = Math.Min(Math.Max(1, BCapacity / (nc * kc)) * kc, RoundUp(k, kc));
        int mc = RoundUp(CeilDiv(rows, CeilDiv(rows, Mc)), MR);
        T* aBlock = (T*)ws.A(((nint)mc * kc + ASlack) * sizeof(T));
        T* bPanel = (T*)ws.B((directB ? NR : nc) * (nint)kb * sizeof(T));
        T* tile = (T*)ws.Tile(MR * NR * sizeof(T));

        for (int jc = colBegin; jc < colEnd; jc += nc)
        {
            int ncCur = Math.Min(nc, colEnd - jc), colTiles = CeilDiv(ncCur, NR);
            int edge = ncCur % NR;
            for (int pb = 0; pb < k; pb += kb)
            {
                int kbCur = Math.Min(kb, k - pb);
                // Slice s of the panel (depth kc, the last one possibly less) starts at s·kc·colTiles·NR
                // (s·kc·NR when only the edge tile is packed).
                for (int pc = 0; pc < kbCur; pc += kc)
                {
                    int kcCur = Math.Min(kc, kbCur - pc);
                    if (!directB)
                        PackBSlice(ref p, bPanel + (nint)pc * colTiles * NR, jc, ncCur, pb + pc, kcCur);
                    else if (edge != 0 && edge != TS.Lanes && !IsHalfVectorEdge(edge))
                        PackB(ref p, bPanel + (nint)pc * NR, jc + ncCur - edge, edge, pb + pc, kcCur);
                }

                for (int ic = rowBegin; ic < rowEnd; ic += mc)
                {
                    int mcCur = Math.Min(mc, rowEnd - ic);
                    for (int pc = 0; pc < kbCur; pc += kc)
                    {
                        int kcCur = Math.Min(kc, kbCur - pc);
                        T* bInPlace = directB ? (T*)p.B + (nint)(pb + pc) * p.Ldb + jc : null;
                        Macro(ref p, aBlock, ic, mcCur, pb + pc, bInPlace, bPanel + (nint)pc * (directB ? 1 : colTiles) * NR, kcCur,
                            jc, ncCur, p.Accumulate || pb + pc > 0, tile);
                    }
                }
            }
        }
    }

    /// <summary>
    /// C[row0.., col0..] (+)= op(A)[row0.., p0..p0+kc] · B slice (kc × cols): B read in place from bInPlace (row
    /// stride ldb) but for a packed edge tile at bPacked, or (bInPlace null) all packed at bPacked. The A block is
    /// packed into aBlock on its first use, one micro-panel at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Macro(ref GemmProblem p, T* aBlock, int row0, int rows, int p0, T* bInPlace, T* bPacked, int kc,
        int col0, int cols, bool accumulate, T* tile)
    {
        nint ldc = p.Ldc;
        T* c = (T*)p.C;
        // Each B micro-panel (kc×NR) stays in L1 while the A micro-panels stream from L2.
        for (int j = 0; j < cols; j += NR)
        {
            int nr = Math.Min(NR, cols - j);
            bool inPlace = bInPlace != null && (nr == NR || nr == TS.Lanes || IsHalfVectorEdge(nr));
            T* b = inPlace ? bInPlace + j : bInPlace != null ? bPacked : bPacked + (nint)j * kc;
            nint bStep = inPlace ? p.Ldb : NR;
            for (int i = 0; i < rows; i += MR)
            {
                T* a = aBlock + (nint)i * kc;
                if (j == 0)
                {
                    // Each micro-panel is packed just before its first tile, and the next one's source is asked for
                    // while that tile computes: packing then finds its rows in cache instead of waiting on memory.
                    PackA(ref p, a, row0 + i, Math.Min(MR, rows - i), p0, kc);
                    if (i + MR < rows) PrefetchA(ref p, row0 + i + MR, Math.Min(MR, rows - i - MR), p0, kc);
                }
                MicroTile(a, b, bStep, kc, c + (row0 + i) * ldc + col0 + j, ldc, Math.Min(MR, rows - i), nr, accumulate, tile);
            }
        }
    }

    /// <summary>One mr×nr tile of C; edge tiles go through a scratch tile, computed with as few kernel rows as
    /// cover mr.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MicroTile(T* a, T* b, nint bStep, int kc, T* c, nint ldc, int mr, int nr, bool accumulate, T* tile)
    {
        bool halfVector = IsHalfVectorEdge(nr);
        bool direct = mr == MR && (nr == NR || nr == TS.Lanes || halfVector);
        T* dst = direct ? c : tile;
        nint ld = direct ? ldc : NR;
        bool acc = direct && accumulate;
        // The tile of C is read at the end: ask for it now, so that a tile far away in memory is there by then.
        if (acc) Prefetch(dst, ld, MR, nr);
        if (halfVector) KernelRows<Simd256<T>, Vector256<T>, HalfWidth>(mr, kc, a, b, bStep, dst, ld, acc);
        else if (nr > TS.Lanes) KernelRows<TS, TV, FullWidth>(mr, kc, a, b, bStep, dst, ld, acc);
        else KernelRows<TS, TV, HalfWidth>(mr, kc, a, b, bStep, dst, ld, acc);
        if (direct) return;
        for (int i = 0; i < mr; i++)
        {
            T* ci = c + i * ldc, ti = tile + i * NR;
            for (int j = 0; j < nr; j++)
                ci[j] = accumulate ? ci[j] + ti[j] : ti[j];
        }
    }

    /// <summary>
    /// A right edge of exactly half a Vector512 (8 floats, 4 doubles), as 200 columns leave at 32 per tile: its tiles run
    /// on Vector256 (full-row ones straight into C), reading B in place where the others do, in place of a Vector512
    /// half wasted, a packed edge and a copy out of the scratch tile. Each lane sums the same products in the same
    /// order at either width, so the bits are those of the wide kernel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool IsHalfVectorEdge(int nr) =>
        TS.Lanes * sizeof(T) == 64 && MR == 8 && nr * 2 == TS.Lanes && Vector256.IsHardwareAccelerated;

    /// <summary>Asks for the cache lines of `runs` runs of `length` elements, `stride` apart (x86 only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch(T* first, nint stride, int runs, int length)
    {
        if (!Sse.IsSupported) return;
        for (int r = 0; r < runs; r++, first += stride)
        {
            byte* start = (byte*)first, last = (byte*)(first + length) - 1;
            for (byte* line = start; line <= last; line += 64) Sse.Prefetch0(line);
            Sse.Prefetch0(last);
        }
    }

    /// <summary>The kernel with the fewest rows (4, 6 or MR) that covers `rows`.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void KernelRows<TK, TKV, TW>(int rows, int kc, T* a, T* b, nint bStep, T* c, nint ldc, bool accumulate)
        where TK : ISimd<TKV, T> where TW : ITileWidth
    {
        if (rows <= 4) Kernel<TK, TKV, TW, FourRows>(kc, a, b, bStep, c, ldc, accumulate);
        else if (rows <= 6 || MR == 6) Kernel<TK, TKV, TW, SixRows>(kc, a, b, bStep, c, ldc, accumulate);
        else Kernel<TK, TKV, TW, EightRows>(kc, a, b, bStep, c, ldc, accumulate);
    }

    /// <summary>
    /// TR.Rows×NR register tile of TK's vectors (the driver's own, or half as wide for a half-vector edge): for each
    /// of kc steps, one or two vectors of a B row (the next one bStep further) times each of the first TR.Rows values
    /// of the packed A column (contiguous, MR per step). Writes (or with accumulate adds) the tile to C.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel<TK, TKV, TW, TR>(int kc, T* a, T* b, nint bStep, T* c, nint ldc, bool accumulate)
        where TK : ISimd<TKV, T> where TW : ITileWidth where TR : ITileRows
    {
        TKV c00 = default!, c01 = default!, c10 = default!, c11 = default!, c20 = default!, c21 = default!;
        TKV c30 = default!, c31 = default!, c40 = default!, c41 = default!, c50 = default!, c51 = default!;
        TKV c60 = default!, c61 = default!, c70 = default!, c71 = default!;
        int lanes = TK.Lanes, mr = MR;
        for (T* end = a + (nint)kc * mr; a < end; a += mr, b += bStep)
        {
            TKV b0 = TK.Load(b), b1 = TW.TwoVectors ? TK.Load(b + lanes) : default!;
            TKV ar = TK.Splat(a);
            c00 = TK.MultiplyAdd(ar, b0, c00); if (TW.TwoVectors) c01 = TK.MultiplyAdd(ar, b1, c01);
            ar = TK.Splat(a + 1);
            c10 = TK.MultiplyAdd(ar, b0, c10); if (TW.TwoVectors) c11 = TK.MultiplyAdd(ar, b1, c11);
            ar = TK.Splat(a + 2);
            c20 = TK.MultiplyAdd(ar, b0, c20); if (TW.TwoVectors) c21 = TK.MultiplyAdd(ar, b1, c21);
            ar = TK.Splat(a + 3);
            c30 = TK.MultiplyAdd(ar, b0, c30); if (TW.TwoVectors) c31 = TK.MultiplyAdd(ar, b1, c31);
            // Rows 4 to 7 exist only in taller tiles; the tests fold away when compiled for fewer rows.
            if (TR.Rows > 4)
            {
                ar = TK.Splat(a + 4);
                c40 = TK.MultiplyAdd(ar, b0, c40); if (TW.TwoVectors) c41 = TK.MultiplyAdd(ar, b1, c41);
                ar = TK.Splat(a + 5);
                c50 = TK.MultiplyAdd(ar, b0, c50); if (TW.TwoVectors) c51 = TK.MultiplyAdd(ar, b1, c51);
            }
            if (TR.Rows > 6)
            {
                ar = TK.Splat(a + 6);
                c60 = TK.MultiplyAdd(ar, b0, c60); if (TW.TwoVectors) c61 = TK.MultiplyAdd(ar, b1, c61);
                ar = TK.Splat(a + 7);
                c70 = TK.MultiplyAdd(ar, b0, c70); if (TW.TwoVectors) c71 = TK.MultiplyAdd(ar, b1, c71);
            }
        }
        StoreRow<TK, TKV, TW>(c, c00, c01, accumulate); c += ldc;
        StoreRow<TK, TKV, TW>(c, c10, c11, accumulate); c += ldc;
        StoreRow<TK, TKV, TW>(c, c20, c21, accumulate); c += ldc;
        StoreRow<TK, TKV, TW>(c, c30, c31, accumulate);
        if (TR.Rows > 4)
        {
            c += ldc; StoreRow<TK, TKV, TW>(c, c40, c41, accumulate);
            c += ldc; StoreRow<TK, TKV, TW>(c, c50, c51, accumulate);
        }
        if (TR.Rows > 6)
        {
            c += ldc; StoreRow<TK, TKV, TW>(c, c60, c61, accumulate);
            c += ldc; StoreRow<TK, TKV, TW>(c, c70, c71, accumulate);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow<TK, TKV, TW>(T* c, TKV v0, TKV v1, bool accumulate) where TK : ISimd<TKV, T> where TW : ITileWidth
    {
        if (accumulate)
        {
            v0 = TK.Add(TK.Load(c), v0);
            if (TW.TwoVectors) v1 = TK.Add(TK.Load(c + TK.Lanes), v1);
        }
        TK.Store(v0, c);
        if (TW.TwoVectors) TK.Store(v1, c + TK.Lanes);
    }

    /// <summary>Asks for the cache lines of rows [row0, row0+mr) × depth [p0, p0+kc) of op(A).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchA(ref GemmProblem p, int row0, int mr, int p0, int kc)
    {
        T* a = (T*)p.A;
        nint lda = p.Lda;
        // Stored k×m: kc runs of mr values; stored m×k: mr runs of kc values.
        if (p.TransA) Prefetch(a + p0 * lda + row0, lda, kc, mr);
        else Prefetch(a + row0 * lda + p0, lda, mr, kc);
    }

    /// <summary>
    /// Packs rows [row0, row0+mr) × depth [p0, p0+kc) of op(A) as an A micro-panel: the MR values of k step q at
    /// dst + q·MR, rows mr..MR zero. May write up to ASlack elements past the panel (the next panel overwrites them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackA(ref GemmProblem p, T* dst, int row0, int mr, int p0, int kc)
    {
        T* a = (T*)p.A;
        nint lda = p.Lda;
        if (p.TransA)
        {
            T* s = a + p0 * lda + row0;
            if (mr == MR)
                for (int q = 0; q < kc; q++, s += lda, dst += MR)
                    CopyRow((byte*)s, (byte*)dst);
            else
                for (int q = 0; q < kc; q++, s += lda, dst += MR)
                {
                    int r = 0;
                    for (; r < mr; r++) dst[r] = s[r];
                    for (; r < MR; r++) dst[r] = T.Zero;
                }
            return;
        }
        T* src = a + row0 * lda + p0;
        int q0 = 0;
        // With AVX, 8 (float) or 4 (double) k steps at a time: a register transpose of 8 or 4 rows, the rows past
        // mr read as zero, each k step stored as a full vector (so a 6-row panel spills into the next step, whose
        // store follows and overwrites it; the double transposes store rows 4.. first for the same reason).
        if (Avx.IsSupported && typeof(T) == typeof(float))
            for (; q0 + 8 <= kc; q0 += 8)
                Transpose8x8((float*)src + q0, lda, mr, (float*)dst + q0 * MR, MR);
        else if (Avx.IsSupported && typeof(T) == typeof(double))
            for (; q0 + 4 <= kc; q0 += 4)
            {
                if (MR > 4) Transpose4x4((double*)src + 4 * lda + q0, lda, mr - 4, (double*)dst + q0 * MR + 4, MR);
                Transpose4x4((double*)src + q0, lda, mr, (double*)dst + q0 * MR, MR);
            }
        for (int q = q0; q < kc; q++)
            for (int r = 0; r < MR; r++)
                dst[q * MR + r] = r < mr ? src[r * lda + q] : T.Zero;
    }

    /// <summary>Copies MR elements (a multiple of 8 bytes) in 16-byte vectors and a final 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CopyRow(byte* src, byte* dst)
    {
        int bytes = MR * sizeof(T), i = 0;
        for (; i + 16 <= bytes; i += 16) Vector128.Store(Vector128.Load(src + i), dst + i);
        if (i < bytes) *(long*)(dst + i) = *(long*)(src + i);
    }

    /// <summary>
    /// Packs depth [p0, p0+kc) × columns [col0, col0+cols) of op(B) as consecutive B micro-panels of kc·NR elements.
    /// Stored k×n, the full micro-panels are filled a k row at a time, so that B is read along its rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackBSlice(ref GemmProblem p, T* dst, int col0, int cols, int p0, int kc)
    {
        int fullTiles = p.TransB ? 0 : cols / NR, lanes = TS.Lanes;
        if (fullTiles > 0)
        {
            nint ldb = p.Ldb, panel = (nint)kc * NR;
            T* s = (T*)p.B + p0 * ldb + col0;
            for (int q = 0; q < kc; q++, s += ldb)
            {
                T* d = dst + q * NR;
                for (int jt = 0; jt < fullTiles; jt++, d += panel)
                {
                    TS.Store(TS.Load(s + jt * NR), d);
                    TS.Store(TS.Load(s + jt * NR + lanes), d + lanes);
                }
            }
        }
        for (int jt = fullTiles; jt * NR < cols; jt++)
            PackB(ref p, dst + (nint)jt * kc * NR, col0 + jt * NR, Math.Min(NR, cols - jt * NR), p0, kc);
    }

    /// <summary>
    /// Packs depth [p0, p0+kc) × columns [col0, col0+nr) of op(B) as a B micro-panel: NR values per k step;
    /// columns nr..NR are zero. Used for op(B) stored transposed and for ragged edges; full micro-panels of B stored
    /// k×n are packed by <see cref="PackBSlice"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackB(ref GemmProblem p, T* dst, int col0, int nr, int p0, int kc)
    {
        T* b = (T*)p.B;
        nint ldb = p.Ldb;
        int nrFull = NR;
        if (p.TransB)
            Transpose(b + col0 * ldb + p0, ldb, dst, nrFull, nr, kc);
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
                if (sizeof(T) == 4) Transpose8x8((float*)(src + i * ldSrc + j), ldSrc, block, (float*)(dst + j * ldDst + i), ldDst);
                else Transpose4x4((double*)(src + i * ldSrc + j), ldSrc, block, (double*)(dst + j * ldDst + i), ldDst);
            }
        for (int i = 0; i < rows; i++)
            for (int j = i < fullRows ? fullCols : 0; j < cols; j++)
                dst[j * ldDst + i] = src[i * ldSrc + j];
    }

    /// <summary>8×8 transpose of `rows` rows of src (rows past them read as zero), stored row by row in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(float* src, nint ldSrc, int rows, float* dst, nint ldDst)
    {
        Vector256<float> r0 = Row(src, 0, rows), r1 = Row(src + ldSrc, 1, rows), r2 = Row(src + 2 * ldSrc, 2, rows);
        Vector256<float> r3 = Row(src + 3 * ldSrc, 3, rows), r4 = Row(src + 4 * ldSrc, 4, rows), r5 = Row(src + 5 * ldSrc, 5, rows);
        Vector256<float> r6 = Row(src + 6 * ldSrc, 6, rows), r7 = Row(src + 7 * ldSrc, 7, rows);
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

    /// <summary>4×4 transpose of `rows` rows of src (rows past them read as zero), stored row by row in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose4x4(double* src, nint ldSrc, int rows, double* dst, nint ldDst)
    {
        Vector256<double> r0 = Row(src, 0, rows), r1 = Row(src + ldSrc, 1, rows);
        Vector256<double> r2 = Row(src + 2 * ldSrc, 2, rows), r3 = Row(src + 3 * ldSrc, 3, rows);
        Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Avx.Store(dst, Avx.Permute2x128(t0, t2, 0x20));
        Avx.Store(dst + ldDst, Avx.Permute2x128(t1, t3, 0x20));
        Avx.Store(dst + 2 * ldDst, Avx.Permute2x128(t0, t2, 0x31));
        Avx.Store(dst + 3 * ldDst, Avx.Permute2x128(t1, t3, 0x31));
    }

    /// <summary>Row i of a transpose block: loaded if i &lt; rows, else zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Row(float* p, int i, int rows) => i < rows ? Avx.LoadVector256(p) : Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<double> Row(double* p, int i, int rows) => i < rows ? Avx.LoadVector256(p) : Vector256<double>.Zero;

    static int CeilDiv(int x, int y) => (x + y - 1) / y;
    static int RoundUp(int x, int multiple) => CeilDiv(x, multiple) * multiple;
}

/// <summary>
/// Packing buffers of one thread (64-byte aligned native memory), grown on demand and freed when the thread's
/// workspace is collected. Sized in bytes so that one set serves float and double.
/// </summary>
sealed unsafe class GemmWorkspace
{
    [ThreadStatic] static GemmWorkspace? t_current;
    public static GemmWorkspace Current => t_current ??= new GemmWorkspace();

    byte* _a, _b, _tile;
    nint _aBytes, _bBytes, _tileBytes;

    /// <summary>The A block, at least `bytes` long.</summary>
    public byte* A(nint bytes) => Ensure(ref _a, ref _aBytes, bytes);
    /// <summary>The B panel, at least `bytes` long.</summary>
    public byte* B(nint bytes) => Ensure(ref _b, ref _bBytes, bytes);
    /// <summary>The scratch tile for edge tiles, at least `bytes` long.</summary>
    public byte* Tile(nint bytes) => Ensure(ref _tile, ref _tileBytes, bytes);

    static byte* Ensure(ref byte* buffer, ref nint size, nint bytes)
    {
        if (bytes <= size) return buffer;
        NativeMemory.AlignedFree(buffer);
        buffer = null;
        size = 0;
        buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        size = bytes;
        return buffer;
    }

    ~GemmWorkspace()
    {
        NativeMemory.AlignedFree(_a);
        NativeMemory.AlignedFree(_b);
        NativeMemory.AlignedFree(_tile);
    }
}
