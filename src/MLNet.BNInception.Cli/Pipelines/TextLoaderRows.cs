using System.Globalization;
using CsvHelper;
using Microsoft.ML;
using Microsoft.ML.Data;
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

    /// <summary>Row <paramref name="row"/> of the CSV reader, which the header says has <paramref name="headerFields"/> fields (null: not checked).</summary>
    /// <exception cref="CommandLineException">The record starts with "//", or has another number of fields than the header.</exception>
    public static void RefuseRow(string path, CsvReader reader, long row, int? headerFields, char separator)
    {
        if (reader.RawRecord.StartsWith("//"u8))
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{path}', row {row} (counting from 0), line {reader.LineNumber}: the row starts with '//', which ML.NET's text loader takes for a comment and would leave out ") +
                "without a word. Put its first field in quotes (\"//…\"), or write a path there with one leading slash");
        }

        // ML.NET's loader reads the fields its columns name and ignores the rest: a label with the separator in it,
        // unquoted, would be cut short there into a class of its own ('T-shirt, top' read as 'T-shirt').
        if (headerFields is { } fields && reader.FieldCount != fields)
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{path}', row {row} (counting from 0), line {reader.LineNumber}: the row has {reader.FieldCount} field{(reader.FieldCount == 1 ? "" : "s")} and the header {fields}, ") +
                $"so its values would be read from the wrong fields or cut short. Quote a field that holds the separator ({CsvHeader.Name(separator)}), and give every row the header's fields");
        }
    }

    /// <summary>
    /// The list read again by ML.NET's text loader, with the options <c>train</c> and <c>evaluate</c> load it with,
    /// beside the CSV reader: the loader must find <paramref name="csvRows"/> rows, and where <paramref name="pathColumn"/>
    /// is given, the same path in each. The loader passes over spaces that open a field (", a.png" is "a.png" to it and
    /// " a.png" to the CSV reader and score), and reads a field with text after its closing quote as empty; and a quoted
    /// field with a line break after such spaces is one row to it, two to the CSV reader.
    /// </summary>
    /// <exception cref="CommandLineException">The loader reads other rows, or another path in a row.</exception>
    public static void RefuseOtherRows(string path, char separator, long csvRows, int? pathColumn)
    {
        IDataView loaded = TrainingList.Load(new MLContext(), path, [new TextLoader.Column("Path", DataKind.String, pathColumn ?? 0)], separator);
        using DataViewRowCursor cursor = loaded.GetRowCursor(pathColumn is null ? [] : loaded.Schema);
        ValueGetter<ReadOnlyMemory<char>>? getPath = pathColumn is null ? null : cursor.GetGetter<ReadOnlyMemory<char>>(loaded.Schema[0]);
        using CsvReader reader = RowCount.OpenList(path, separator);
        ReadOnlyMemory<char> loaderPath = default;
        long loaderRows = 0;
        for (; cursor.MoveNext(); loaderRows++)
        {
            if (getPath is null || !reader.Read())
            {
                continue;
            }

            getPath(ref loaderPath);
            string csvPath = reader.GetString(pathColumn!.Value);
            if (!loaderPath.Span.SequenceEqual(csvPath))
            {
                throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                    $"'{path}', row {loaderRows} (counting from 0), line {reader.LineNumber}: ML.NET's text loader, which reads the list for training and evaluation, ") +
                    $"reads its image path as '{Printable.Content(loaderPath.ToString())}' where the CSV reader (and score) reads '{Printable.Content(csvPath)}'. " +
                    "The loader passes over spaces before a field and reads a field with text after its closing quote as empty: remove the spaces after the separator " +
                    "(quote a path that starts with a space), and quote whole fields");
            }
        }

        if (loaderRows != csvRows)
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{path}': ML.NET's text loader, which reads the list for training and evaluation, finds {loaderRows:N0} rows in it, where the CSV reader finds {csvRows:N0}; ") +
                "rows would be lost, or named by lines not their own. A quoted field that holds a line break and has spaces before its opening quote " +
                "is one row to the loader and more to the CSV reader: remove the spaces before the quote");
        }
    }
}
