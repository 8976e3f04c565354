using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Scg.Cli;
using Scg.Models.Reporting;

namespace Scg.Models.Tests;

/// <summary>The figures of the scg program: every series present, nothing drawn outside the canvas, sizes as laid out.</summary>
public sealed partial class PlotTests : IDisposable
{
    readonly ScratchDir _dir = new();

    public void Dispose() => _dir.Dispose();

    static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>The text of every &lt;text&gt; element of an SVG file, trimmed.</summary>
    public static List<string> Texts(string svgPath) =>
        XDocument.Load(svgPath).Descendants(Svg + "text").Select(t => t.Value.Trim()).ToList();

    /// <summary>
    /// Every text of an SVG as the Skia writer lays it out (a translate or a rotation by −90°, one x per glyph), with
    /// its bounding box in canvas pixels: the last glyph is taken as one font size wide, which overestimates.
    /// </summary>
    static List<(string Text, double Left, double Top, double Right, double Bottom)> TextBoxes(XDocument svg)
    {
        var boxes = new List<(string, double, double, double, double)>();
        foreach (var t in svg.Descendants(Svg + "text"))
        {
            double size = double.Parse(t.Attribute("font-size")!.Value, CultureInfo.InvariantCulture);
            var xs = Numbers(t.Attribute("x")!.Value);
            double y = Numbers(t.Attribute("y")!.Value)[0], x0 = xs.Min(), x1 = xs.Max() + size;
            var m = Numbers(TransformArguments().Match(t.Attribute("transform")!.Value).Groups[1].Value);
            string text = t.Value.Trim();
            if (m.Length == 2)   // translate(e f): (x, y) ↦ (e + x, f + y)
                boxes.Add((text, m[0] + x0, m[1] + y - size, m[0] + x1, m[1] + y + 0.3 * size));
            else if (m.Length == 6 && m[0] == 0 && m[1] == -1 && m[2] == 1 && m[3] == 0)   // rotated −90°: (x, y) ↦ (e + y, f − x)
                boxes.Add((text, m[4] + y - size, m[5] - x1, m[4] + y + 0.3 * size, m[5] - x0));
            else
                Assert.Fail($"text '{text}' has a transform this test does not read: {t.Attribute("transform")!.Value}");
        }
        return boxes;
    }

