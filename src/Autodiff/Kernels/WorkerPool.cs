using System.Diagnostics;

namespace Scg.Autodiff.Kernels;

/// <summary>
/// Persistent worker threads (ProcessorCount - 1 of them; the caller is thread 0) for GEMM and for large
/// elementwise kernels. A job owns the pool while it runs; a concurrent or nested job runs on its own thread
/// instead of waiting. Idle workers spin briefly for the next job, then block on a semaphore.
/// </summary>
public static unsafe class WorkerPool
{
    public static readonly int Threads = Environment.ProcessorCount;
    /// <summary>How long an idle worker spins (0.5 ms) before it blocks: long enough to bridge the gaps between
    /// the kernels of a training step.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 2000;
    static int s_busy;   // 1 while a job owns the pool (not a Monitor: a job's own thread must not re-enter)
    static readonly Worker[] Workers = StartWorkers();

    static delegate*<void*, object?, int, void> s_work;
    static void* s_context;
    static object? s_state;
    static int s_generation;
    static int s_arrived, s_phase;

    sealed class Worker(int index)
    {
        /// <summary>The worker's thread number within a job (1..Threads-1).</summary>
        public readonly int Index = index;
        public readonly SemaphoreSlim Wake = new(0);
        /// <summary>1 while the worker is (about to be) blocked on Wake.</summary>
        public int Sleeping;
    }

    static Worker[] StartWorkers()
    {
        var workers = new Worker[Threads - 1];
        for (int i = 0; i < workers.Length; i++)
        {
            workers[i] = new Worker(i + 1);
            new Thread(WorkerLoop, maxStackSize: 256 * 1024) { IsBackground = true, Name = $"Scg worker {i + 1}" }.Start(workers[i]);
        }
        return workers;
    }

    /// <summary>
    /// Runs work(context, state, t) on threads t = 0..Threads-1 and returns when all are done, or returns false
    /// at once if a job (this one included, when called from inside it) owns the pool. The caller keeps context
    /// alive (and pinned) until it returns.
    /// </summary>
    public static bool TryRun(delegate*<void*, object?, int, void> work, void* context, object? state)
    {
        if (Threads == 1 || Interlocked.CompareExchange(ref s_busy, 1, 0) != 0) return false;
        try
        {
            s_work = work;
            s_context = context;
            s_state = state;
            Interlocked.Increment(ref s_generation);
            foreach (Worker w in Workers)
                if (Interlocked.Exchange(ref w.Sleeping, 0) == 1) w.Wake.Release();
            work(context, state, 0);
            Barrier(Threads);
            s_state = null;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }
        return true;
    }

    /// <summary>Thread t's part [begin, end) of `count` items cut into `threads` parts at multiples of `unit`.</summary>
    public static (int Begin, int End) Part(int count, int t, int threads, int unit)
    {
        int units = (count + unit - 1) / unit;
        return (Math.Min(count, (int)((long)units * t / threads) * unit), Math.Min(count, (int)((long)units * (t + 1) / threads) * unit));
    }

    /// <summary>Waits until all `threads` threads of the current job arrive; a no-op for one thread.</summary>
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

    static void WorkerLoop(object? worker)
    {
        var w = (Worker)worker!;
        int seen = 0;
        while (true)
        {
            seen = WaitForWork(w, seen);
            s_work(s_context, s_state, w.Index);
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
            // Re-check after announcing the sleep: a job started in between may not have seen the flag.
            if (Volatile.Read(ref s_generation) == seen || Interlocked.Exchange(ref w.Sleeping, 0) == 0)
                w.Wake.Wait();
            spinUntil = Stopwatch.GetTimestamp() + SpinTicks;
        }
        return generation;
    }
}
