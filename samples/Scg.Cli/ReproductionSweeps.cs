namespace Scg.Cli;

/// <summary>The sweeps a reproduction keeps its rows in: written once, and checked to be the same on every rerun.</summary>
static class ReproductionSweeps
{
    /// <summary>
    /// The manifest of the sweep of <paramref name="sweepArgs"/> in <paramref name="folder"/>: written there (without
    /// running anything) if it is new, each cell's options tried first unless <paramref name="check"/> is false; an
    /// earlier one must hold exactly the cells these arguments give (its launcher may differ: a sweep begun on a laptop
    /// may be finished on a cluster).
    /// </summary>
    public static SweepManifest Ensure(Ui ui, string name, string folder, string[] sweepArgs, bool check = true)
    {
        if (!File.Exists(SweepManifest.PathIn(folder)))
        {
            Sweep(ui, [.. sweepArgs, "--out", folder, "--dry-run", .. check ? [] : (string[])["--skip-checks"]]);
            return SweepManifest.Read(folder);
        }
        string scratch = Path.Combine(Path.GetTempPath(), $"scg-reproduce-{Guid.NewGuid():N}");
        try
        {
            Sweep(ui, [.. sweepArgs, "--out", scratch, "--dry-run", "--skip-checks"]);
            var expected = SweepManifest.Read(scratch);
            var found = SweepManifest.Read(folder);
            if (expected.Cells.Length != found.Cells.Length || expected.Cells.Zip(found.Cells).Any(p => !p.First.Args.SequenceEqual(p.Second.Args)))
                throw new UsageException($"'{folder}' holds row {name} with other settings ({SweepManifest.PathIn(folder)}) than these options give; rerun with the options it was begun with, or choose another --out.");
            return found;
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Runs <c>scg sweep</c> in this process; its refusal is the reproduction's.</summary>
    static void Sweep(Ui ui, string[] args)
    {
        var errors = new StringWriter();
        int code = ScgApp.Run(["sweep", .. args], TextWriter.Null, errors, interactive: false, liveProgress: false, ui.Stop);
        if (code != ScgApp.Ok)
            throw new UsageException($"the sweep of a row could not be written (scg sweep {Shell.Join(args)}): {errors.ToString().Trim().Split('\n')[^1]}");
    }
}
