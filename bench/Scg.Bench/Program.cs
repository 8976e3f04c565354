using BenchmarkDotNet.Running;

namespace Scg.Bench;

public static class Program
{
    /// <summary>
    /// `quick NAME [args]` workloads: each gets the arguments after its name and returns the exit code.
    /// A workload in another file registers here with one line.
    /// </summary>
    static readonly Dictionary<string, Func<string[], int>> QuickWorkloads = new()
    {
        ["gemm"] = GemmBench.Quick,
        ["step"] = StepBench.Quick,
        ["allocs"] = AllocationProfile.Quick,
    };

    /// <summary>`quick NAME ...` runs a quick workload; anything else goes to BenchmarkDotNet.</summary>
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] != "quick")
        {
            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
            return 0;
        }
        if (args.Length < 2 || !QuickWorkloads.TryGetValue(args[1], out var workload))
        {
            string given = args.Length < 2 ? "no workload given" : $"unknown workload '{args[1]}'";
            Console.Error.WriteLine($"quick: {given}; known workloads: {string.Join(", ", QuickWorkloads.Keys)}");
            return 2;
        }
        return workload(args[2..]);
    }
}
