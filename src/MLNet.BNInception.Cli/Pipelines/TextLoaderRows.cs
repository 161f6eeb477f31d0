using System.Globalization;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// Where ML.NET's text loader, which feeds <c>train</c> and <c>evaluate</c>'s pipelines, reads other rows than the tool's
/// CSV reader, which counts them, names their lines and reads <c>score</c>'s input. The loader takes lines for comments:
/// a record whose text starts with "//" is left out, and while the loader looks for the header it also passes over a
/// line that starts with '#', then takes the next line for the header (TextLoader's cursor, ML.NET 6.0; it has no
/// option to turn this off). <c>train</c> and <c>evaluate</c> refuse such a list before any image is read: an absolute
/// path written "//data/a.png" would otherwise be trained or evaluated without, and only the row counts would differ.
/// </summary>
internal static class TextLoaderRows
{
    /// <summary>The header of <paramref name="path"/>: its first line that is not empty, as the text loader reads lines.</summary>
    /// <exception cref="CommandLineException">The header starts with '#' or "//".</exception>
    public static void RefuseHeader(string path)
    {
        // A StreamReader, as the loader's: the same line breaks, and a byte order mark is not part of the text.
        using var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        long line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            string? prefix = text.StartsWith("//", StringComparison.Ordinal) ? "//" : text[0] == '#' ? "#" : null;
            if (prefix is not null)
            {
                throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                    $"'{path}', line {line}: the header starts with '{prefix}', which ML.NET's text loader takes for a comment: it would read the next line as the header, ") +
                    $"and that row would be lost. Rename the first column without its leading '{prefix}'");
            }

            return;
        }
    }

    /// <summary>A data row, given as its record's bytes as the file holds them.</summary>
    /// <exception cref="CommandLineException">The record starts with "//".</exception>
    public static void RefuseRow(string path, ReadOnlySpan<byte> record, long row, long line)
    {
        if (record.StartsWith("//"u8))
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{path}', row {row} (counting from 0), line {line}: the row starts with '//', which ML.NET's text loader takes for a comment and would leave out ") +
                "without a word. Put its first field in quotes (\"//…\"), or write a path there with one leading slash");
        }
    }

    /// <summary>
    /// The rows ML.NET's text loader reads, <paramref name="loaderRows"/>, against the CSV reader's,
    /// <paramref name="csvRows"/>. Once the comment-like lines are refused, one cause is known to remain: a quoted field
    /// that holds line breaks and has spaces before its opening quote is one row to the loader (it passes over spaces
    /// that open a field) and several to the CSV reader.
    /// </summary>
    /// <exception cref="CommandLineException">The two counts differ.</exception>
    public static void RefuseOtherRowCount(string path, long csvRows, long loaderRows)
    {
        if (loaderRows != csvRows)
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{path}': ML.NET's text loader, which reads the list for training and evaluation, finds {loaderRows:N0} rows in it, where the CSV reader finds {csvRows:N0}; ") +
                "rows would be lost, or named by lines not their own. A quoted field that holds a line break and has spaces before its opening quote " +
                "is one row to the loader and more to the CSV reader: remove the spaces before the quote");
        }
    }
}
