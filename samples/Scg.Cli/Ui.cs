using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Scg.Cli;

/// <summary>Reports progress of one long piece of work.</summary>
interface IProgressReporter
{
    /// <summary><paramref name="done"/> of the total units are finished; <paramref name="status"/> is plain text (bound, steps/s).</summary>
    void Report(long done, string status);
}

/// <summary>
/// Where the program talks: a Spectre console on stdout (live progress bars and rounded tables when interactive;
/// plain progress lines and markdown tables when the output is redirected, in CI or under test) and stderr for errors.
/// </summary>
sealed class Ui
{
    public IAnsiConsole Console { get; }
    public TextWriter Out { get; }
    public TextWriter Error { get; }
    public bool Interactive { get; }

    public Ui(TextWriter stdout, TextWriter stderr, bool interactive)
    {
        Out = stdout;
        Error = stderr;
        Interactive = interactive;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive) Console.Profile.Width = 160;
    }

    /// <summary>True when stdout is a terminal and CI is not set: live progress bars are safe.</summary>
    public static bool DetectInteractive()
    {
        string? ci = Environment.GetEnvironmentVariable("CI");
        bool inCi = !string.IsNullOrEmpty(ci) && !ci.Equals("false", StringComparison.OrdinalIgnoreCase) && ci != "0";
        return !System.Console.IsOutputRedirected && !inCi && Environment.GetEnvironmentVariable("TERM") != "dumb";
    }

    /// <summary>A line of plain text (wrapped to the terminal when interactive, as is otherwise).</summary>
    public void Line(string text = "")
    {
        if (Interactive) Console.WriteLine(text, Style.Plain);
        else { Out.WriteLine(text); Out.Flush(); }
    }

    public void Write(IRenderable renderable) => Console.Write(renderable);

    public Table NewTable(params string[] columns)
    {
        var table = new Table { Border = Interactive ? TableBorder.Rounded : TableBorder.Markdown };
        foreach (string c in columns) table.AddColumn(new TableColumn(Markup.Escape(c)));
        return table;
    }

    /// <summary>Runs <paramref name="work"/> with a progress bar over <paramref name="total"/> units.</summary>
    public T Progress<T>(string title, long total, Func<IProgressReporter, T> work)
    {
        if (!Interactive)
        {
            var plain = new PlainReporter(this, title, total);
            T result = work(plain);
            plain.Finish();
            return result;
        }
        var status = new StatusColumn();
        return Console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 24 }, new PercentageColumn(),
                new RemainingTimeColumn(), status)
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(1, total));
                T result = work(new SpectreReporter(task, status));
                task.Value = task.MaxValue;
                task.StopTask();
                return result;
            });
    }

    sealed class SpectreReporter(ProgressTask task, StatusColumn column) : IProgressReporter
    {
        public void Report(long done, string status)
        {
            column.Status = status;
            task.Value = Math.Min(done, task.MaxValue);
        }
    }

    /// <summary>The live numbers of a task (bound, steps/s), last so that a narrow terminal crops them rather than the bar.</summary>
    sealed class StatusColumn : ProgressColumn
    {
        public volatile string Status = "";

        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(Status, Style.Plain) { Overflow = Overflow.Ellipsis };
    }

    /// <summary>One line at every tenth of the work (and at least every 15 s), with the status and an ETA.</summary>
    sealed class PlainReporter(Ui ui, string title, long total) : IProgressReporter
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        long _lastDone = -1, _firstDone = -1;
        int _lastTenth = -1;
        double _lastPrint;
        string _status = "";

        public void Report(long done, string status)
        {
            _status = status;
            if (_firstDone < 0) { _firstDone = done; _clock.Restart(); }
            int tenth = total <= 0 ? 10 : (int)(10 * done / total);
            double now = _clock.Elapsed.TotalSeconds;
            if (tenth > _lastTenth || now - _lastPrint >= 15) Print(done);
            _lastTenth = Math.Max(_lastTenth, tenth);
        }

        void Print(long done)
        {
            if (done == _lastDone) return;
            _lastDone = done;
            double now = _clock.Elapsed.TotalSeconds;
            _lastPrint = now;
            string eta = done > _firstDone && done < total ? $"  ETA {Duration(now / (done - _firstDone) * (total - done))}" : "";
            string pct = total > 0 ? (100.0 * done / total).ToString("0", CultureInfo.InvariantCulture) : "100";
            ui.Out.WriteLine($"{title}: {done}/{total} ({pct}%)  {_status}{eta}".TrimEnd());
            ui.Out.Flush();
        }

        public void Finish() => Print(total);
    }

    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
    }
}
