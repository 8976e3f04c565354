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
/// Where the program talks. Results (tables, the reproduction's markdown) go to stdout: a Spectre console with rounded
/// tables when stdout is a terminal, markdown otherwise. Progress, notes and errors go to stderr: live progress bars
/// when stderr is a terminal, plain progress lines otherwise (in CI, under test, or redirected to a log).
/// </summary>
sealed class Ui
{
    public IAnsiConsole Console { get; }
    IAnsiConsole ErrorConsole { get; }
    public TextWriter Out { get; }
    public TextWriter Error { get; }
    /// <summary>stdout is a terminal: tables are drawn.</summary>
    public bool Interactive { get; }
    /// <summary>stderr is a terminal: progress is a live display.</summary>
    public bool LiveProgress { get; }
    /// <summary>SIGINT and SIGTERM, as far as they were caught.</summary>
    public StopSignal Stop { get; }
    /// <summary>The command line that started the program, quoted for a shell (for "rerun the same command" hints).</summary>
    public string CommandLine { get; }

    public Ui(TextWriter stdout, TextWriter stderr, bool interactive, bool liveProgress = false, StopSignal? stop = null, string commandLine = "scg")
    {
        Out = stdout;
        Error = stderr;
        Interactive = interactive;
        LiveProgress = liveProgress;
        Stop = stop ?? new StopSignal();
        CommandLine = commandLine;
        Console = CreateConsole(stdout, interactive);
        ErrorConsole = CreateConsole(stderr, liveProgress);
    }

    static IAnsiConsole CreateConsole(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = 160;
        return console;
    }

    /// <summary>True when stdout (or stderr) is a terminal and CI is not set: drawn tables and live progress bars are safe there.</summary>
    public static bool IsTerminal(bool stderr)
    {
        string? ci = Environment.GetEnvironmentVariable("CI");
        bool inCi = !string.IsNullOrEmpty(ci) && !ci.Equals("false", StringComparison.OrdinalIgnoreCase) && ci != "0";
        bool redirected = stderr ? System.Console.IsErrorRedirected : System.Console.IsOutputRedirected;
        return !redirected && !inCi && Environment.GetEnvironmentVariable("TERM") != "dumb";
    }

    /// <summary>A line of the results on stdout (wrapped to the terminal when interactive, as is otherwise).</summary>
    public void Line(string text = "")
    {
        if (Interactive) Console.WriteLine(text, Style.Plain);
        else { Out.WriteLine(text); Out.Flush(); }
    }

    /// <summary>A line about what the program does (settings, files written) on stderr.</summary>
    public void Note(string text)
    {
        if (LiveProgress) ErrorConsole.WriteLine(text, Style.Plain);
        else { Error.WriteLine(text); Error.Flush(); }
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
        if (!LiveProgress)
        {
            var plain = new PlainReporter(this, title, total);
            T result = work(plain);
            plain.Finish();
            return result;
        }
        var status = new StatusColumn();
        return ErrorConsole.Progress()
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

    /// <summary>One line on stderr at every tenth of the work (and at least every 15 s), with the status and an ETA.</summary>
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
            ui.Error.WriteLine($"{title}: {done}/{total} ({pct}%)  {_status}{eta}".TrimEnd());
            ui.Error.Flush();
        }

        public void Finish() => Print(total);
    }

    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}" : $"{t.Minutes}:{t.Seconds:00}";
    }
}
