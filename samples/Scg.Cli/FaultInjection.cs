namespace Scg.Cli;

/// <summary>
/// Pause points for the fault-injection tests, set by the environment variable SCG_FAULT_PAUSE: "step=N" pauses a
/// training run after step N (its metrics row and any checkpoint written), "checkpoint=N" halfway through writing the
/// checkpoint of step N. A paused run says so on stderr and waits for a signal: SIGKILL ends it there, SIGINT or
/// SIGTERM let it go on to stop as it always does.
/// </summary>
static class FaultInjection
{
    public const string Variable = "SCG_FAULT_PAUSE";
    static readonly Lazy<(string Kind, long Step)?> Setting = new(() => Parse(Environment.GetEnvironmentVariable(Variable)));

    static (string Kind, long Step)? Point => Setting.Value;

    static (string, long)? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var parts = text.Split('=');
        if (parts.Length != 2 || parts[0] is not ("step" or "checkpoint") || !long.TryParse(parts[1], out long step))
            throw new UsageException($"{Variable} must be step=N or checkpoint=N, got '{text}'.");
        return (parts[0], step);
    }

    /// <summary>Pauses when the run just finished step <paramref name="step"/> and a pause is set there.</summary>
    public static void AfterStep(Ui ui, long step)
    {
        if (Point == ("step", step)) Pause(ui, $"after step {step}");
    }

    /// <summary>The checkpoint stream of step <paramref name="step"/>: <paramref name="file"/> itself, or one that pauses halfway.</summary>
    public static Stream CheckpointStream(Ui ui, Stream file, long step) =>
        Point == ("checkpoint", step) ? new PausingStream(file, () => Pause(ui, $"while writing the checkpoint of step {step}")) : file;

    static void Pause(Ui ui, string where)
    {
        ui.Error.WriteLine($"scg: paused for fault injection {where}");
        ui.Error.Flush();
        ui.Stop.Wait();
    }

    /// <summary>Writes the first half of the first write through to the file, pauses, then goes on.</summary>
    sealed class PausingStream(Stream inner, Action pause) : Stream
    {
        bool _paused;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!_paused && buffer.Length > 1)
            {
                _paused = true;
                inner.Write(buffer[..(buffer.Length / 2)]);
                inner.Flush();
                pause();
                buffer = buffer[(buffer.Length / 2)..];
            }
            inner.Write(buffer);
        }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
