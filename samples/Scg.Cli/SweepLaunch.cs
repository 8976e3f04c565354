using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace Scg.Cli;

/// <summary>Runs cells as child processes of this one (`scg sweep run-cell`), a given number at a time.</summary>
static partial class LocalLauncher
{
    const int Sigint = 2, Sigterm = 15;
    /// <summary>A signal sent to this process's group reaches the cells too; only cells still running after this long are sent it.</summary>
    static readonly TimeSpan ForwardAfter = TimeSpan.FromSeconds(2);

    /// <summary>Runs <paramref name="cells"/>; returns 0 when all are done, 1 when one failed, or the stop signal's code.</summary>
    public static int Run(Ui ui, string sweep, SweepManifest manifest, IReadOnlyList<int> cells, int jobs)
    {
        ui.Note($"sweep: running {cells.Count} cells, {jobs} at a time, {manifest.Launcher.ThreadsPerRun} thread(s) each; logs in {sweep}/cells/*/{CellFiles.Log}");
        return Run(ui, cells.Select(i => (sweep, manifest, i)).ToList(), jobs);
    }

    /// <summary>
    /// Runs cells of one or more sweeps in the order given, <paramref name="jobs"/> at a time, calling
    /// <paramref name="ended"/> after each one ends; returns as the one-sweep form does.
    /// </summary>
    public static int Run(Ui ui, IReadOnlyList<(string Sweep, SweepManifest Manifest, int Index)> cells, int jobs, Action? ended = null)
    {
        string program = SweepPrograms.Scg();
        var queue = new Queue<(string Sweep, SweepManifest Manifest, int Index)>(cells);
        var running = new List<(string Sweep, SweepManifest Manifest, int Index, Process Process, StreamWriter Log)>();
        DateTime? stopSeen = null;
        bool forwarded = false;
        while (running.Count > 0 || (queue.Count > 0 && ui.Stop.Requested is null))
        {
            while (ui.Stop.Requested is null && running.Count < jobs && queue.TryDequeue(out var next))
            {
                var (process, log) = Start(ui, program, next.Sweep, next.Manifest, next.Index);
                running.Add((next.Sweep, next.Manifest, next.Index, process, log));
            }
            if (ui.Stop.Requested is not null)
            {
                stopSeen ??= DateTime.UtcNow;
                if (!forwarded && DateTime.UtcNow - stopSeen >= ForwardAfter)
                {
                    foreach (var r in running) Kill(r.Process.Id, ui.Stop.ExitCode == ScgApp.Terminated ? Sigterm : Sigint);
                    forwarded = true;
                }
            }
            for (int i = running.Count - 1; i >= 0; i--)
            {
                var (sweep, manifest, index, process, log) = running[i];
                if (!process.HasExited) continue;
                process.WaitForExit();
                lock (log) log.Dispose();
                Report(ui, sweep, manifest.Cells[index], process.ExitCode);
                process.Dispose();
                running.RemoveAt(i);
                ended?.Invoke();
            }
            if (running.Count > 0) Thread.Sleep(50);
        }
        if (ui.Stop.Requested is not null) return ui.Stop.ExitCode;
        return cells.All(c => CellFiles.State(CellFiles.Folder(c.Sweep, c.Manifest.Cells[c.Index])).State == CellState.Done) ? ScgApp.Ok : ScgApp.Failed;
    }

    static (Process, StreamWriter) Start(Ui ui, string program, string sweep, SweepManifest manifest, int index)
    {
        var cell = manifest.Cells[index];
        string folder = CellFiles.Folder(sweep, cell);
        Directory.CreateDirectory(folder);
        var log = new StreamWriter(new FileStream(Path.Combine(folder, CellFiles.Log), FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { NewLine = "\n", AutoFlush = true };
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in (string[])["sweep", "run-cell", Path.GetFullPath(sweep), index.ToString(CultureInfo.InvariantCulture)]) info.ArgumentList.Add(a);
        info.Environment["DOTNET_PROCESSOR_COUNT"] = manifest.Launcher.ThreadsPerRun.ToString(CultureInfo.InvariantCulture);
        log.WriteLine($"== {DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} local launcher: {Shell.Join([program, .. info.ArgumentList])}");
        var process = new Process { StartInfo = info };
        DataReceivedEventHandler write = (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        process.OutputDataReceived += write;
        process.ErrorDataReceived += write;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        ui.Note($"cell {index} ({SweepManifest.Describe(cell)}): started");
        return (process, log);
    }

    static void Report(Ui ui, string sweep, SweepCell cell, int code)
    {
        var (state, done, failure) = CellFiles.State(CellFiles.Folder(sweep, cell));
        string what = state switch
        {
            CellState.Done => FormattableString.Invariant($"done, test L_{done!.TestSamples} {done.TestBound:F3}, train bound {done.TrainBound:F3}"),
            CellState.Failed => $"failed (exit code {failure!.ExitCode}): {failure.Error.Split('\n')[^1]}",
            _ => $"stopped (exit code {code}); scg sweep resume reruns it",
        };
        ui.Note($"cell {cell.Index} ({SweepManifest.Describe(cell)}): {what}");
    }

    static void Kill(int pid, int signal) => _ = KillProcess(pid, signal);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int KillProcess(int pid, int signal);
}

/// <summary>Where the scg program is, for the cells' processes and the Slurm script.</summary>
static class SweepPrograms
{
    /// <summary>The absolute path of the built scg program (this process, or the apphost beside this assembly).</summary>
    public static string Scg()
    {
        string name = OperatingSystem.IsWindows() ? "scg.exe" : "scg";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self) == name) return self;
        string beside = Path.Combine(AppContext.BaseDirectory, name);
        if (File.Exists(beside)) return beside;
        throw new InvalidOperationException($"the scg program was not found: expected it as this process or as '{beside}'.");
    }