    static double[] Numbers(string list) => list.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries)
        .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    [GeneratedRegex(@"\((.*)\)")]
    private static partial Regex TransformArguments();

    /// <summary>The SVG's size, every text inside it, and the PNG of the same size.</summary>
    static (int Width, int Height, List<(string Text, double Left, double Top, double Right, double Bottom)> Texts) CheckFigure(string stem)
    {
        var svg = XDocument.Load(stem + ".svg");
        int width = int.Parse(svg.Root!.Attribute("width")!.Value, CultureInfo.InvariantCulture);
        int height = int.Parse(svg.Root!.Attribute("height")!.Value, CultureInfo.InvariantCulture);
        using var png = SkiaSharp.SKBitmap.Decode(stem + ".png");
        Assert.Equal((width, height), (png.Width, png.Height));
        var boxes = TextBoxes(svg);
        Assert.NotEmpty(boxes);
        foreach (var b in boxes)
        {
            Assert.True(b.Left >= 0 && b.Top >= 0 && b.Right <= width && b.Bottom <= height,
                $"'{b.Text}' reaches ({b.Left:F0}, {b.Top:F0})–({b.Right:F0}, {b.Bottom:F0}), outside the {width}×{height} canvas");
        }
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(stem)!, "*.tmp"));
        return (width, height, boxes);
    }

    static List<MetricsRow> Run(double level, double noise, int seed, int steps = 400, int validEvery = 100)
    {
        var rng = new Random(seed);
        return Enumerable.Range(1, steps / 10).Select(i =>
        {
            long step = 10L * i;
            double trend = level - 10 * Math.Exp(-step / 80.0);
            return new MetricsRow(step, trend + noise * rng.NextDouble(), step % validEvery == 0 ? trend + 0.5 : double.NaN, 0.67, 0.5, 1000);
        }).ToList();
    }

    [Fact]
    public void CurvesShowEverySeriesLabelledByItsBoundWithFarScalesOnTheirOwnPanelAndTheLegendInside()
    {
        string[] names = ["concrete m=1", "nvil m=1", "vimco m=5", "st m=1", "reinforce m=1"];
        var groups = names.Select((n, i) => new CurveGroup(new RunGroup<MetricsRow>(n, Run(-30 + 0.3 * i, 1, i)), n.StartsWith("concrete") ? "relaxed bound" : "discrete L_1"))
            .Append(new CurveGroup(new RunGroup<MetricsRow>("igr m=1 with a long name for the legend", Run(-500, 1, 9)), "relaxed bound"))
            .Append(new CurveGroup(new RunGroup<MetricsRow>("vimco m=5, 3 seeds", [Run(-29, 1, 11), Run(-29.5, 1, 12), Run(-28.5, 1, 13)]), "discrete L_5"))
            .ToList();
        string stem = _dir.File("curves");
        Plots.WriteCurves(stem, "4H~8H~32V on sbn-toy: bounds per estimator", groups, validSamples: 10, reference: -18.6, referenceLabel: "true log-likelihood");

        var (width, height, texts) = CheckFigure(stem);
        Assert.Equal(Plots.TitleHeight + 4 * Plots.PanelHeight, height);   // igr's bounds on panels apart from the others'
        Assert.Single(texts, t => t.Text == "true log-likelihood");
        Assert.True(width >= Plots.Width);
        var labels = texts.Select(t => t.Text).ToList();
        foreach (var g in groups)
        {
            string mean = g.Group.Runs.Count > 1 ? " (mean ± sd)" : "";
            Assert.Contains($"{g.Group.Label}: {g.TrainBound} (train){mean}", labels);
            Assert.Contains(g.Group.Label + mean, labels);
        }
        Assert.Contains("true log-likelihood", labels);
        Assert.Contains("discrete L_10 (valid) per step (2 of 2: scales differ)", labels);
        Assert.Contains("training bound per step (1 of 2: scales differ)", labels);

        var panels = Plots.GroupByScale(groups.Select((g, i) => new Plots.Series(g.Group.Label, i,
            Plots.Aggregate(g.Group.Runs.Select(r => r.Select(m => (m.Step, m.TrainBound)))))).ToList());
        Assert.Equal(["igr m=1 with a long name for the legend"], panels[0].Select(s => s.Label));
        Assert.Equal(names.Length + 1, panels[1].Count);
    }

    [Fact]
    public void SeveralRunsAggregateToMeanAndSampleStandardDeviationOverTheStepsAllOfThemLogged()
    {
        (long, double)[] a = [(10, 1), (20, 2), (30, 3), (40, double.NaN)], b = [(10, 3), (20, 6), (40, 1)];
        var (x, mean, std) = Plots.Aggregate([a, b]);
        Assert.Equal([10.0, 20.0], x);
        Assert.Equal([2.0, 4.0], mean);
        Assert.Equal([Math.Sqrt(2), Math.Sqrt(8)], std!);
        var single = Plots.Aggregate([a]);
        Assert.Equal([10.0, 20.0, 30.0], single.X);
        Assert.Null(single.Std);
    }

    [Fact]
    public void DiagnosticsShowVarianceSnrAndVanishingShareOfEveryEstimator()
    {
        string[] names = ["concrete m=1", "nvil m=1", "vimco m=5", "igr m=1", "st m=1", "reinforce m=1"];
        var groups = names.Select((n, i) => new RunGroup<GradientRow>(n,
            Enumerable.Range(1, 10).Select(s => new GradientRow(100 * s, Math.Pow(10, -2 - 0.3 * i) / s, 0.5 + 0.1 * i, i == 0 ? 0.02 * s : 0)).ToList())).ToList();
        string stem = _dir.File("diagnostics");
        Plots.WriteDiagnostics(stem, "gradient of each estimator", groups, draws: 50);

        var (_, height, texts) = CheckFigure(stem);
        Assert.Equal(Plots.TitleHeight + 3 * Plots.PanelHeight, height);
        var labels = texts.Select(t => t.Text).ToList();
        foreach (string n in names) Assert.Single(labels, n);   // one legend for the three panels
        Assert.Contains("gradient variance (mean over parameters, 50 draws)", labels);
        Assert.Contains("vanishing gradients (share of the gradient through the samples that is exactly 0)", labels);
        Assert.Contains("20 %", labels);   // concrete's share reaches 20 %
    }

    [Fact]
    public void LogTicksLabelValuesAtOneTwoAndFiveTimesPowersOfTen()
    {
        var fine = Plots.LogTicks(Math.Log10(0.0015), Math.Log10(0.3)).Where(t => t.Label is not null).ToList();
        Assert.Equal(["0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2"], fine.Select(t => t.Label));
        Assert.Equal(Math.Log10(0.05), fine[4].Position, 12);
        Assert.Contains(Plots.LogTicks(-3.5, -1.5), t => t.Label is null && Math.Abs(t.Position - Math.Log10(0.003)) < 1e-12);   // a minor tick
        Assert.Equal(["0.3", "0.4", "0.5", "0.6", "0.7", "0.8"], Plots.LogTicks(Math.Log10(0.25), Math.Log10(0.85)).Select(t => t.Label));
        var wide = Plots.LogTicks(-8.5, -1.5).Where(t => t.Label is not null).Select(t => t.Label);
        Assert.Equal(["1E-8", "1E-7", "1E-6", "1E-5", "1E-4", "0.001", "0.01"], wide);
    }

    [Fact]
    public void ImageRowsAreLabelledAndLaidOutOnePixelApart()
    {
        // two rows of 2×3 images: 3 images, then 1
        var rows = new List<ImageRow> { new("data", [1, 0, 1, 0, 1, 0, /**/ 0, 0, 0, 0, 0, 0, /**/ 1, 1, 1, 1, 1, 1]), new("sample", [0.5f, 0, 0, 0, 0, 2]) };
        var grid = Plots.ImageGrid(rows, 2, 3, out int columns);
        Assert.Equal(3, columns);
        Assert.Equal((2 * 3 + 1, 3 * 4 + 1), (grid.GetLength(0), grid.GetLength(1)));
        Assert.True(double.IsNaN(grid[0, 0]));
        Assert.Equal([1.0, 0, 1], Enumerable.Range(1, 3).Select(x => grid[1, x]));   // image 0, top row
        Assert.Equal(0.0, grid[2, 1]);                                                   // image 0, bottom row starts with its 4th value
        Assert.True(double.IsNaN(grid[1, 4]));                                          // the gap between images
        Assert.Equal(1.0, grid[2, 9 + 2]);                                              // image 2
        Assert.Equal(0.5, grid[4, 1]);                                                  // second row, image 0
        Assert.Equal(1.0, grid[5, 3]);                                                  // clamped from 2
        Assert.True(double.IsNaN(grid[4, 5]));                                          // the second row has one image

        string stem = _dir.File("images");
        Plots.WriteImages(stem, "4H~8V on mnist: concrete m=1", rows, 2, 3);
        var (_, _, texts) = CheckFigure(stem);
        Assert.Contains("data", texts.Select(t => t.Text));
        Assert.Contains("sample", texts.Select(t => t.Text));
        Assert.Throws<ArgumentException>(() => Plots.ImageGrid([new("data", [1, 0, 1])], 2, 3, out _));
    }
}
