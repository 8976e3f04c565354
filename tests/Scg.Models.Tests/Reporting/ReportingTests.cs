using Scg.Models.Reporting;

namespace Scg.Models.Tests;

public sealed class ReportingTests : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void MetricsCsvRoundTripsAndResumingDropsRowsAfterTheCheckpoint()
    {
        string path = _dir.File("metrics.csv");
        using (var csv = MetricsCsv.Open(path))
        {
            csv.Append(new MetricsRow(10, -20.5, double.NaN, 0.6667, 0.5, 1234.5));
            csv.Append(new MetricsRow(20, -19.25, -19.5, 0.6, 0.5, 1000));
            csv.Append(new MetricsRow(30, -19, double.NaN, 0.55, 0.5, 999));
        }
        var rows = MetricsCsv.Read(path);
        Assert.Equal(3, rows.Count);
        Assert.Equal(new MetricsRow(20, -19.25, -19.5, 0.6, 0.5, 1000), rows[1]);
        Assert.True(double.IsNaN(rows[0].ValidBound));
        Assert.StartsWith(MetricsCsv.Header + "\n10,-20.5,,0.6667,0.5,1234.5\n", File.ReadAllText(path));

        using (var csv = MetricsCsv.Open(path, keepThroughStep: 20))
            csv.Append(new MetricsRow(30, -18, double.NaN, 0.55, 0.5, 1));
        Assert.Equal([10L, 20L, 30L], MetricsCsv.Read(path).Select(r => r.Step));
        Assert.Equal(-18, MetricsCsv.Read(path)[2].TrainBound);

        File.WriteAllText(_dir.File("other.csv"), "a,b\n1,2\n");
        Assert.Throws<InvalidDataException>(() => MetricsCsv.Read(_dir.File("other.csv")));
    }
}
