using System.Diagnostics;
using System.Globalization;
using System.Text;
using Scg.Models.Reporting;

namespace Scg.Cli;

/// <summary>
/// <c>scg sweep run-cell</c>: one cell, run as the <c>train</c> command runs it (the same entry point, in this process),
/// in the cell's folder; resumed from its checkpoint when one is there. A finished cell is left as it is. The outcome
/// is written into the folder: done.json, or failed.json with the exit code and the error.
/// </summary>
static class SweepRunCell
{
    /// <summary>
    /// Test-only faults, set by the environment variable SCG_FAULT_CELL, a comma list: "INDEX:fail" makes that cell fail
    /// (exit 1) before it trains, "INDEX:step=N" pauses its training after step N as SCG_FAULT_PAUSE does.
    /// </summary>
    public const string FaultVariable = "SCG_FAULT_CELL";
    const int ErrorLines = 20;

    public static int Run(Ui ui, string sweep, int index)
    {
        var manifest = SweepManifest.Read(sweep);
        var cell = manifest.Cell(sweep, index);
        string folder = CellFiles.Folder(sweep, cell);
        string name = $"cell {index} ({SweepManifest.Describe(cell)})";
        if (File.Exists(Path.Combine(folder, CellFiles.Done)))
        {
            ui.Note($"{name} is done ({Path.Combine(folder, CellFiles.Done)}): nothing to do.");
            return ScgApp.Ok;
        }
        string? fault = Fault(index);
        using var cellLock = CellFiles.AcquireLock(folder);
        if (File.Exists(Path.Combine(folder, CellFiles.Done))) return ScgApp.Ok;   // finished by another task meanwhile

        bool resume = File.Exists(Path.Combine(folder, Experiment.CheckpointFile));
        string[] train = ["train", .. cell.Args, "--out", folder, .. resume ? (string[])["--resume", folder] : []];
        ui.Note($"{name}: {(resume ? "resuming" : "starting")} {Shell.Join([Shell.Program, .. train])}");
        var errors = new TailWriter(ui.Error, ErrorLines);
        var clock = Stopwatch.StartNew();
        int code;
        if (fault == "fail")
        {
            errors.WriteLine($"scg sweep run-cell: failure injected by {FaultVariable} in {name}");
            code = ScgApp.Failed;
        }
        else
        {
            if (fault is not null) Environment.SetEnvironmentVariable(FaultInjection.Variable, fault);
            code = ScgApp.Run(train, ui.Out, errors, interactive: false, liveProgress: false, ui.Stop);
        }
        errors.Flush();

        if (code == ScgApp.Ok)
        {
            var done = Result(folder, clock.Elapsed.TotalSeconds, out string? problem);
            if (done is not null)
            {
                CellFiles.Write(folder, CellFiles.Done, done);
                File.Delete(Path.Combine(folder, CellFiles.Failed));
                ui.Note($"{name}: done, test L_{done.TestSamples} {Inv(done.TestBound)}, train bound {Inv(done.TrainBound)} ({Path.Combine(folder, CellFiles.Done)}).");
                return ScgApp.Ok;
            }
            errors.WriteLine($"scg sweep run-cell: {problem}");
            code = ScgApp.Failed;
        }
        if (code is ScgApp.Terminated or ScgApp.Interrupted)
        {
            ui.Note($"{name}: stopped with its checkpoint written (exit code {code}); running the cell again resumes it.");
            return code;
        }
        CellFiles.Write(folder, CellFiles.Failed, new CellFailure(code, errors.Text(), DateTime.UtcNow));
        ui.Note($"{name}: failed with exit code {code}; the error is in {Path.Combine(folder, CellFiles.Failed)}.");
        return code;
    }

