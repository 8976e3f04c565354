namespace Scg.Cli;

/// <summary>Command lines the user can paste into a shell.</summary>
static class Shell
{
    /// <summary>How the user started scg: the ./scg wrapper sets SCG_PROGRAM to the path it was called by.</summary>
    public static string Program => Environment.GetEnvironmentVariable("SCG_PROGRAM") is { Length: > 0 } p ? p : "scg";

    public static string Join(IEnumerable<string> words) => string.Join(' ', words.Select(Quote));

    /// <summary>The word as is when it holds only characters no shell treats specially, else in single quotes.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./=:,+@%".Contains(c)) ? word : "'" + word.Replace("'", "'\\''") + "'";
}
