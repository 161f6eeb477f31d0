using System.Globalization;

namespace MLNet.BNInception.Programs;

/// <summary>
/// How this project's programs (the bninception tool, the demo, the experiments, the benchmarks)
/// read and write numbers: alike on every machine, whatever its locale. .NET takes the culture from
/// LC_ALL, LC_MESSAGES or LANG, and under de_DE.UTF-8 a point groups thousands: <c>--lr 0.01</c>
/// would train at 1, and a chart, a confusion table or a summary line would print 0,01. What the
/// programs write is read by scripts and compared between machines, and their words are English, so
/// they run in the invariant culture. One source file compiled into each program (src/Shared): it is
/// no part of the library's API, and a library leaves its caller's culture alone.
/// </summary>
internal static class ProgramCulture
{
    /// <summary>
    /// Makes the invariant culture this process's, for formatting and for messages (System.CommandLine's
    /// own are translated otherwise), on this thread and every thread started after; the first thing a
    /// program's Main does.
    /// </summary>
    public static void UseInvariant()
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
    }

    /// <summary>
    /// Reads <paramref name="text"/> as a decimal number the way the programs' options take one: a
    /// point for decimals, an exponent allowed, no thousands separators (which would read 0,5 as 5).
    /// </summary>
    public static bool TryParseDecimal(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    /// <summary>
    /// The message for <paramref name="text"/> given to <paramref name="option"/> where a decimal
    /// number belongs; a decimal comma gets the same number written with a point.
    /// </summary>
    public static string NotADecimal(string option, string text)
    {
        string withPoint = text.Replace(',', '.');
        // 1,000 is more likely a thousand than a decimal comma: it gets the general example.
        int comma = text.IndexOf(',', StringComparison.Ordinal);
        bool decimalComma = comma >= 0 && text.Length - comma - 1 != 3;
        string example = decimalComma && text.Count(c => c == ',') == 1 && !text.Contains('.', StringComparison.Ordinal) && TryParseDecimal(withPoint, out _)
            ? withPoint
            : "as in 0.5 or 1e-5";
        return $"{option} '{text}' is not a number: write decimals with a point, {example}";
    }
}