    /// <summary>The fault SCG_FAULT_CELL sets for cell <paramref name="index"/>, or null.</summary>
    static string? Fault(int index)
    {
        string? text = Environment.GetEnvironmentVariable(FaultVariable);
        if (string.IsNullOrEmpty(text)) return null;
        string? found = null;
        foreach (string item in text.Split(','))
        {
            int colon = item.IndexOf(':');
            string fault = colon < 0 ? "" : item[(colon + 1)..];
            if (colon < 0 || !int.TryParse(item[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out int at)
                || !(fault == "fail" || fault.StartsWith("step=", StringComparison.Ordinal)))
                throw new UsageException($"{FaultVariable} must be a comma list of INDEX:fail or INDEX:step=N, got '{text}'.");
            if (at == index) found = fault;
        }
        return found;
    }

    /// <summary>
    /// A finished run's numbers: the test bound from its summary.md (as printed, to three decimals) and the final
    /// training bound from the last row of its metrics.csv. Null, with the reason, when either is missing or not finite.
    /// </summary>
    static CellDone? Result(string folder, double seconds, out string? problem)
    {
        problem = null;
        string summary = Path.Combine(folder, "summary.md");
        var row = Summary(folder);
        if (row is null) { problem = $"the run ended without a summary table in '{summary}'."; return null; }
        string? test = row.Keys.FirstOrDefault(h => h.StartsWith("test L_", StringComparison.Ordinal));
        if (test is null || !row.TryGetValue("steps", out string? stepsText)
            || !int.TryParse(test["test L_".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out int k)
            || !double.TryParse(row[test], NumberStyles.Float, CultureInfo.InvariantCulture, out double testBound)
            || !long.TryParse(stepsText, NumberStyles.None, CultureInfo.InvariantCulture, out long stepCount))
        {
            problem = $"'{summary}' has no test bound: expected a row with 'steps' and a finite 'test L_k', got '{string.Join(" | ", row.Values)}'.";
            return null;
        }
        var rows = MetricsCsv.Read(Path.Combine(folder, Experiment.MetricsFile));
        double train = rows.Count > 0 ? rows[^1].TrainBound : double.NaN;
        if (!double.IsFinite(testBound) || !double.IsFinite(train))
        {
            problem = $"the run's final bounds are not finite: test L_{k} {Inv(testBound)}, train bound {Inv(train)}.";
            return null;
        }
        return new CellDone(testBound, k, train, stepCount, seconds, DateTime.UtcNow);
    }

    /// <summary>The first row of a run folder's summary.md table, by column header; null without one.</summary>
    public static Dictionary<string, string>? Summary(string folder)
    {
        string path = Path.Combine(folder, "summary.md");
        var table = File.Exists(path) ? File.ReadAllLines(path).Where(l => l.StartsWith('|')).ToArray() : [];
        if (table.Length < 3) return null;
        var headers = Cells(table[0]);
        var values = Cells(table[2]);
        return values.Length == headers.Length ? headers.Zip(values).ToDictionary(p => p.First, p => p.Second) : null;
    }

    static string[] Cells(string row) => row.Trim().Trim('|').Split('|', StringSplitOptions.TrimEntries);

    static string Inv(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Writes through to another writer and keeps the last lines written, for the failure record.</summary>
    sealed class TailWriter(TextWriter inner, int keep) : TextWriter
    {
        readonly Queue<string> _lines = new();
        readonly StringBuilder _line = new();

        public override Encoding Encoding => inner.Encoding;

        public override void Write(char value)
        {
            inner.Write(value);
            Keep(value);
        }

        public override void Write(string? value)
        {
            inner.Write(value);
            foreach (char c in value ?? "") Keep(c);
        }

        void Keep(char value)
        {
            lock (_lines)
            {
                if (value == '\n')
                {
                    _lines.Enqueue(_line.ToString().TrimEnd('\r'));
                    if (_lines.Count > keep) _lines.Dequeue();
                    _line.Clear();
                }
                else _line.Append(value);
            }
        }

        public override void Flush() => inner.Flush();

        public string Text()
        {
            lock (_lines) return string.Join('\n', _line.Length > 0 ? [.. _lines, _line.ToString()] : _lines.ToArray());
        }
    }
}
