using System.CommandLine;
using System.Globalization;
using Scg.Models.Reporting;

namespace Scg.Cli;

/// <summary>
/// <c>scg sweep</c>: a grid of training runs from comma lists over the train options (the cross product), each cell a
/// normal run folder, run by the local launcher or as a Slurm array; and its subcommands run-cell, status, resume and
/// report.
/// </summary>
static class SweepCommand
{
    /// <summary>Train options the sweep sets itself: every cell's run folder, and resuming it.</summary>
    static readonly string[] OwnTrainOptions = ["--out", "--resume"];

    public static Command Create(Ui ui)
    {
        var trainOptions = TrainCommand.Create(ui).Options.Where(o => !OwnTrainOptions.Contains(o.Name)).ToList();
        var grid = trainOptions.Select(o => (Train: o, Values: new Option<string[]>(o.Name, [.. o.Aliases])
        {
            Description = o.HasDefaultValue && Format(o.GetDefaultValue()) is { } fallback ? $"{o.Description} [default: {fallback}]" : o.Description,
            Arity = ArgumentArity.OneOrMore,
        })).ToList();
        var outDir = new Option<string?>("--out", "-o") { Description = "Sweep folder: sweep.json (the manifest), cells/NNN (one run folder per cell), sweep.sbatch, report.* [default: sweeps/<time>]" };
        var launcher = new Option<string>("--launcher") { Description = "local (cells as processes on this machine) or slurm (an sbatch array, one task per cell)", DefaultValueFactory = _ => "local" };
        var jobs = new Option<int>("--jobs", "-j") { Description = "Cells at once: local [default: cores / --threads-per-run]; slurm: the array's %P limit [default: none]" };
        var threads = new Option<int>("--threads-per-run", "--cpus-per-task") { Description = "Cores of one cell's run (its worker threads; Slurm's --cpus-per-task)", DefaultValueFactory = _ => 1 };
        var time = new Option<string?>("--time") { Description = "slurm: a task's time limit, as sbatch takes it (e.g. 4:00:00)" };
        var mem = new Option<string?>("--mem") { Description = "slurm: a task's memory, as sbatch takes it (e.g. 4G)" };
        var partition = new Option<string?>("--partition") { Description = "slurm: the partition" };
        var signal = new Option<int>("--signal") { Description = "slurm: seconds before the time limit at which Slurm warns the task (SIGUSR1 to its script, which stops the cell as SIGTERM does: it writes its checkpoint and exits 75)", DefaultValueFactory = _ => 120 };
        var requeue = new Option<bool>("--requeue") { Description = "slurm: a task stopped by SIGTERM (exit 75: the time-limit warning, preemption) requeues itself and resumes from its checkpoint" };
        var sbatch = new Option<string[]>("--sbatch") { Description = "slurm: an extra #SBATCH line, passed through (e.g. --sbatch=--account=lab or --sbatch qos=long); repeat for more", Arity = ArgumentArity.OneOrMore };
        var dryRun = new Option<bool>("--dry-run") { Description = "Write the sweep folder (and the sbatch script) without running or submitting anything" };
        var skipChecks = new Option<bool>("--skip-checks") { Description = "Do not try each cell's options before writing the sweep (train's checks, its first step, a few seconds a cell on image data); a cell with bad options then fails when it runs" };

        var command = new Command("sweep",
            "Train a grid of runs: comma lists over the train options make the grid (their cross product), e.g. --estimator concrete,nvil --seed 1,2,3 " +
            "(a value holding a comma is written with \\, or the option repeated). Every cell is checked as train checks its options before anything starts. " +
            "The sweep folder holds sweep.json, listing every cell with its full train arguments, and one run folder per cell (cells/NNN, which scg eval and compare read). " +
            "Cells run as separate processes (--launcher local) or as one Slurm array task each (--launcher slurm), and resume from their checkpoints when rerun.");
        foreach (var (_, values) in grid) command.Options.Add(values);
        foreach (Option o in (Option[])[outDir, launcher, jobs, threads, time, mem, partition, signal, requeue, sbatch, dryRun, skipChecks]) command.Options.Add(o);
        command.SetAction(p => ScgApp.Guard(ui, "scg sweep", () =>
        {
            string kind = p.GetValue(launcher)!;
            if (kind is not ("local" or "slurm")) throw new UsageException($"--launcher must be local or slurm, got '{kind}'.");
            int threadsPerRun = p.GetValue(threads), jobCount = p.GetValue(jobs), seconds = p.GetValue(signal);
            if (threadsPerRun < 1) throw new UsageException($"--threads-per-run must be ≥ 1, got {threadsPerRun}.");
            if (jobCount < 0) throw new UsageException($"--jobs must be ≥ 0 (0 = the default), got {jobCount}.");
            if (seconds is < 1 or > 65535) throw new UsageException($"--signal must be 1 to 65535 seconds before the time limit, got {seconds}.");
            var settings = new SweepLauncher
            {
                Kind = kind, ThreadsPerRun = threadsPerRun,
                Jobs = jobCount > 0 || kind == "slurm" ? jobCount : Math.Max(1, Environment.ProcessorCount / threadsPerRun),
                Time = Line(p.GetValue(time), "--time"), Mem = Line(p.GetValue(mem), "--mem"), Partition = Line(p.GetValue(partition), "--partition"),
                SignalSeconds = seconds, Requeue = p.GetValue(requeue),
                Sbatch = (p.GetValue(sbatch) ?? []).Select(l => Line(l, "--sbatch")!).Select(l => l.StartsWith('-') ? l : "--" + l).ToArray(),
            };
            string sweep = p.GetValue(outDir) ?? Path.Combine("sweeps", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
            return Start(ui, p, grid, sweep, settings, p.GetValue(dryRun), p.GetValue(skipChecks));
        }));

        var sweepArg = () => new Argument<string>("sweep") { Description = "The sweep folder (holding sweep.json)" };
        var runCell = new Command("run-cell", "Run one cell of a sweep as scg train runs it, in its run folder: resumed from its checkpoint if it has one, nothing done if it is finished. " +
            $"Writes done.json or failed.json into the folder. Exit codes as train's ({ScgApp.Terminated}: stopped by SIGTERM with its checkpoint written).");
        var runCellSweep = sweepArg();
        var index = new Argument<int>("index") { Description = "The cell's index in sweep.json (0, 1, …)" };
        runCell.Arguments.Add(runCellSweep);
        runCell.Arguments.Add(index);
        runCell.SetAction(p => ScgApp.Guard(ui, "scg sweep run-cell", () => SweepRunCell.Run(ui, p.GetValue(runCellSweep)!, p.GetValue(index))));

        var status = new Command("status", "Show every cell as done, running, failed or pending, from the cells' own files; for a Slurm sweep also the scheduler's state of its task (sacct where accounting exists, else squeue).");
        var statusSweep = sweepArg();
        status.Arguments.Add(statusSweep);
        status.SetAction(p => ScgApp.Guard(ui, "scg sweep status", () => Status(ui, p.GetValue(statusSweep)!)));

        var resume = new Command("resume", "Run again only the cells that are not done and not running (pending, stopped or failed), with the sweep's launcher; each resumes from its checkpoint.");
        var resumeSweep = sweepArg();
        var resumeJobs = new Option<int>("--jobs", "-j") { Description = "Cells at once (local), or the array's %P limit (slurm) [default: the sweep's]" };
        var resumeDryRun = new Option<bool>("--dry-run") { Description = "List the cells that would run, without running or submitting them" };
        resume.Arguments.Add(resumeSweep);
        resume.Options.Add(resumeJobs);
        resume.Options.Add(resumeDryRun);
        resume.SetAction(p => ScgApp.Guard(ui, "scg sweep resume", () => Resume(ui, p.GetValue(resumeSweep)!, p.GetValue(resumeJobs), p.GetValue(resumeDryRun))));

        var report = new Command("report", "Write report.md, report.csv and report.png/.svg into the sweep folder: the finished cells grouped over --seed, with the mean ± standard deviation and n " +
            "of the test bound and the final training bound, and the mean training curve of each group. Works while the sweep runs; the table also goes to stdout.");
        var reportSweep = sweepArg();
        report.Arguments.Add(reportSweep);
        report.SetAction(p => ScgApp.Guard(ui, "scg sweep report", () => SweepReport.Write(ui, p.GetValue(reportSweep)!)));

        foreach (var sub in (Command[])[runCell, status, resume, report]) command.Subcommands.Add(sub);
        return command;
    }

    /// <summary>Builds the grid, checks every cell, writes the sweep folder and runs or submits the cells.</summary>
    static int Start(Ui ui, ParseResult p, List<(Option Train, Option<string[]> Values)> grid, string sweep, SweepLauncher launcher, bool dryRun, bool skipChecks)
    {
        if (File.Exists(SweepManifest.PathIn(sweep)))
            throw new UsageException($"'{sweep}' already holds a sweep ({SweepManifest.PathIn(sweep)}); run its unfinished cells with scg sweep resume {Shell.Quote(sweep)}, or choose another --out.");
        if (Directory.Exists(sweep) && Directory.EnumerateFileSystemEntries(sweep).Any())
            throw new UsageException($"--out '{sweep}' is a folder that is not empty and holds no sweep; expected a new or empty folder.");
        if (launcher.Kind == "slurm" && !dryRun) SlurmLauncher.RequireSbatch();

        var tokens = p.Tokens.ToList();
        var axes = new List<(int Position, SweepAxis Axis)>();
        var values = new Dictionary<string, string>();
        foreach (var (train, option) in grid)
        {
            var result = p.GetResult(option);
            if (result is { Implicit: false })
            {
                var list = SplitList(option.Name, p.GetValue(option)!);
                if (list.Length == 1) values[train.Name] = list[0];
                else axes.Add((tokens.IndexOf(result.IdentifierToken!), new SweepAxis(train.Name, list)));
            }
            else if (train.HasDefaultValue && Format(train.GetDefaultValue()) is { } fallback) values[train.Name] = fallback;
        }
        var ordered = axes.OrderBy(a => a.Position).Select(a => a.Axis).ToArray();
        int count = ordered.Aggregate(1, (n, a) => checked(n * a.Values.Length));
        int digits = SweepManifest.IndexDigits(count);
        var cells = new SweepCell[count];
        for (int i = 0; i < count; i++)
        {
            var swept = new Dictionary<string, string>();
            int rest = i;
            for (int a = ordered.Length - 1; a >= 0; a--)   // the first axis varies slowest
            {
                swept[ordered[a].Option] = ordered[a].Values[rest % ordered[a].Values.Length];
                rest /= ordered[a].Values.Length;
            }
            swept = ordered.ToDictionary(a => a.Option, a => swept[a.Option]);
            var args = grid.Select(g => g.Train.Name)
                .SelectMany(name => swept.TryGetValue(name, out string? v) || values.TryGetValue(name, out v) ? (string[])[name, v] : []).ToArray();
            cells[i] = new SweepCell(i, Path.Combine("cells", i.ToString("D" + digits, CultureInfo.InvariantCulture)), swept, args);
        }

        var invalid = skipChecks ? [] : cells.Select(c => (Cell: c, Error: Check(c))).Where(c => c.Error is not null).ToList();
        if (invalid.Count > 0)
        {
            foreach (var (cell, error) in invalid) ui.Error.WriteLine($"scg sweep: cell {cell.Index} ({SweepManifest.Describe(cell)}): {error}");
            throw new UsageException($"{invalid.Count} of {count} cells are invalid (above); nothing was started or written.");
        }

        var manifest = new SweepManifest { Created = DateTime.UtcNow, Axes = ordered, Launcher = launcher, Cells = cells };
        foreach (var cell in cells) Directory.CreateDirectory(CellFiles.Folder(sweep, cell));
        if (launcher.Kind == "slurm") AtomicFile.WriteAllText(Path.Combine(sweep, SlurmLauncher.ScriptFile), SlurmLauncher.Script(sweep, manifest, SweepPrograms.Scg()));
        manifest.Write(sweep);
        ui.Note($"sweep: {count} cells ({(ordered.Length == 0 ? "no swept option" : string.Join(" × ", ordered.Select(a => $"{a.Option} {a.Values.Length}")))}), manifest {SweepManifest.PathIn(sweep)}");
        var all = cells.Select(c => c.Index).ToList();
        if (dryRun)
        {
            ui.Note(launcher.Kind == "slurm"
                ? $"dry run: submit with sbatch {Shell.Quote(Path.Combine(sweep, SlurmLauncher.ScriptFile))}, or scg sweep resume {Shell.Quote(sweep)}"
                : $"dry run: run the cells with scg sweep resume {Shell.Quote(sweep)} (or each with scg sweep run-cell {Shell.Quote(sweep)} INDEX)");
            return ScgApp.Ok;
        }
        return Launch(ui, sweep, manifest, all, launcher.Jobs);
    }

    /// <summary>Runs the cells locally (then prints their status) or submits them to Slurm (printing the job id).</summary>
    static int Launch(Ui ui, string sweep, SweepManifest manifest, IReadOnlyList<int> cells, int jobs)
    {
        if (manifest.Launcher.Kind == "slurm")
        {
            string job = SlurmLauncher.Submit(sweep, cells, jobs);
            manifest.SlurmJobs.Add(job);
            manifest.Write(sweep);
            ui.Note($"sweep: submitted Slurm job {job} with {cells.Count} array tasks ({SlurmLauncher.ArraySpec(cells, jobs)}); follow it with scg sweep status {Shell.Quote(sweep)}");
            ui.Line(job);
            return ScgApp.Ok;
        }
        int code = LocalLauncher.Run(ui, sweep, manifest, cells, jobs);
        Status(ui, sweep);
        ui.Note($"sweep: the table of results is written by scg sweep report {Shell.Quote(sweep)}");
        return code;
    }

    /// <summary>
    /// A cell's train options checked by the train command itself, on a scratch folder, with a stop already requested:
    /// a valid cell stops after its first step (exit 75), an invalid one exits 2 naming the option. Null when valid.
    /// </summary>
    static string? Check(SweepCell cell)
    {
        string scratch = Path.Combine(Path.GetTempPath(), $"scg-sweep-check-{Guid.NewGuid():N}");
        using var stop = new StopSignal();
        stop.Request("SIGTERM");
        var errors = new StringWriter();
        try
        {
            int code = ScgApp.Run(["train", .. cell.Args, "--out", scratch], TextWriter.Null, errors, interactive: false, liveProgress: false, stop);
            if (code is ScgApp.Ok or ScgApp.Terminated) return null;
            string last = errors.ToString().TrimEnd().Split('\n')[^1];
            return last.StartsWith("scg train: ", StringComparison.Ordinal) ? last["scg train: ".Length..] : last;
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    static int Status(Ui ui, string sweep)
    {
        var manifest = SweepManifest.Read(sweep);
        var scheduler = manifest.SlurmJobs.Count > 0 ? SlurmLauncher.TaskStates(manifest.SlurmJobs) : null;
        var table = new TextTable(["cell", "state", "step", .. manifest.Axes.Select(a => a.Option), "note"]);
        var counts = new Dictionary<CellState, int>();
        foreach (var cell in manifest.Cells)
        {
            string folder = CellFiles.Folder(sweep, cell);
            var (state, done, failure) = CellFiles.State(folder);
            counts[state] = counts.GetValueOrDefault(state) + 1;
            long? step = CellFiles.LastStep(folder);
            string? task = scheduler?.States.GetValueOrDefault(cell.Index);
            string note = state switch
            {
                CellState.Done => FormattableString.Invariant($"test L_{done!.TestSamples} {done.TestBound:F3}, train bound {done.TrainBound:F3}"),
                CellState.Failed => $"exit code {failure!.ExitCode}: {failure.Error.Split('\n')[^1]}",
                CellState.Pending when step is not null => $"stopped at step {step} (checkpointed); resume continues it",
                _ => "",
            };
            if (task is not null && state != CellState.Done) note = (note.Length > 0 ? note + "; " : "") + $"Slurm: {task}";
            string total = Array.IndexOf(cell.Args, "--steps") is int at and >= 0 ? "/" + cell.Args[at + 1] : "";
            table.Add([cell.Index.ToString(CultureInfo.InvariantCulture), state.ToString().ToLowerInvariant(), step is null ? "—" : $"{step}{total}",
                .. manifest.Axes.Select(a => cell.Swept[a.Option]), note]);
        }
        Report.Print(ui, table);
        ui.Line($"{manifest.Cells.Length} cells: {counts.GetValueOrDefault(CellState.Done)} done, {counts.GetValueOrDefault(CellState.Running)} running, " +
            $"{counts.GetValueOrDefault(CellState.Failed)} failed, {counts.GetValueOrDefault(CellState.Pending)} pending" +
            (scheduler is { } s ? $" (Slurm task states from {s.Source})" : manifest.SlurmJobs.Count > 0 ? " (Slurm did not answer: the cells' files alone)" : ""));
        return ScgApp.Ok;
    }

    static int Resume(Ui ui, string sweep, int jobs, bool dryRun)
    {
        if (jobs < 0) throw new UsageException($"--jobs must be ≥ 0 (0 = the sweep's), got {jobs}.");
        var manifest = SweepManifest.Read(sweep);
        bool slurm = manifest.Launcher.Kind == "slurm";
        if (slurm && !dryRun) SlurmLauncher.RequireSbatch();
        var queued = slurm ? SlurmLauncher.TaskStates(manifest.SlurmJobs)?.States.Where(kv => SlurmLauncher.IsActive(kv.Value)).Select(kv => kv.Key).ToHashSet() ?? [] : [];
        var rerun = manifest.Cells
            .Where(c => CellFiles.State(CellFiles.Folder(sweep, c)).State is CellState.Pending or CellState.Failed && !queued.Contains(c.Index))
            .Select(c => c.Index).ToList();
        if (rerun.Count == 0)
        {
            ui.Note($"sweep: nothing to rerun in {sweep}: every cell is done, running or queued.");
            return ScgApp.Ok;
        }
        ui.Note($"sweep: rerunning {rerun.Count} of {manifest.Cells.Length} cells: {string.Join(", ", rerun)}");
        if (dryRun) return ScgApp.Ok;
        return Launch(ui, sweep, manifest, rerun, jobs > 0 ? jobs : manifest.Launcher.Jobs);
    }

    /// <summary>The values of a comma list (repeated options add theirs; "\," is a comma inside a value), each once.</summary>
    static string[] SplitList(string option, string[] given)
    {
        var values = new List<string>();
        foreach (string text in given)
        {
            var current = new System.Text.StringBuilder();
            for (int i = 0; i <= text.Length; i++)
            {
                if (i < text.Length && text[i] == '\\' && i + 1 < text.Length && text[i + 1] == ',') { current.Append(','); i++; continue; }
                if (i < text.Length && text[i] != ',') { current.Append(text[i]); continue; }
                string value = current.ToString().Trim();
                if (value.Length == 0) throw new UsageException($"{option} has an empty value in '{text}'; expected a comma list of values such as 1,2,3.");
                if (values.Contains(value)) throw new UsageException($"{option} lists '{value}' twice; expected each value once.");
                values.Add(value);
                current.Clear();
            }
        }
        return [.. values];
    }

    /// <summary>An option's default as a train argument: invariant numbers, null for none.</summary>
    static string? Format(object? value) => value switch
    {
        null => null,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>A value that goes into a line of the sbatch script: one line.</summary>
    static string? Line(string? value, string option) =>
        value is not null && value.Any(char.IsControl) ? throw new UsageException($"{option} must be one line of text, got '{ScgApp.OneLine(value)}' with a line break or control character.") : value;
}
