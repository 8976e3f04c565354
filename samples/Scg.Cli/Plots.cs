using ScottPlot;
using SkiaSharp;
using Scg.Models.Reporting;

namespace Scg.Cli;

/// <summary>
/// One configuration of a plot (an estimator with its m, say) and its runs. One run draws as a line; several runs of
/// the configuration (seeds) draw as their mean with a band of ± one standard deviation.
/// </summary>
sealed record RunGroup<TRow>(string Label, IReadOnlyList<IReadOnlyList<TRow>> Runs)
{
    public RunGroup(string label, IReadOnlyList<TRow> run) : this(label, [run]) { }
}

/// <summary>What the training column of a run's metrics holds: "relaxed bound" or "discrete L_5", say.</summary>
sealed record CurveGroup(RunGroup<MetricsRow> Group, string TrainBound);

/// <summary>Gradient statistics of an estimator at one step: mean per-element variance, mean SNR, share of exact zeros of the gradient with respect to the nodes' parameters.</summary>
sealed record GradientRow(long Step, double Variance, double SignalToNoise, double VanishingFraction);

/// <summary>A row of images in an image figure: its label and the images' values in [0, 1], one image after another.</summary>
sealed record ImageRow(string Label, float[] Values);

/// <summary>
/// The figures of a run or a comparison, drawn with ScottPlot and written as PNG and SVG: training curves, gradient
/// diagnostics and labelled image rows. Lines differ in color and marker shape (the SVG writer draws no dash patterns).
/// </summary>
static class Plots
{
    public const int Width = 1000, PanelHeight = 330, TitleHeight = 40;
    const float Left = 86, Top = 34, Bottom = 48, LegendGap = 12, MinRight = 30;

    static readonly MarkerShape[] Markers =
    [
        MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond,
        MarkerShape.OpenCircle, MarkerShape.OpenSquare, MarkerShape.FilledTriangleDown, MarkerShape.OpenDiamond,
        MarkerShape.Cross, MarkerShape.Eks,
    ];
    static readonly ScottPlot.Palettes.Category10 Palette = new();
    static readonly Lazy<string> Font = new(PickFont);

    /// <summary>Color and marker of the i-th configuration, the same in every figure.</summary>
    static (Color Color, MarkerShape Marker) Style(int i) => (Palette.GetColor(i % Palette.Colors.Length), Markers[i % Markers.Length]);

    // ---- training curves -----------------------------------------------------------------------

    /// <summary>
    /// Training curves at <paramref name="stem"/>.png and .svg: the training column of each configuration (labelled
    /// with what it is, e.g. "relaxed bound (train)"), on as many panels as their scales need, and the discrete
    /// validation bound L_<paramref name="validSamples"/> on a panel of its own, with an optional reference line.
    /// </summary>
    public static void WriteCurves(string stem, string title, IReadOnlyList<CurveGroup> groups, int validSamples,
        double? reference = null, string? referenceLabel = null)
    {
        var train = groups.Select((g, i) => new Series($"{g.Group.Label}: {g.TrainBound} (train)", i,
            Aggregate(g.Group.Runs.Select(run => run.Select(r => (r.Step, r.TrainBound)))))).Where(s => s.X.Length > 0).ToList();
        var valid = groups.Select((g, i) => new Series(g.Group.Label, i,
            Aggregate(g.Group.Runs.Select(run => run.Select(r => (r.Step, r.ValidBound)))))).Where(s => s.X.Length > 0).ToList();
        var panels = new List<Panel>();
        var trainGroups = GroupByScale(train);
        foreach (var (part, n) in trainGroups.Select((p, n) => (p, n)))
            panels.Add(new Panel(trainGroups.Count == 1 ? "training bound per step" : $"training bound per step ({n + 1} of {trainGroups.Count}: scales differ)",
                "nats (higher is better)", part));
        var validGroups = GroupByScale(valid);
        // the reference line goes with the validation panel nearest to it
        int nearest = reference is double y && validGroups.Count > 0
            ? validGroups.Select((part, n) => (n, Distance: part.Select(LateRange).Min(r => y < r.Lo ? r.Lo - y : y > r.Hi ? y - r.Hi : 0))).MinBy(p => p.Distance).n
            : -1;
        foreach (var (part, n) in validGroups.Select((p, n) => (p, n)))
            panels.Add(new Panel(validGroups.Count == 1 ? $"discrete L_{validSamples} (valid) per step" : $"discrete L_{validSamples} (valid) per step ({n + 1} of {validGroups.Count}: scales differ)",
                "nats (higher is better)", part, Reference: n == nearest ? new Reference(referenceLabel ?? "reference", reference!.Value) : null));
        if (panels.Count == 0) panels.Add(new Panel("training bound per step", "nats", []));
        Write(stem, title, panels, "step", legendOnEveryPanel: true);
    }

