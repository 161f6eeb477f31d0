using System.Globalization;
using System.Text;
using MLNet.BNInception.IO;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// Text for a message on a terminal. What a message quotes from a file (a header, a line of an
/// output) may be anything, a binary file's bytes included: its control characters would ring the
/// bell, move the cursor or cut the line, and a file without line breaks would fill the screen.
/// Unicode's bidirectional formatting characters are escaped too: a terminal that applies the
/// bidirectional algorithm would show the rest of the line reversed or reordered (the "Trojan
/// Source" characters, CVE-2021-42574), so a class name or path could show as another.
/// </summary>
internal static class Printable
{
    /// <summary>The most characters of a file's content a message quotes.</summary>
    public const int ContentLimit = 120;

    /// <summary>
    /// The most characters of a path from a list a message quotes: Linux opens no longer path (PATH_MAX), so only a
    /// path that names no file is cut, and a row of megabytes does not make a message of megabytes.
    /// </summary>
    public const int PathLimit = 4096;

    /// <summary>The most characters of a whole message line (<see cref="BnInceptionCommandLine.OneLine"/>): its paths and their details fit.</summary>
    public const int MessageLimit = 4 * PathLimit;

    /// <summary>An image path from a list, for a message: printable (<see cref="FileNameBytes.Printable"/>, <see cref="Content"/>) and at most <see cref="PathLimit"/> characters.</summary>
    public static string FilePath(string path) => Content(FileNameBytes.Printable(path), PathLimit);

    /// <summary>
    /// What the library says of a path (it quotes the path), at most twice <see cref="PathLimit"/> characters: a line
    /// break is escaped (\x0A) as in the path, not made a space, since 'gone x.png' could be another file.
    /// </summary>
    public static string PathDetail(string detail) => Content(detail.Trim(), 2 * PathLimit);

    /// <summary><paramref name="content"/> from a file, its control and bidirectional formatting characters escaped (\x00, \u202E), in at most <paramref name="limit"/> characters and "…".</summary>
    public static string Content(string content, int limit = ContentLimit)
    {
        var text = new StringBuilder(Math.Min(content.Length, limit) + 1);
        for (int i = 0; i < content.Length; i++)
        {
            char c = content[i];
            int length = IsEscaped(c) ? EscapeLength(c) : char.IsHighSurrogate(c) && i + 1 < content.Length ? 2 : 1;
            if (text.Length + length > limit)
            {
                return text.Append('…').ToString();
            }

            if (IsEscaped(c))
            {
                AppendEscape(text, c);
            }
            else
            {
                text.Append(content, i, length);
                i += length - 1;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// <paramref name="text"/> with every control character (C0, DEL, C1) written as \xNN, line
    /// breaks included, and the line and paragraph separators and every bidirectional formatting
    /// character as \uNNNN.
    /// </summary>
    public static string Escaped(string text)
    {
        if (IsPlain(text))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (IsEscaped(c))
            {
                AppendEscape(escaped, c);
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

    /// <summary>
    /// A class name in single quotes, its backslashes and quotes escaped (\\ and \') and its control
    /// and bidirectional formatting characters as \xNN and \uNNNN: a name may hold a comma, a space,
    /// a quote or a line break.
    /// </summary>
    public static string QuotedName(string name) =>
        $"'{Escaped(name.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("'", @"\'", StringComparison.Ordinal))}'";

    /// <summary>
    /// "'a', 'b', … and 980 more classes; `bninception info` lists them all": the first 20 names quoted
    /// (<see cref="ClassNameList"/>), for a message about a model of 1,000 classes that must not be a
    /// line of 62 KB; every name where there are no more.
    /// </summary>
    public static string ClassNames(IReadOnlyList<string> names) =>
        ClassNameList.First(names, QuotedName) + (names.Count > ClassNameList.Listed ? "; `bninception info` lists them all" : "");

    /// <summary>Whether <paramref name="text"/> prints as it is: no character of it is escaped.</summary>
    public static bool IsPlain(string text) => !text.Any(IsEscaped);

    /// <summary>
    /// Whether <paramref name="c"/> is written as an escape: a control character, the line and
    /// paragraph separators (U+2028, U+2029: some terminals and viewers break the line there), or one
    /// of the characters that embed, override or isolate a direction (U+202A to U+202E, U+2066 to
    /// U+2069) or mark one (U+200E, U+200F, U+061C).
    /// </summary>
    private static bool IsEscaped(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029'
        || c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');

    private static int EscapeLength(char c) => c <= '\u00FF' ? 4 : 6;

    private static void AppendEscape(StringBuilder text, char c)
    {
        if (c <= '\u00FF')
        {
            text.Append(@"\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
        }
        else
        {
            text.Append(@"\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
        }
    }
}
