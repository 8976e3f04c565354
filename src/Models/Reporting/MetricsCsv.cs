using System.Globalization;
using System.Text;

namespace Scg.Models.Reporting;

/// <summary>One row of a training run's metrics; ValidBound is NaN on rows without a validation pass.</summary>
/// <param name="Step">the training step the row was logged at</param>
/// <param name="TrainBound">the bound on that step's training batch</param>
/// <param name="ValidBound">the bound on the validation split, or NaN</param>
/// <param name="PosteriorTemperature">the posterior temperature λ1 of the run's schedule at that step</param>
/// <param name="PriorTemperature">the prior temperature λ2 of the run's schedule at that step</param>
/// <param name="StepsPerSecond">the training speed, in steps per second</param>
public sealed record MetricsRow(long Step, double TrainBound, double ValidBound, double PosteriorTemperature, double PriorTemperature, double StepsPerSecond);

/// <summary>
/// metrics.csv of a run: a header line, then one row per logging interval, invariant culture, empty cells for
/// missing values. Rows are appended and flushed as they come, so a crash keeps what was logged.
/// </summary>
public sealed class MetricsCsv : IDisposable
{
    /// <summary>The first line of the file: the column names.</summary>
    public const string Header = "step,train_bound,valid_bound,posterior_temperature,prior_temperature,steps_per_second";
    readonly StreamWriter _writer;

    MetricsCsv(StreamWriter writer) => _writer = writer;

    /// <summary>
    /// Opens <paramref name="path"/> for appending. A new file gets the header. When resuming, rows after
    /// <paramref name="keepThroughStep"/> (logged after the checkpoint being resumed from) are dropped first, and so is
    /// an unfinished last line (a process killed while writing it); <paramref name="note"/> hears of each.
    /// </summary>
    public static MetricsCsv Open(string path, long? keepThroughStep = null, Action<string>? note = null)
    {
        if (keepThroughStep is long keep && File.Exists(path))
        {
            var (all, torn) = ReadUpToTornEnd(path);
            if (torn is not null) note?.Invoke($"'{path}': dropped the unfinished last line {torn.Value.Line} ('{torn.Value.Text}').");
            var kept = all.Where(r => r.Step <= keep).ToList();
            if (kept.Count < all.Count) note?.Invoke($"'{path}': dropped {all.Count - kept.Count} rows logged after step {keep}, where the checkpoint is.");
            var text = new StringBuilder(Header).Append('\n');
            foreach (var r in kept) text.Append(Format(r)).Append('\n');
            AtomicFile.WriteAllText(path, text.ToString());
        }
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { NewLine = "\n" };
        if (fresh) { writer.WriteLine(Header); writer.Flush(); }
        return new MetricsCsv(writer);
    }

    /// <summary>Writes <paramref name="row"/> as one line and flushes it.</summary>
    public void Append(MetricsRow row)
    {
        _writer.WriteLine(Format(row));
        _writer.Flush();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _writer.Dispose();

    static string Format(MetricsRow r) => string.Join(',',
        r.Step.ToString(CultureInfo.InvariantCulture), Cell(r.TrainBound), Cell(r.ValidBound),
        Cell(r.PosteriorTemperature), Cell(r.PriorTemperature), Cell(r.StepsPerSecond));

    static string Cell(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Reads a metrics file written by this class.</summary>
    public static List<MetricsRow> Read(string path)
    {
        var rows = new List<MetricsRow>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            if (line == 1)
            {
                RequireHeader(path, text);
                continue;
            }
            if (text.Length == 0) continue;
            rows.Add(ParseRow(text) ?? throw BadRow(path, line, text));
        }
        return rows;
    }

    /// <summary>
    /// As <see cref="Read"/>, except that a last line without its line break, or that is not a whole row, is returned
    /// as torn instead of read (a missing file, or one holding only a torn header, has no rows).
    /// </summary>
    static (List<MetricsRow> Rows, (int Line, string Text)? Torn) ReadUpToTornEnd(string path)
    {
        string all = File.ReadAllText(path);
        var lines = all.Split('\n');   // the last element is what follows the last line break
        int count = lines.Length - 1;
        (int, string)? torn = null;
        if (lines[^1].Length > 0) { torn = (count + 1, lines[^1]); }
        else if (count > 1 && lines[count - 1].Length > 0 && ParseRow(lines[count - 1]) is null) { torn = (count, lines[count - 1]); count--; }
        var rows = new List<MetricsRow>();
        if (count == 0) return (rows, torn);
        RequireHeader(path, lines[0]);
        for (int i = 1; i < count; i++)
            if (lines[i].Length > 0) rows.Add(ParseRow(lines[i]) ?? throw BadRow(path, i + 1, lines[i]));
        return (rows, torn);
    }

    static void RequireHeader(string path, string line)
    {
        if (line != Header) throw new InvalidDataException($"'{path}' is not a metrics file: line 1 is '{line}', expected '{Header}'.");
    }

    static InvalidDataException BadRow(string path, int line, string text) =>
        new($"'{path}' line {line}: expected 6 comma-separated cells starting with a step, got '{text}'.");

    /// <summary>One row, or null when the text is not 6 cells of a step and numbers.</summary>
    static MetricsRow? ParseRow(string text)
    {
        var cells = text.Split(',');
        if (cells.Length != 6 || !long.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long step)) return null;
        var values = new double[5];
        for (int i = 0; i < 5; i++)
            if (cells[i + 1].Length == 0) values[i] = double.NaN;
            else if (!double.TryParse(cells[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i])) return null;
        return new MetricsRow(step, values[0], values[1], values[2], values[3], values[4]);
    }
}