    /// <summary>
    /// Gradient diagnostics at <paramref name="stem"/>.png and .svg, one line per configuration: the mean per-element
    /// variance of the gradient and the mean signal-to-noise ratio (log scales), and the share of gradient elements
    /// that are exactly zero.
    /// </summary>
    public static void WriteDiagnostics(string stem, string title, IReadOnlyList<RunGroup<GradientRow>> groups, int draws)
    {
        List<Series> Of(Func<GradientRow, double> value, bool log) => groups.Select((g, i) => new Series(g.Label, i,
            Aggregate(g.Runs.Select(run => run.Select(r => (r.Step, log ? Log10(value(r)) : value(r))))))).Where(s => s.X.Length > 0).ToList();
        var panels = new List<Panel>
        {
            new($"gradient variance (mean over parameters, {draws} draws)", "variance", Of(r => r.Variance, log: true), Log: true),
            new("signal-to-noise ratio |E g| / sd g (mean over parameters)", "SNR", Of(r => r.SignalToNoise, log: true), Log: true),
            new("vanishing gradients (share of the gradient through the samples that is exactly 0)", "share of elements", Of(r => 100 * r.VanishingFraction, log: false), Percent: true),
        };
        Write(stem, title, panels, "step", legendOnEveryPanel: false);
    }

    static double Log10(double v) => v > 0 ? Math.Log10(v) : double.NaN;

    // ---- images --------------------------------------------------------------------------------

    /// <summary>
    /// Rows of images at <paramref name="stem"/>.png and .svg, each row labelled (data, reconstruction, sample, ...);
    /// every image is <paramref name="tileHeight"/> × <paramref name="tileWidth"/> pixels, 1 = white.
    /// </summary>
    public static void WriteImages(string stem, string title, IReadOnlyList<ImageRow> rows, int tileHeight, int tileWidth)
    {
        var grid = ImageGrid(rows, tileHeight, tileWidth, out int columns);
        int scale = Math.Max(2, 56 / Math.Max(tileHeight, tileWidth));
        var plot = NewPlot();
        var heatmap = plot.Add.Heatmap(grid);
        heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.Smooth = false;
        heatmap.NaNCellColor = Colors.White;
        heatmap.Extent = new CoordinateRect(0, grid.GetLength(1), 0, grid.GetLength(0));
        var labels = new ScottPlot.TickGenerators.NumericManual();
        for (int r = 0; r < rows.Count; r++)
            labels.AddMajor(grid.GetLength(0) - (1 + r * (tileHeight + 1) + tileHeight / 2.0), rows[r].Label);
        plot.Axes.Left.TickGenerator = labels;
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Left.TickLabelStyle.FontSize = 14;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.EmptyTickGenerator();
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Frame(false);
        plot.Grid.IsVisible = false;
        plot.Axes.SetLimits(0, grid.GetLength(1), 0, grid.GetLength(0));
        plot.Title(title, 13);
        float labelWidth = MeasureWidth(rows.Select(r => r.Label), 14) + 16;
        int width = (int)Math.Ceiling(labelWidth + grid.GetLength(1) * scale + 16), height = (int)Math.Ceiling(grid.GetLength(0) * scale + 40f + 16);
        width = Math.Max(width, (int)MeasureWidth([title], 13) + 24);
        float dataWidth = grid.GetLength(1) * scale, left = labelWidth + (width - labelWidth - 16 - dataWidth) / 2;
        plot.Layout.Fixed(new PixelPadding(left, width - left - dataWidth, 16, 40));
        Save(stem, width, height, (canvas, rect) => plot.Render(canvas, rect));
    }

    /// <summary>
    /// The rows of images side by side, one pixel of background (NaN) around every image: the heatmap of
    /// <see cref="WriteImages"/>, row 0 at the top.
    /// </summary>
    internal static double[,] ImageGrid(IReadOnlyList<ImageRow> rows, int tileHeight, int tileWidth, out int columns)
    {
        int features = tileHeight * tileWidth;
        if (rows.Count == 0) throw new ArgumentException("image figure: no rows.", nameof(rows));
        foreach (var row in rows)
            if (row.Values.Length == 0 || row.Values.Length % features != 0)
                throw new ArgumentException($"image figure: row '{row.Label}' has {row.Values.Length} values, not whole {tileHeight}×{tileWidth} images.", nameof(rows));
        columns = rows.Max(r => r.Values.Length / features);
        var grid = new double[rows.Count * (tileHeight + 1) + 1, columns * (tileWidth + 1) + 1];
        for (int y = 0; y < grid.GetLength(0); y++)
            for (int x = 0; x < grid.GetLength(1); x++) grid[y, x] = double.NaN;
        for (int r = 0; r < rows.Count; r++)
            for (int i = 0; i < rows[r].Values.Length / features; i++)
                for (int y = 0; y < tileHeight; y++)
                    for (int x = 0; x < tileWidth; x++)
                        grid[1 + r * (tileHeight + 1) + y, 1 + i * (tileWidth + 1) + x] = Math.Clamp(rows[r].Values[i * features + y * tileWidth + x], 0f, 1f);
        return grid;
    }