    /// <summary>Runs a program to its end with captured output; null when it cannot be started (not installed).</summary>
    public static (int Code, string Out, string Err)? Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args) info.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(info)!; }
        catch (System.ComponentModel.Win32Exception) { return null; }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}

/// <summary>
/// The Slurm launcher: an sbatch array script with one task per cell (each `scg sweep run-cell`), submitted with sbatch;
/// and the scheduler's view of the tasks (sacct where accounting exists, else squeue).
/// </summary>
static class SlurmLauncher
{
    public const string ScriptFile = "sweep.sbatch";

    public static string Script(string sweep, SweepManifest manifest, string program)
    {
        var l = manifest.Launcher;
        string root = Path.GetFullPath(sweep);
        int digits = SweepManifest.IndexDigits(manifest.Cells.Length);
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"# scg sweep {root}: one array task per cell of {SweepManifest.FileName}, each `scg sweep run-cell`. Written by scg sweep;\n");
        s.Append("# submit it again (or run `scg sweep resume`) to run the unfinished cells: a finished cell's task does nothing.\n");
        s.Append($"#SBATCH --job-name=scg-sweep-{Path.GetFileName(root)}\n");
        s.Append($"#SBATCH --array={ArraySpec(Enumerable.Range(0, manifest.Cells.Length).ToList(), l.Jobs)}\n");
        s.Append($"#SBATCH --cpus-per-task={l.ThreadsPerRun}\n");
        if (l.Time is not null) s.Append($"#SBATCH --time={l.Time}\n");
        if (l.Mem is not null) s.Append($"#SBATCH --mem={l.Mem}\n");
        if (l.Partition is not null) s.Append($"#SBATCH --partition={l.Partition}\n");
        s.Append($"#SBATCH --output={root}/cells/%{digits}a/{CellFiles.Log}\n");
        s.Append("#SBATCH --open-mode=append\n");
        s.Append($"#SBATCH --signal=B:USR1@{l.SignalSeconds}\n");
        s.Append(l.Requeue ? "#SBATCH --requeue\n" : "#SBATCH --no-requeue\n");
        foreach (string line in l.Sbatch) s.Append($"#SBATCH {line}\n");
        s.Append($$"""
            export DOTNET_PROCESSOR_COUNT="${SLURM_CPUS_PER_TASK:-{{l.ThreadsPerRun}}}"
            echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) slurm job $SLURM_JOB_ID (array $SLURM_ARRAY_JOB_ID, task $SLURM_ARRAY_TASK_ID, restart ${SLURM_RESTART_COUNT:-0}) on $(hostname)"
            {{Shell.Quote(program)}} sweep run-cell {{Shell.Quote(root)}} "$SLURM_ARRAY_TASK_ID" &
            cell=$!
            # Slurm's warning before the time limit (--signal=B:USR1) reaches only this shell: the cell is stopped, once, as
            # by SIGTERM, writing its checkpoint and exiting {{ScgApp.Terminated}}. scancel and preemption signal the cell
            # itself, and this shell waits for it.
            stopping=
            trap '[ -n "$stopping" ] || kill -TERM "$cell" 2> /dev/null; stopping=1' USR1
            trap ':' TERM INT
            wait "$cell"; status=$?
            while kill -0 "$cell" 2> /dev/null; do wait "$cell"; status=$?; done

            """);
        if (l.Requeue)
            s.Append($"""
                if [ "$status" -eq {ScgApp.Terminated} ]; then
                  echo "cell stopped with its checkpoint written: requeueing task $SLURM_ARRAY_TASK_ID (job $SLURM_JOB_ID)"
                  scontrol requeue "$SLURM_JOB_ID"
                fi

                """);
        s.Append("exit \"$status\"\n");
        return s.ToString();
    }

    /// <summary>"0-3%2", "1,4-6": the --array value for these cell indices and at most <paramref name="jobs"/> at once (0: no limit).</summary>
    public static string ArraySpec(IReadOnlyList<int> cells, int jobs)
    {
        var parts = new List<string>();
        for (int i = 0; i < cells.Count;)
        {
            int j = i;
            while (j + 1 < cells.Count && cells[j + 1] == cells[j] + 1) j++;
            parts.Add(j == i ? $"{cells[i]}" : $"{cells[i]}-{cells[j]}");
            i = j + 1;
        }
        return string.Join(',', parts) + (jobs > 0 ? $"%{jobs}" : "");
    }

    /// <summary>Fails with a clear message when sbatch cannot be run here.</summary>
    public static void RequireSbatch()
    {
        if (SweepPrograms.Run("sbatch", "--version") is not { Code: 0 })
            throw new UsageException("--launcher slurm needs Slurm's sbatch, which could not be run here; use --launcher local, or --dry-run to write the script only " +
                "(bash scripts/slurm-local.sh start runs a one-node Slurm on this machine).");
    }

    /// <summary>Submits the script for <paramref name="cells"/>, at most <paramref name="jobs"/> at once (0: no limit); returns the job id.</summary>
    public static string Submit(string sweep, IReadOnlyList<int> cells, int jobs)
    {
        string script = Path.Combine(Path.GetFullPath(sweep), ScriptFile);
        var result = SweepPrograms.Run("sbatch", "--parsable", $"--array={ArraySpec(cells, jobs)}", script)
            ?? throw new InvalidOperationException("sbatch could not be started.");
        if (result.Code != 0)
            throw new TrainingFailedException($"sbatch refused '{script}' (exit code {result.Code}): {ScgApp.OneLine(result.Err)} The sweep folder is written; fix the cause and run scg sweep resume {Shell.Quote(sweep)}.", new InvalidOperationException(result.Err));
        string id = result.Out.Trim().Split(';')[0];
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            throw new InvalidOperationException($"sbatch --parsable printed '{result.Out.Trim()}', expected a job id.");
        return id;
    }

    /// <summary>
    /// The scheduler's state of each cell's latest task among <paramref name="jobs"/> (e.g. "PENDING", "RUNNING",
    /// "CANCELLED"): from sacct where accounting exists, else from squeue (queued and running tasks only). Null when
    /// neither answers.
    /// </summary>
    public static (Dictionary<int, string> States, string Source)? TaskStates(IReadOnlyList<string> jobs)
    {
        if (jobs.Count == 0) return null;
        var states = new Dictionary<int, string>();
        string list = string.Join(',', jobs);
        if (SweepPrograms.Run("sacct", "-n", "-P", "-X", "-j", list, "-o", "JobID,State") is { Code: 0 } sacct)
        {
            // in job order, so the latest submission's state of a cell wins
            foreach (string job in jobs)
                foreach (var (jobId, task, state) in Lines(sacct.Out))
                    if (jobId == job) states[task] = state;
            return (states, "sacct");
        }
        if (SweepPrograms.Run("squeue", "-h", "-r", "--me", "-o", "%i|%T") is { Code: 0 } squeue)
        {
            foreach (string job in jobs)
                foreach (var (jobId, task, state) in Lines(squeue.Out))
                    if (jobId == job) states[task] = state;
            return (states, "squeue");
        }
        return null;
    }

    /// <summary>"7_3|RUNNING" and "7_[4-6%2]|PENDING" lines as (job, task, state).</summary>
    static IEnumerable<(string Job, int Task, string State)> Lines(string text)
    {
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length < 2) continue;
            string state = parts[1].Split(' ')[0];
            int underscore = parts[0].IndexOf('_');
            if (underscore < 0) continue;
            string job = parts[0][..underscore], tasks = parts[0][(underscore + 1)..].Trim('[', ']');
            tasks = tasks.Split('%')[0];
            foreach (string range in tasks.Split(','))
            {
                var ends = range.Split('-');
                if (!int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out int from)) continue;
                int to = ends.Length > 1 && int.TryParse(ends[1], NumberStyles.None, CultureInfo.InvariantCulture, out int t) ? t : from;
                for (int task = from; task <= to; task++) yield return (job, task, state);
            }
        }
    }

    /// <summary>True for a scheduler state in which the task will still run or is running.</summary>
    public static bool IsActive(string state) => state is "PENDING" or "RUNNING" or "REQUEUED" or "CONFIGURING" or "COMPLETING" or "RESIZING" or "SUSPENDED" or "REQUEUE_HOLD" or "REQUEUE_FED";
}
