using System.Diagnostics.Tracing;
using System.Globalization;

namespace Scg.Bench;

/// <summary>
/// <c>quick allocs [WORKLOAD] [--steps N]</c>: what a training step allocates, by type. It runs N steps (1,000 by
/// default) of a step workload after warm-up and prints the bytes allocated per step on all threads, then runs N more
/// while listening to the runtime's sampled allocation events (one about every 100 KB allocated) and prints the sampled
/// types, most frequent first.
/// </summary>
public static class AllocationProfile
{
    public static int Quick(string[] args)
    {
        string name = args.FirstOrDefault(a => StepBench.Workloads.Contains(a)) ?? "concrete-m1";
        if (name == "eval-L5000") { Console.Error.WriteLine("allocs: eval-L5000 is not a training step; give a step workload."); return 2; }
        int s = Array.IndexOf(args, "--steps");
        int steps = s >= 0 ? int.Parse(args[s + 1], CultureInfo.InvariantCulture) : 1000;
        var x = StepBench.Data(StepBench.Batch, 1234);
        var trainer = StepBench.Trainer(name, x);
        for (int i = 0; i < 10; i++) trainer.Step(x);
        long before = GC.GetTotalAllocatedBytes(precise: true);   // every thread's, the workers' included
        for (int i = 0; i < steps; i++) trainer.Step(x);
        double perStep = (double)(GC.GetTotalAllocatedBytes(precise: true) - before) / steps;
        using var listener = new AllocationListener();   // a second pass: the listener allocates on its own thread
        for (int i = 0; i < steps; i++) trainer.Step(x);
        Console.WriteLine($"{name} alloc {perStep:0.#} B/step over {steps} steps (all threads); sampled allocations by type in another {steps} ({listener.Total} samples):");
        foreach (var (type, count) in listener.Counts.OrderByDescending(kv => kv.Value).Select(kv => (kv.Key, kv.Value)))
            Console.WriteLine($"  {count,6}  {type}");
        return 0;
    }

    /// <summary>Counts the runtime's GCAllocationTick events by the type of the object that crossed the sampling threshold.</summary>
    sealed class AllocationListener : EventListener
    {
        const EventKeywords GcKeyword = (EventKeywords)0x1;
        public readonly Dictionary<string, int> Counts = [];
        public int Total;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (!e.EventName!.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null) return;
            int i = e.PayloadNames.IndexOf("TypeName");
            string type = i >= 0 ? e.Payload![i] as string ?? "?" : "?";
            lock (Counts)
            {
                Counts[type] = Counts.GetValueOrDefault(type) + 1;
                Total++;
            }
        }
    }
}
