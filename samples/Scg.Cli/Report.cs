using System.Globalization;
using System.Text;
using Spectre.Console;

namespace Scg.Cli;

/// <summary>A table of strings, printed with Spectre.Console or written as markdown.</summary>
sealed class TextTable(string[] headers)
{
    public string[] Headers { get; } = headers;
    public List<string[]> Rows { get; } = [];
    public string? Caption { get; init; }

    public void Add(params string[] cells) => Rows.Add(cells);

    public string Markdown()
    {
        var sb = new StringBuilder();
        sb.Append("| ").AppendJoin(" | ", Headers).Append(" |\n");
        sb.Append('|').AppendJoin("|", Headers.Select(_ => "---")).Append("|\n");
        foreach (var r in Rows) sb.Append("| ").AppendJoin(" | ", r.Select(c => c.Replace("|", "\\|"))).Append(" |\n");
        if (Caption is not null) sb.Append('\n').Append(Caption).Append('\n');
        return sb.ToString();
    }
}

static class Report
{
    /// <summary>One row per run: the final bounds, NLLs, gradient variance and speed.</summary>
    public static TextTable Summary(IReadOnlyList<RunResult> results, double? trueNll, int gradientDraws)
    {
        bool exact = results.Any(r => r.ExactModelNll is not null);
        bool relaxed = results.Any(r => r.RelaxedTestBound is not null);
        bool vanishing = results.Any(r => r.Gradients.Any(g => double.IsFinite(g.VanishingFraction)));
        int k = results.Count > 0 ? results[0].TestSamples : 0;
        var headers = new List<string> { "estimator", "m", "steps", "train bound", $"test L_{k}" };
        if (relaxed) headers.Add("test relaxed bound");
        if (vanishing) headers.Add("vanishing gradients");
        if (exact) headers.Add("model NLL (exact)");
        if (trueNll is not null) headers.Add("true NLL");
        if (gradientDraws > 0) headers.Add("gradient variance");
        headers.Add("steps/s");
        var captions = new List<string>
        {
            $"train bound: the training objective's mean over the last logging interval (the relaxed bound for concrete and igr, the discrete L_m for the others); test L_{k}: the bound on the discrete graph over the whole test split (higher is better, -L_k ≥ NLL)" +
            (results.Any(r => r.Plan.Family.EvaluatesRelaxed)
                ? $"; with a log --relaxed-output the nodes pass log-scale values on, which have no discrete counterpart, so there the validation bound and test L_{k} score the relaxed model over relaxed draws."
                : "."),
        };
        if (relaxed) captions.Add("test relaxed bound: the relaxed bound the run trained (one relaxed draw per test row, at the final temperature; the test ELBO of the IGR paper), not a bound on the discrete model.");
        if (vanishing) captions.Add("vanishing gradients: the share of the gradient with respect to the latent nodes' parameters, through the drawn values, that was exactly 0, averaged over the validation passes of training (the IGR paper's Figure 4); — for score-function estimators, whose gradient does not flow through the drawn values.");
        if (exact) captions.Add("model NLL (exact): the trained model's test NLL by enumerating every latent state.");
        if (trueNll is not null) captions.Add("true NLL: the test NLL under the network that generated the data (no model of this size can do better on average).");
        if (gradientDraws > 0) captions.Add($"gradient variance: mean over parameters of the per-element variance of the estimator's gradient, {gradientDraws} draws on one fixed batch at the final parameters.");
        var table = new TextTable([.. headers]) { Caption = string.Join(" ", captions) };
        foreach (var r in results)
        {
            var cells = new List<string>
            {
                r.Plan.Choice.Name, r.Plan.Settings.Samples.ToString(CultureInfo.InvariantCulture), r.Trainer.StepCount.ToString(CultureInfo.InvariantCulture),
                Experiment.Num(r.FinalTrainBound, "F3"), Experiment.Num(r.TestBound, "F3"),
            };
            if (relaxed) cells.Add(r.RelaxedTestBound is double b ? Experiment.Num(b, "F3") : "—");
            if (vanishing) cells.Add(r.Gradients.Any(g => double.IsFinite(g.VanishingFraction)) ? (100 * r.Gradients.Average(g => g.VanishingFraction)).ToString("F2", CultureInfo.InvariantCulture) + "%" : "—");
            if (exact) cells.Add(r.ExactModelNll is double e ? Experiment.Num(e, "F3") : "—");
            if (trueNll is double t) cells.Add(Experiment.Num(t, "F3"));
            if (gradientDraws > 0) cells.Add(r.GradientVariance is double v ? v.ToString("0.###E+0", CultureInfo.InvariantCulture) : "—");
            cells.Add(Experiment.Num(r.StepsPerSecond, "F0"));
            table.Add([.. cells]);
        }
        return table;
    }

    /// <summary>A Spectre table on a terminal; the markdown text when the output is redirected.</summary>
    public static void Print(Ui ui, TextTable table)
    {
        if (!ui.Interactive)
        {
            ui.Line(table.Markdown());
            return;
        }
        var t = ui.NewTable(table.Headers);
        foreach (var c in t.Columns.Skip(1)) c.RightAligned();
        foreach (var r in table.Rows) t.AddRow(r.Select(Markup.Escape).ToArray());
        ui.Write(t);
        if (table.Caption is not null) ui.Line(table.Caption);
    }
}
