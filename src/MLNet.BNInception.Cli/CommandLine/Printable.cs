using System.Globalization;
using System.Text;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// Text for a message on a terminal. What a message quotes from a file (a header, a line of an
/// output) may be anything, a binary file's bytes included: its control characters would ring the
/// bell, move the cursor or cut the line, and a file without line breaks would fill the screen.
/// </summary>
internal static class Printable
{
    /// <summary>The most characters of a file's content a message quotes.</summary>
    public const int ContentLimit = 120;

    /// <summary><paramref name="content"/> from a file, its control characters escaped (\x00), in at most <paramref name="limit"/> characters and "…".</summary>
    public static string Content(string content, int limit = ContentLimit)
    {
        var text = new StringBuilder(Math.Min(content.Length, limit) + 1);
        for (int i = 0; i < content.Length; i++)
        {
            char c = content[i];
            int length = char.IsControl(c) ? 4 : char.IsHighSurrogate(c) && i + 1 < content.Length ? 2 : 1;
            if (text.Length + length > limit)
            {
                return text.Append('…').ToString();
            }

            if (char.IsControl(c))
            {
                text.Append(@"\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(content, i, length);
                i += length - 1;
            }
        }

        return text.ToString();
    }

    /// <summary><paramref name="text"/> with every control character (C0, DEL, C1) written as \xNN, line breaks included.</summary>
    public static string Escaped(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (char.IsControl(c))
            {
                escaped.Append(@"\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
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
    /// characters as \xNN: a name may hold a comma, a space, a quote or a line break.
    /// </summary>
    public static string QuotedName(string name) =>
        $"'{Escaped(name.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("'", @"\'", StringComparison.Ordinal))}'";
}