    // ---- panels --------------------------------------------------------------------------------

    internal sealed record Series(string Label, int StyleIndex, (double[] X, double[] Mean, double[]? Std) Data)
    {
        public double[] X => Data.X;
    }

    sealed record Reference(string Label, double Y);

    sealed record Panel(string Title, string YLabel, List<Series> Series, bool Log = false, bool Percent = false, Reference? Reference = null);

    /// <summary>
    /// Mean (and, with two or more runs, sample standard deviation) over the runs at every step that all of them logged
    /// with a finite value; steps in order.
    /// </summary>
    internal static (double[] X, double[] Mean, double[]? Std) Aggregate(IEnumerable<IEnumerable<(long Step, double Y)>> runs)
    {
        var byRun = runs.Select(run => run.Where(p => double.IsFinite(p.Y)).GroupBy(p => p.Step).ToDictionary(g => g.Key, g => g.Last().Y)).ToList();
        if (byRun.Count == 0) return ([], [], null);
        var steps = byRun.Skip(1).Aggregate(new HashSet<long>(byRun[0].Keys), (common, run) => { common.IntersectWith(run.Keys); return common; })
            .Order().ToArray();
        var mean = new double[steps.Length];
        var std = byRun.Count > 1 ? new double[steps.Length] : null;
        for (int i = 0; i < steps.Length; i++)
        {
            var ys = byRun.Select(run => run[steps[i]]).ToArray();
            mean[i] = ys.Average();
            if (std is not null) std[i] = Math.Sqrt(ys.Sum(y => (y - mean[i]) * (y - mean[i])) / (ys.Length - 1));
        }
        return (steps.Select(s => (double)s).ToArray(), mean, std);
    }

    /// <summary>
    /// Splits series into panels so that no series is flattened by another on a far scale: sorted by their level (the
    /// median of the later 90 % of steps), a series joins the current panel while the panel's span stays within three
    /// times the widest single series' span.
    /// </summary>
    internal static List<List<Series>> GroupByScale(List<Series> series)
    {
        var panels = new List<List<Series>>();
        var ordered = series.Select(s => (Series: s, Range: LateRange(s))).Where(s => s.Range.Lo <= s.Range.Hi).OrderBy(s => (s.Range.Lo + s.Range.Hi) / 2).ToList();
        List<Series>? current = null;
        double lo = 0, hi = 0, widest = 0;
        foreach (var (s, range) in ordered)
        {
            double span = Math.Max(range.Hi - range.Lo, 1e-9);
            double newLo = Math.Min(lo, range.Lo), newHi = Math.Max(hi, range.Hi), newWidest = Math.Max(widest, span);
            if (current is not null && newHi - newLo <= 3 * newWidest) { current.Add(s); (lo, hi, widest) = (newLo, newHi, newWidest); continue; }
            current = [s];
            panels.Add(current);
            (lo, hi, widest) = (range.Lo, range.Hi, span);
        }
        foreach (var panel in panels) panel.Sort((a, b) => a.StyleIndex.CompareTo(b.StyleIndex));
        return panels;
    }

