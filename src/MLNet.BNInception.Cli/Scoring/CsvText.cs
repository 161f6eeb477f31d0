using System.Text;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// Writes the fields the job adds to a row, by RFC 4180's rules: a field holding the separator, a
/// quote or a line break is quoted, its quotes doubled. (The input's own fields are copied as the
/// input holds them, quoting and all.)
/// </summary>
internal static class CsvText
{
    public static void AppendField(StringBuilder text, string value, char separator)
    {
        bool quote = value.AsSpan().IndexOfAny(['"', '\r', '\n', separator]) >= 0;
        if (!quote)
        {
            text.Append(value);
            return;
        }

        text.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary>The fields joined into one record, without the line break.</summary>
    public static string Record(IEnumerable<string> fields, char separator)
    {
        var text = new StringBuilder();
        bool first = true;
        foreach (string field in fields)
        {
            if (!first)
            {
                text.Append(separator);
            }

            AppendField(text, field, separator);
            first = false;
        }

        return text.ToString();
    }
}
