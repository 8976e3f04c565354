using System.Globalization;
using System.Net;
using System.Text;

namespace Scg.Models.Reporting;

/// <summary>One line of a chart: (x, y) points in order of x, drawn solid or dashed.</summary>
public sealed record ChartSeries(string Name, IReadOnlyList<(double X, double Y)> Points, bool Dashed = false, int? ColorIndex = null);

/// <summary>
/// A line chart written as plain SVG: axes with "nice" ticks, one polyline per series, a legend. Non-finite points
/// are skipped. Colors cycle through a fixed palette; series that share a ColorIndex share a color.
/// </summary>
public sealed class SvgChart
{
    static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public int Width { get; init; } = 760;
    public int Height { get; init; } = 440;
    public List<ChartSeries> Series { get; } = [];

    const double Left = 78, Right = 190, Top = 40, Bottom = 56;

    public string Render()
    {
        var points = Series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        double xMin = points.Count > 0 ? points.Min(p => p.X) : 0, xMax = points.Count > 0 ? points.Max(p => p.X) : 1;
        double yMin = points.Count > 0 ? points.Min(p => p.Y) : 0, yMax = points.Count > 0 ? points.Max(p => p.Y) : 1;
        var xTicks = NiceTicks(ref xMin, ref xMax);
        var yTicks = NiceTicks(ref yMin, ref yMax);
        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
        double Py(double y) => Top + plotH - (y - yMin) / (yMax - yMin) * plotH;

        var sb = new StringBuilder();
        sb.Append(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        sb.Append(Inv($"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n"));
        if (Title.Length > 0)
            sb.Append(Inv($"<text x=\"{Left + plotW / 2:0.#}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{Esc(Title)}</text>\n"));
        // grid and ticks
        foreach (double t in xTicks)
        {
            double x = Px(t);
            sb.Append(Inv($"<line x1=\"{x:0.##}\" y1=\"{Top}\" x2=\"{x:0.##}\" y2=\"{Top + plotH}\" stroke=\"#e5e5e5\"/>\n"));
            sb.Append(Inv($"<text x=\"{x:0.##}\" y=\"{Top + plotH + 16}\" text-anchor=\"middle\">{Esc(Format(t))}</text>\n"));
        }
        foreach (double t in yTicks)
        {
            double y = Py(t);
            sb.Append(Inv($"<line x1=\"{Left}\" y1=\"{y:0.##}\" x2=\"{Left + plotW}\" y2=\"{y:0.##}\" stroke=\"#e5e5e5\"/>\n"));
            sb.Append(Inv($"<text x=\"{Left - 6}\" y=\"{y + 4:0.##}\" text-anchor=\"end\">{Esc(Format(t))}</text>\n"));
        }
        sb.Append(Inv($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotW}\" height=\"{plotH}\" fill=\"none\" stroke=\"#333\"/>\n"));
        if (XLabel.Length > 0)
            sb.Append(Inv($"<text x=\"{Left + plotW / 2:0.#}\" y=\"{Height - 14}\" text-anchor=\"middle\">{Esc(XLabel)}</text>\n"));
        if (YLabel.Length > 0)
            sb.Append(Inv($"<text x=\"18\" y=\"{Top + plotH / 2:0.#}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {Top + plotH / 2:0.#})\">{Esc(YLabel)}</text>\n"));

        for (int i = 0; i < Series.Count; i++)
        {
            var s = Series[i];
            string color = Palette[(s.ColorIndex ?? i) % Palette.Length];
            string dash = s.Dashed ? " stroke-dasharray=\"6 4\"" : "";
            var coords = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y))
                .Select(p => Inv($"{Px(p.X):0.##},{Py(p.Y):0.##}")).ToList();
            if (coords.Count == 1)
                sb.Append(Inv($"<circle cx=\"{coords[0].Split(',')[0]}\" cy=\"{coords[0].Split(',')[1]}\" r=\"3\" fill=\"{color}\"/>\n"));
            else if (coords.Count > 1)
                sb.Append(Inv($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\"{dash} points=\"{string.Join(' ', coords)}\"/>\n"));
            double ly = Top + 14 + 20 * i, lx = Left + plotW + 14;
            sb.Append(Inv($"<line x1=\"{lx}\" y1=\"{ly - 4}\" x2=\"{lx + 24}\" y2=\"{ly - 4}\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>\n"));
            sb.Append(Inv($"<text x=\"{lx + 30}\" y=\"{ly}\">{Esc(s.Name)}</text>\n"));
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    public void Write(string path) => AtomicFile.WriteAllText(path, Render());

    /// <summary>Ticks at 1, 2 or 5 × 10^k spacing; widens [min, max] to whole ticks (and away from a zero span).</summary>
    internal static List<double> NiceTicks(ref double min, ref double max, int target = 6)
    {
        if (max - min < 1e-12 * Math.Max(1, Math.Abs(max))) { min -= 0.5 * Math.Max(1, Math.Abs(min) * 0.01); max += 0.5 * Math.Max(1, Math.Abs(max) * 0.01); }
        double raw = (max - min) / target, magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw))), f = raw / magnitude;
        double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
        min = Math.Floor(min / step) * step;
        max = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (double t = min; t <= max + step * 1e-9; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks;
    }

    static string Format(double v) => Math.Abs(v) >= 1e5 || (Math.Abs(v) < 1e-3 && v != 0)
        ? v.ToString("0.##E0", CultureInfo.InvariantCulture)
        : v.ToString("0.####", CultureInfo.InvariantCulture);

    static string Esc(string s) => WebUtility.HtmlEncode(s);

    static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