    /// <summary>Range of a series (with its band) over the later 90 % of its steps: the first steps' transient is left out.</summary>
    static (double Lo, double Hi) LateRange(Series s)
    {
        if (s.X.Length == 0) return (double.PositiveInfinity, double.NegativeInfinity);
        double x0 = s.X[0] + 0.1 * (s.X[^1] - s.X[0]);
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int i = 0; i < s.X.Length; i++)
        {
            if (s.X[i] < x0 && s.X.Length > 1) continue;
            double sd = s.Data.Std?[i] ?? 0;
            lo = Math.Min(lo, s.Data.Mean[i] - sd);
            hi = Math.Max(hi, s.Data.Mean[i] + sd);
        }
        return (lo, hi);
    }

    static void Write(string stem, string title, List<Panel> panels, string xLabel, bool legendOnEveryPanel)
    {
        var plots = panels.Select((p, i) => Build(p, i == panels.Count - 1 ? xLabel : null, legend: legendOnEveryPanel || i == 0)).ToList();
        // Room on the right for the widest legend, so that every panel's data area has the same width.
        float right = MinRight;
        using (var paint = Paint.NewDisposablePaint())
            foreach (var legend in plots.Select(p => p.Legend).Where(l => l.ManualItems.Count > 0 && l.IsVisible == false))
                right = Math.Max(right, new ScottPlot.Panels.LegendPanel(legend).Measure(paint) + LegendGap);
        foreach (var plot in plots) plot.Layout.Fixed(new PixelPadding(Left, right, Bottom, Top));
        var header = NewPlot();
        header.Title(title, 14);
        header.Axes.Title.FullFigureCenter = true;
        header.HideAxesAndGrid();
        header.Axes.Title.IsVisible = true;
        header.Layout.Fixed(new PixelPadding(Left, right, 2, TitleHeight - 2));
        var figure = new Multiplot(header);
        foreach (var plot in plots) figure.AddPlot(plot);
        figure.Layout = new StackedRows(TitleHeight);
        if (plots.Count > 1) figure.SharedAxes.ShareX(plots);
        int width = Math.Max(Width, (int)Math.Ceiling(Left + 480 + right));
        Save(stem, width, TitleHeight + PanelHeight * plots.Count, (canvas, rect) => figure.Render(canvas, rect));
    }

    static Plot Build(Panel panel, string? xLabel, bool legend)
    {
        var plot = NewPlot();
        plot.Title(panel.Title, 13);
        plot.YLabel(panel.YLabel, 12);
        if (xLabel is not null) plot.XLabel(xLabel, 12);
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity, xMin = double.PositiveInfinity, xMax = double.NegativeInfinity;
        foreach (var s in panel.Series)
        {
            var (color, marker) = Style(s.StyleIndex);
            var (xs, mean, std) = s.Data;
            if (std is not null && xs.Length > 1)
            {
                var band = plot.Add.FillY(xs, mean.Zip(std, (m, d) => m - d).ToArray(), mean.Zip(std, (m, d) => m + d).ToArray());
                band.FillColor = color.WithAlpha(0.18);
                band.LineWidth = 0;
                band.LineColor = Colors.Transparent;
            }
            var line = plot.Add.ScatterLine(xs, mean, color);
            line.LineWidth = 1.6f;
            // Markers on at most 12 points, shifted per series so that markers of different lines do not coincide.
            int every = Math.Max(1, (int)Math.Ceiling(xs.Length / 12.0)), offset = every > 1 ? s.StyleIndex * 3 % every : 0;
            var at = Enumerable.Range(0, xs.Length).Where(i => (i - offset) % every == 0 && i >= offset).ToArray();
            var marks = plot.Add.ScatterPoints(at.Select(i => xs[i]).ToArray(), at.Select(i => mean[i]).ToArray(), color);
            marks.MarkerShape = marker;
            marks.MarkerSize = 7;
            plot.Legend.ManualItems.Add(new LegendItem
            {
                LabelText = s.Label + (std is null ? "" : $" (mean ± sd)"),
                LineColor = color, LineWidth = 1.6f, MarkerShape = marker, MarkerColor = color, MarkerSize = 7,
            });
            var (a, b) = LateRange(s);
            lo = Math.Min(lo, a); hi = Math.Max(hi, b);
            xMin = Math.Min(xMin, xs[0]); xMax = Math.Max(xMax, xs[^1]);
        }
        if (panel.Reference is { } reference)
        {
            var h = plot.Add.HorizontalLine(reference.Y, 1.4f, Colors.Black);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = reference.Label, LineColor = Colors.Black, LineWidth = 1.4f });
            lo = Math.Min(lo, reference.Y); hi = Math.Max(hi, reference.Y);
        }
        if (panel.Percent)
        {
            // shares from 0 up: a flat zero line sits at the bottom of a 0–1 % axis
            double top = Math.Min(100, Math.Max(1, hi * 1.08));
            plot.Axes.SetLimitsY(-0.03 * top, top);
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = y => FormattableString.Invariant($"{y:0.##} %") };
        }
        else if (lo <= hi)
        {
            double pad = Math.Max(0.06 * (hi - lo), panel.Log ? 0.05 : 1e-6 * Math.Max(1, Math.Abs(hi)));
            plot.Axes.SetLimitsY(lo - pad, hi + pad);
            if (panel.Log)
            {
                var ticks = new ScottPlot.TickGenerators.NumericManual();
                foreach (var (at, label) in LogTicks(lo - pad, hi + pad))
                    if (label is null) ticks.AddMinor(at); else ticks.AddMajor(at, label);
                plot.Axes.Left.TickGenerator = ticks;
            }
        }
        if (xMin <= xMax) plot.Axes.SetLimitsX(xMin, xMax + Math.Max(1e-9, 0.01 * (xMax - xMin)));
        plot.Legend.FontSize = 12;
        if (legend && plot.Legend.ManualItems.Count > 0)
        {
            var beside = plot.ShowLegend(Edge.Right);   // hides the legend inside the data area
            beside.Alignment = Alignment.UpperLeft;
            beside.Padding = new PixelPadding(LegendGap, 0, 0, 0);
        }
        else
        {
            plot.HideLegend();
            plot.Legend.ManualItems.Clear();
        }
        return plot;
    }

    /// <summary>
    /// Ticks of an axis that holds log10 of the values, labelled with the values: every integer × 10^k within one decade,
    /// 1, 2 and 5 × 10^k within three, else every decade; minor ticks at the other integers × 10^k.
    /// </summary>
    internal static List<(double Position, string? Label)> LogTicks(double lo, double hi)
    {
        var ticks = new List<(double, string?)>();
        bool fine = hi - lo <= 3, everyDigit = hi - lo <= 1;
        for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
            for (int d = 1; d <= 9; d++)
            {
                double at = k + Math.Log10(d);
                if (at < lo || at > hi) continue;
                double v = d * Math.Pow(10, k);
                if (d == 1 || (fine && d is 2 or 5) || everyDigit)
                    ticks.Add((at, v.ToString(k is >= -3 and <= 3 ? "0.###" : "0E+0", System.Globalization.CultureInfo.InvariantCulture)));
                else ticks.Add((at, null));
            }
        return ticks;
    }

    static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(Font.Value);
        return plot;
    }

    static float MeasureWidth(IEnumerable<string> texts, float size)
    {
        using var paint = Paint.NewDisposablePaint();
        paint.SKTypeface = Fonts.GetTypeface(Font.Value, false, false);
        paint.TextSize = size;
        return texts.Select(t => paint.MeasureText(t).Width).DefaultIfEmpty(0).Max();
    }

    /// <summary>
    /// DejaVu Sans when it is installed, else the first font found. Skia looks for fonts under /usr/share/fonts; without
    /// any it draws no text at all, so that is an error rather than a picture without labels.
    /// </summary>
    static string PickFont()
    {
        var families = SKFontManager.Default.FontFamilies.Where(f => f.Length > 0).ToList();
        string name = families.Contains("DejaVu Sans") ? "DejaVu Sans" : families.FirstOrDefault() ?? "";
        using var typeface = SKTypeface.FromFamilyName(name);
        if (typeface is null || typeface.GlyphCount == 0)
            throw new InvalidOperationException("plots: no fonts found under /usr/share/fonts, so no text could be drawn; install one (on Debian: apt-get install fonts-dejavu-core).");
        return name;
    }

    /// <summary>Renders the figure twice, to stem.png and stem.svg, each written under a temporary name and then renamed.</summary>
    static void Save(string stem, int width, int height, Action<SKCanvas, PixelRect> render)
    {
        var rect = new PixelRect(0, width, height, 0);
        using (var surface = SKSurface.Create(new SKImageInfo(width, height)))
        {
            surface.Canvas.Clear(SKColors.White);
            render(surface.Canvas, rect);
            using var image = surface.Snapshot();
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            AtomicFile.WriteAllBytes(stem + ".png", png.ToArray());
        }
        AtomicFile.Write(stem + ".svg", stream =>
        {
            using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
            canvas.Clear(SKColors.White);
            render(canvas, rect);
        });
    }

    /// <summary>A title strip of fixed height on top, then equal rows for the other plots.</summary>
    sealed class StackedRows(float titleHeight) : IMultiplotLayout
    {
        public PixelRect[] GetSubplotRectangles(SubplotCollection subplots, PixelRect figureRect)
        {
            int n = subplots.Count;
            var rects = new PixelRect[n];
            rects[0] = new PixelRect(figureRect.Left, figureRect.Right, figureRect.Top + titleHeight, figureRect.Top);
            float rowHeight = (figureRect.Height - titleHeight) / Math.Max(1, n - 1);
            for (int i = 1; i < n; i++)
            {
                float top = figureRect.Top + titleHeight + (i - 1) * rowHeight;
                rects[i] = new PixelRect(figureRect.Left, figureRect.Right, top + rowHeight, top);
            }
            return rects;
        }
    }
}
