using System.Globalization;
using Scg.Models.Data;
using Scg.Models.Sbn;

namespace Scg.Cli;

/// <summary>
/// The memory runs need against what the machine lets this process use: what cannot fit is refused before anything
/// is built or written, and evaluation holds as many rows in flight as the memory left allows.
/// </summary>
static class Resources
{
    /// <summary>Memory the process may use: physical memory, or a cgroup limit or DOTNET_GCHeapHardLimit when lower (as the GC sees it).</summary>
    public static long AvailableBytes() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>
    /// Sizes runs done one after another in one process, whose trained models are all kept until the end (compare):
    /// returns the plans with <see cref="RunPlan.EvalRows"/> set, or throws <see cref="UsageException"/> with the
    /// estimate and the machine's memory when they cannot fit. <paramref name="gradientDraws"/> &gt; 0 adds the
    /// gradient-variance statistics.
    /// </summary>
    public static List<RunPlan> FitMemory(IReadOnlyList<RunPlan> plans, int gradientDraws = 0)
    {
        var estimates = plans.Select(p => MemoryEstimate.Of(p.Spec, p.Options, p.Family)).ToList();
        double data = DataBytes(plans[0].Data), kept = data + estimates.Sum(e => e.TrainingStateBytes), available = AvailableBytes();
        var fitted = new List<RunPlan>();
        for (int i = 0; i < plans.Count; i++)
        {
            var (plan, e) = (plans[i], estimates[i]);
            double step = e.TrainingStepBytes(plan.Settings.BatchSize, plan.Settings.Samples);
            double statistics = gradientDraws > 0 ? 3 * sizeof(double) * e.Parameters : 0;   // one draw, running mean and variance
            double needed = kept + step + statistics + e.EvaluationBytes(1);
            if (needed > available)
                throw new UsageException(
                    $"{plan.Label}: the model {Experiment.Describe(plan)} needs about {Bytes(needed)} of memory " +
                    $"({Bytes(e.TrainingStateBytes)} for {e.Parameters.ToString("N0", CultureInfo.InvariantCulture)} parameters with their gradients and Adam's moments, " +
                    $"{Bytes(step)} for a training step of {plan.Settings.BatchSize} rows × {plan.Settings.Samples} samples, {Bytes(data)} for the data" +
                    (plans.Count > 1 ? ", and the other estimators' trained models" : "") + $"), but this machine lets scg use {Bytes(available)}; " +
                    "choose a smaller --model, --batch-size or --samples.");
            fitted.Add(plan with { EvalRows = e.EvaluationRows((available - needed + e.EvaluationBytes(1)) / 2) });
        }
        return fitted;
    }

    public static RunPlan FitMemory(RunPlan plan) => FitMemory([plan])[0];

    /// <summary>Rows × samples in flight for evaluating a model already built (no training state) beside <paramref name="data"/>.</summary>
    public static int EvaluationRows(SigmoidBeliefNet model, DataSplits data)
    {
        var e = MemoryEstimate.Of(model.Spec, model.Options, model.Family);
        return e.EvaluationRows((AvailableBytes() - DataBytes(data) - e.ParameterBytes) / 2);
    }

    /// <summary>Bytes of the loaded splits (valid shares the training file's storage with train under fixed binarization).</summary>
    static double DataBytes(DataSplits data) =>
        sizeof(float) * ((double)data.Train.Values.Length + data.Valid.Values.Length + data.Test.Values.Length);

    /// <summary>"1.5 GiB", "320 MiB".</summary>
    public static string Bytes(double bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        int u = 0;
        while (bytes >= 1024 && u < units.Length - 1) { bytes /= 1024; u++; }
        return u == 0 ? $"{bytes:F0} bytes" : (bytes < 10 ? bytes.ToString("F1", CultureInfo.InvariantCulture) : bytes.ToString("F0", CultureInfo.InvariantCulture)) + " " + units[u];
    }
}
