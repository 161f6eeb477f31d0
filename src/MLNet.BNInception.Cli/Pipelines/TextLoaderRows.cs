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
    /// <summary>Refuses a header (the first line of <paramref name="path"/> that is not empty, as the text loader reads lines) that the loader would pass over.</summary>
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
                    $"'{Printable.Escaped(path)}', line {line}: the header starts with '{prefix}', which ML.NET's text loader takes for a comment: it would read the next line as the header, ") +
                    $"and that row would be lost. Rename the first column without its leading '{prefix}'");
            }

            return;
        }
    }

    /// <summary>Refuses row <paramref name="row"/> of the CSV reader where the loader would take it for a comment.</summary>
    /// <exception cref="CommandLineException">The record starts with "//".</exception>
    public static void RefuseRow(string path, CsvReader reader, long row)
    {
        if (reader.RawRecord.StartsWith("//"u8))
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{Printable.Escaped(path)}', row {row} (counting from 0), line {reader.LineNumber}: the row starts with '//', which ML.NET's text loader takes for a comment and would leave out ") +
                "without a word. Put its first field in quotes (\"//…\"), or write a path there with one leading slash");
        }
    }

    /// <summary>
    /// The list read again by ML.NET's text loader, with the options <c>train</c> and <c>evaluate</c> load it with,
    /// beside the CSV reader: the loader must find <paramref name="csvRows"/> rows; and where <paramref name="columns"/>
    /// are known (the path's field and the header's count of fields), the same path in each row, and no text beyond the
    /// header's fields. The loader passes over spaces that open a field (", a.png" is "a.png" to it and " a.png" to the
    /// CSV reader and score), reads a field with text after its closing quote as empty, and ignores the fields its
    /// columns do not name: an unquoted "T-shirt, top" would train a class "T-shirt". Fields the header has and a row
    /// leaves out are empty to it, which the label and path checks see; an empty field after the last (a row ending
    /// with the separator) holds nothing to lose.
    /// </summary>
    /// <exception cref="CommandLineException">The loader reads other rows, another path in a row, or text beyond the header's fields.</exception>
    public static void RefuseOtherRows(string path, char separator, long csvRows, (int PathField, int HeaderFields)? columns)
    {
        IDataView loaded = TrainingList.Load(new MLContext(), path, columns is { } fields
            ? [new TextLoader.Column("Path", DataKind.String, fields.PathField), new TextLoader.Column("Beyond", DataKind.String, [new TextLoader.Range(fields.HeaderFields, null) { AutoEnd = false, VariableEnd = true }])]
            : [new TextLoader.Column("Path", DataKind.String, 0)], separator);
        using DataViewRowCursor cursor = loaded.GetRowCursor(columns is null ? [] : loaded.Schema);
        ValueGetter<ReadOnlyMemory<char>>? getPath = columns is null ? null : cursor.GetGetter<ReadOnlyMemory<char>>(loaded.Schema["Path"]);
        ValueGetter<VBuffer<ReadOnlyMemory<char>>>? getBeyond = columns is null ? null : cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(loaded.Schema["Beyond"]);
        using CsvReader reader = RowCount.OpenList(path, separator);
        ReadOnlyMemory<char> loaderPath = default;
        VBuffer<ReadOnlyMemory<char>> beyond = default;
        long loaderRows = 0;
        for (; cursor.MoveNext(); loaderRows++)
        {
            if (columns is not { } known || !reader.Read())
            {
                continue;
            }

            getPath!(ref loaderPath);
            string csvPath = reader.GetString(known.PathField);
            if (!loaderPath.Span.SequenceEqual(csvPath))
            {
                throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                    $"'{Printable.Escaped(path)}', row {loaderRows} (counting from 0), line {reader.LineNumber}: ML.NET's text loader, which reads the list for training and evaluation, ") +
                    $"reads its image path as '{Printable.Content(loaderPath.ToString())}' where the CSV reader (and score) reads '{Printable.Content(csvPath)}'. " +
                    "The loader passes over spaces before a field and reads a field with text after its closing quote as empty: remove the spaces after the separator " +
                    "(quote a path that starts with a space), and quote whole fields");
            }

            getBeyond!(ref beyond);
            if (beyond.DenseValues().FirstOrDefault(field => !field.IsEmpty) is { IsEmpty: false } lost)
            {
                throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                    $"'{Printable.Escaped(path)}', row {loaderRows} (counting from 0), line {reader.LineNumber}: ML.NET's text loader, which reads the list for training and evaluation, ") +
                    $"finds more fields in the row than the header's {known.HeaderFields}, and would leave out '{Printable.Content(lost.ToString())}': a value holding the separator " +
                    $"({CsvHeader.Name(separator)}) unquoted is cut there ('T-shirt, top' read as 'T-shirt'). Quote that value, or give the header a column for the field");
            }
        }

        if (loaderRows != csvRows)
        {
            throw CommandLineException.UnreadableInput(string.Create(CultureInfo.InvariantCulture,
                $"'{Printable.Escaped(path)}': ML.NET's text loader, which reads the list for training and evaluation, finds {loaderRows:N0} rows in it, where the CSV reader finds {csvRows:N0}; ") +
                "rows would be lost, or named by lines not their own. A quoted field that holds a line break and has spaces before its opening quote " +
                "is one row to the loader and more to the CSV reader: remove the spaces before the quote");
        }
    }
}
