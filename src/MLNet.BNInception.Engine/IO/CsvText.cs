using System.Text;

namespace MLNet.BNInception.Engine.IO;

/// <summary>
/// The one way fields are written to a CSV file here, by RFC 4180's rules: a field that holds the
/// separator, a quote or a line break (CR or LF) is quoted, its quotes doubled; so is a field that
/// starts with a space, which ML.NET's text loader passes over unquoted (" Dress" would read back as
/// "Dress"; CsvHelper and RFC 4180 keep it); any other field is written as it is.
/// </summary>
/// <remarks>
/// The scoring job writes its output header and its added fields with this rule and checks, on
/// <c>--resume</c>, that an output's header is the one it writes: a change to the rule is a change to
/// the bytes of every output, and makes outputs written before it impossible to resume.
/// </remarks>
internal static class CsvText
{
    /// <summary>Appends <paramref name="value"/> to <paramref name="text"/> as one field, quoted when it must be.</summary>
    public static void AppendField(StringBuilder text, string value, char separator = ',')
    {
        if (value.AsSpan().IndexOfAny(['"', '\r', '\n', separator]) < 0 && !value.StartsWith(' '))
        {
            text.Append(value);
            return;
        }

        text.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary><paramref name="value"/> as one field, quoted when it must be.</summary>
    public static string Field(string value, char separator = ',')
    {
        var text = new StringBuilder(value.Length + 2);
        AppendField(text, value, separator);
        return text.ToString();
    }

    /// <summary>The fields joined into one record, without the line break.</summary>
    public static string Record(IEnumerable<string> fields, char separator = ',')
    {
        ArgumentNullException.ThrowIfNull(fields);
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
