using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;
using Scg.Models.Reporting;

namespace Scg.Models.Tests;

public sealed class ReportingTests : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0u, Crc32.Compute([]));
        Assert.Equal(Crc32.Compute("123456789"u8), Crc32.Append(Crc32.Compute("1234"u8), "56789"u8));
    }

    /// <summary>Chunks of a PNG file after checking the signature and every chunk's CRC.</summary>
    static List<(string Type, byte[] Data)> Chunks(byte[] png)
    {
        Assert.True(png.AsSpan(0, 8).SequenceEqual(Png.Signature), "PNG signature");
        var chunks = new List<(string, byte[])>();
        int at = 8;
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            byte[] data = png.AsSpan(at + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(Crc32.Compute(png.AsSpan(at + 4, 4 + length)), crc);
            chunks.Add((type, data));
            at += 12 + length;
        }
        Assert.Equal(png.Length, at);
        return chunks;
    }

    [Fact]
    public void PngHasSignatureHeaderAndDecodableImageData()
    {
        const int width = 5, height = 3;
        var pixels = Enumerable.Range(0, width * height).Select(i => (byte)(i * 17)).ToArray();
        byte[] png = Png.EncodeGray(pixels, width, height);

        var chunks = Chunks(png);
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        var ihdr = chunks[0].Data;
        Assert.Equal(13, ihdr.Length);
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(new byte[] { 8, 0, 0, 0, 0 }, ihdr[8..]);   // 8-bit grayscale, deflate, filter 0, no interlace
        Assert.Empty(chunks[2].Data);

        using var z = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var scanlines = raw.ToArray();
        Assert.Equal(height * (width + 1), scanlines.Length);
        for (int y = 0; y < height; y++)
        {
            Assert.Equal(0, scanlines[y * (width + 1)]);   // filter type None
            Assert.Equal(pixels.AsSpan(y * width, width).ToArray(), scanlines.AsSpan(y * (width + 1) + 1, width).ToArray());
        }
    }

    [Fact]
    public void PngRejectsPixelsThatDoNotFillTheImage()
    {
        Assert.Throws<ArgumentException>(() => Png.EncodeGray(new byte[10], 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Png.EncodeGray([], 0, 3));
    }

    [Fact]
    public void ImageGridTilesImagesWithPaddingAndScale()
    {
        Assert.Equal((4, 8), ImageGrid.TileShape(32));
        Assert.Equal((28, 28), ImageGrid.TileShape(784));
        Assert.Equal((14, 28), ImageGrid.TileShape(392));
        Assert.Equal((28, 28), ImageGrid.TileShape(784, 28, 28));
        Assert.Equal((1, 7), ImageGrid.TileShape(7));

        // three 2×2 images, two columns, scale 2, padding 1 → 2·4 + 3 wide, 2·4 + 3 high
        float[] values = [1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1];
        var (pixels, width, height) = ImageGrid.Tile(values, 4, columns: 2, tileHeight: 2, tileWidth: 2, scale: 2, padding: 1);
        Assert.Equal(11, width);
        Assert.Equal(11, height);
        Assert.Equal(128, pixels[0]);                      // padding
        Assert.Equal(255, pixels[1 * width + 1]);          // image 0, pixel (0,0), scaled
        Assert.Equal(255, pixels[2 * width + 2]);
        Assert.Equal(0, pixels[1 * width + 3]);            // image 0, pixel (0,1)
        Assert.Equal(0, pixels[1 * width + 6]);            // image 1 is black
        Assert.Equal(255, pixels[6 * width + 1]);          // image 2 is white
        Assert.Equal(128, pixels[6 * width + 6]);          // no fourth image: background

        string path = _dir.File("grid.png");
        ImageGrid.WritePng(path, values, 4, 2, 2, 2, 3);
        Assert.Equal(["IHDR", "IDAT", "IEND"], Chunks(File.ReadAllBytes(path)).Select(c => c.Type));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void SvgChartIsWellFormedWithOneLinePerSeriesAndALegend()
    {
        var chart = new SvgChart { Title = "bound <per> step & estimator", XLabel = "step", YLabel = "bound" };
        chart.Series.Add(new ChartSeries("concrete", [(0, -30), (100, -25), (200, double.NaN), (300, -21)]));
        chart.Series.Add(new ChartSeries("vimco m=5", [(0, -31), (300, -20)], Dashed: true));
        chart.Series.Add(new ChartSeries("single", [(150, -22)]));
        string path = _dir.File("chart.svg");
        chart.Write(path);

        var doc = XDocument.Load(path);
        XNamespace svg = "http://www.w3.org/2000/svg";
        Assert.Equal(svg + "svg", doc.Root!.Name);
        var lines = doc.Descendants(svg + "polyline").ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(3, lines[0].Attribute("points")!.Value.Split(' ').Length);   // the NaN point is skipped
        Assert.NotNull(lines[1].Attribute("stroke-dasharray"));
        Assert.Single(doc.Descendants(svg + "circle"));
        var texts = doc.Descendants(svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("concrete", texts);
        Assert.Contains("vimco m=5", texts);
        Assert.Contains("bound <per> step & estimator", texts);
        foreach (var p in lines.SelectMany(l => l.Attribute("points")!.Value.Split(' ')))
        {
            var xy = p.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.InRange(xy[0], 0, chart.Width);
            Assert.InRange(xy[1], 0, chart.Height);
        }
    }

    [Fact]
    public void SvgChartOfNothingOrOfAConstantIsStillValid()
    {
        Assert.NotNull(XDocument.Parse(new SvgChart().Render()).Root);
        var flat = new SvgChart();
        flat.Series.Add(new ChartSeries("flat", [(0, 5), (10, 5)]));
        Assert.DoesNotContain("NaN", flat.Render());
    }

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
