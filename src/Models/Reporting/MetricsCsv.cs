using System.Globalization;
using System.Text;

namespace Scg.Models.Reporting;

/// <summary>One row of a training run's metrics; ValidBound is NaN on rows without a validation pass.</summary>
public sealed record MetricsRow(long Step, double TrainBound, double ValidBound, double PosteriorTemperature, double PriorTemperature, double StepsPerSecond);

/// <summary>
/// metrics.csv of a run: a header line, then one row per logging interval, invariant culture, empty cells for
/// missing values. Rows are appended and flushed as they come, so a crash keeps what was logged.
/// </summary>
public sealed class MetricsCsv : IDisposable
{
    public const string Header = "step,train_bound,valid_bound,posterior_temperature,prior_temperature,steps_per_second";
    readonly StreamWriter _writer;

    MetricsCsv(StreamWriter writer) => _writer = writer;

    /// <summary>
    /// Opens <paramref name="path"/> for appending. A new file gets the header; when resuming, rows after
    /// <paramref name="keepThroughStep"/> (logged after the checkpoint being resumed from) are dropped first.
    /// </summary>
    public static MetricsCsv Open(string path, long? keepThroughStep = null)
    {
        if (keepThroughStep is long keep && File.Exists(path))
        {
            var kept = Read(path).Where(r => r.Step <= keep).ToList();
            var text = new StringBuilder(Header).Append('\n');
            foreach (var r in kept) text.Append(Format(r)).Append('\n');
            AtomicFile.WriteAllText(path, text.ToString());
        }
        bool fresh = !File.Exists(path) || new FileInfo(path).Length == 0;
        var writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { NewLine = "\n" };
        if (fresh) { writer.WriteLine(Header); writer.Flush(); }
        return new MetricsCsv(writer);
    }

    public void Append(MetricsRow row)
    {
        _writer.WriteLine(Format(row));
        _writer.Flush();
    }

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
                if (text != Header) throw new InvalidDataException($"'{path}' is not a metrics file: line 1 is '{text}', expected '{Header}'.");
                continue;
            }
            if (text.Length == 0) continue;
            var cells = text.Split(',');
            if (cells.Length != 6 || !long.TryParse(cells[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long step))
                throw new InvalidDataException($"'{path}' line {line}: expected 6 comma-separated cells starting with a step, got '{text}'.");
            rows.Add(new MetricsRow(step, Parse(cells[1]), Parse(cells[2]), Parse(cells[3]), Parse(cells[4]), Parse(cells[5])));
        }
        return rows;
    }

    static double Parse(string cell) => cell.Length == 0 ? double.NaN : double.Parse(cell, NumberStyles.Float, CultureInfo.InvariantCulture);
}
