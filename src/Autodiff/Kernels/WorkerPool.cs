using System.Diagnostics;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// Persistent worker threads (ProcessorCount - 1 of them) for GEMM, Adam and long elementwise kernels. A job is cut
/// into independent parts that any thread may claim, the caller included: when another process holds a core and a
/// worker is slow to wake, the caller runs the parts itself instead of waiting for it. One job owns the pool at a
/// time; a concurrent or nested job runs on its own thread. Idle workers spin briefly, then block on a semaphore.
/// </summary>
internal static unsafe class WorkerPool
{
    public static readonly int Threads = Environment.ProcessorCount;
    /// <summary>How many parts a job is cut into: one per thread, unless a test forces another count on this thread.</summary>
    public static int Parts => ForcedParts > 0 ? ForcedParts : Threads;
    /// <summary>Tests set this (≥ 2) on their thread to cut its jobs into this many parts and run them in parts even
    /// where the pool would decline (one core, busy pool): the caller then runs the parts itself, in order.</summary>
    [ThreadStatic] internal static int ForcedParts;
    /// <summary>Parts of the jobs this thread started that ran (on any thread): tests check that a split happened.</summary>
    [ThreadStatic] internal static int PartsRun;
    /// <summary>How long an idle worker spins (0.5 ms) before it blocks: long enough to bridge the gaps between
    /// the kernels of a training step.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 2000;
    static readonly Worker[] Workers = StartWorkers();

    // The current job. Parts are claimed by compare-and-swap on s_claims = generation << 32 | next << 16 | parts,
    // so a claim is taken only while that job has parts left; its fields are read after the claim.
    static long s_claims;
    static int s_busy;   // 1 while a job owns the pool (not a Monitor: a job's own thread must not re-enter)
    static int s_done;
    static delegate*<void*, object?, int, int, void> s_work;
    static void* s_context;
    static object? s_state;

    sealed class Worker
    {
        public readonly SemaphoreSlim Wake = new(0);
        /// <summary>1 while the worker is (about to be) blocked on Wake.</summary>
        public int Sleeping;
    }

    static Worker[] StartWorkers()
    {
        var workers = new Worker[Math.Max(Threads - 1, 0)];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Worker();
            new Thread(WorkerLoop, maxStackSize: 256 * 1024) { IsBackground = true, Name = $"Scg worker {i + 1}" }.Start(workers[i]);
        }
        return workers;
    }

    /// <summary>
    /// Runs work(context, state, part, parts) for part = 0..parts-1 (2 ≤ parts ≤ 65535), each once, on whichever
    /// threads claim them, and returns when all are done; or returns false at once on one core, or if a job (this one
    /// included, when called from inside it) owns the pool, unless <see cref="ForcedParts"/> is set. The caller keeps
    /// context alive (and pinned) until it returns.
    /// </summary>
    public static bool TryRun(delegate*<void*, object?, int, int, void> work, void* context, object? state, int parts)
    {
        bool forced = ForcedParts > 0;
        if (Threads == 1 && !forced) return false;
        if (parts is < 2 or > 0xFFFF)
            throw new ArgumentOutOfRangeException(nameof(parts), $"WorkerPool.TryRun: parts must be between 2 and 65535, got {parts}.");
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            if (!forced) return false;
            for (int part = 0; part < parts; part++) work(context, state, part, parts);
            PartsRun += parts;
            return true;
        }
        try
        {
            s_work = work;
            s_context = context;
            s_state = state;
            s_done = 0;
            long generation = (Volatile.Read(ref s_claims) >> 32) + 1;
            Interlocked.Exchange(ref s_claims, generation << 32 | (uint)parts);
            foreach (Worker w in Workers)
                if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
            RunParts();
            var spin = new SpinWait();
            while (Volatile.Read(ref s_done) < parts) spin.SpinOnce(sleep1Threshold: -1);
            s_state = null;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
        PartsRun += parts;
        return true;
    }

    /// <summary>Part [begin, end) of `count` items cut into `parts` parts at multiples of `unit`.</summary>
    public static (int Begin, int End) Part(int count, int part, int parts, int unit)
    {
        int units = (count + unit - 1) / unit;
        return (Math.Min(count, (int)((long)units * part / parts) * unit), Math.Min(count, (int)((long)units * (part + 1) / parts) * unit));
    }

    /// <summary>Claims and runs parts of the current job until none is left.</summary>
    static void RunParts()
    {
        while (true)
        {
            long claims = Volatile.Read(ref s_claims);
            int parts = (int)(claims & 0xFFFF), next = (int)((claims >> 16) & 0xFFFF);
            if (next >= parts) return;
            if (Interlocked.CompareExchange(ref s_claims, claims + (1L << 16), claims) != claims) continue;
            s_work(s_context, s_state, next, parts);
            Interlocked.Increment(ref s_done);
        }
    }

    static void WorkerLoop(object? worker)
    {
        var w = (Worker)worker!;
        long seen = 0;
        while (true)
        {
            seen = WaitForJob(w, seen);
            RunParts();
        }
    }

    /// <summary>Spins, then sleeps, until the job generation moves past `seen`; returns the new generation.</summary>
    static long WaitForJob(Worker w, long seen)
    {
        long spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        long generation;
        while ((generation = Volatile.Read(ref s_claims) >> 32) == seen)
        {
            if (Stopwatch.GetTimestamp() < spinUntil)
            {
                Thread.SpinWait(20);
                continue;
            }
            Interlocked.Exchange(ref w.Sleeping, 1);
            // Re-check after announcing the sleep: a job started in between may not have seen the flag.
            if (Volatile.Read(ref s_claims) >> 32 == seen || Interlocked.Exchange(ref w.Sleeping, 0) == 0)
                w.Wake.Wait();
            spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        }
        return generation;
    }
}
