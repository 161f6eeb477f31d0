using Microsoft.ML;
using System.Globalization;
using Microsoft.ML.Data;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Progress;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>The rows of a training list: of its CSV file (before any image is read), or of a prepared view (after its images are).</summary>
internal static class RowCount
{
    /// <summary>
    /// The rows of <paramref name="view"/>, read with <paramref name="columns"/> (none by default): a pass
    /// that fills a cache with them, or decides which rows an image loader that skips keeps. Its progress
    /// goes to <paramref name="progress"/> as "<paramref name="what"/>: row R of <paramref name="total"/>",
    /// every <see cref="ReportEvery"/> rows, R the row id (the source's row number, which counts the rows a
    /// filter leaves out too).
    /// </summary>
    public static long Of(IDataView view, CancellationToken cancellation, IProgressSink? progress = null, string what = "", long total = 0,
        IEnumerable<DataViewSchema.Column>? columns = null)
    {
        using DataViewRowCursor cursor = view.GetRowCursor(columns ?? []);
        ValueGetter<DataViewRowId> getId = cursor.GetIdGetter();
        DataViewRowId id = default;
        long rows = 0, reported = -1;
        while (cursor.MoveNext())
        {
            cancellation.ThrowIfCancellationRequested();
            rows++;
            if (progress is not null && rows % ReportEvery == 0)
            {
                getId(ref id);
                reported = (long)id.Low + 1;
                Report(progress, what, reported, total);
            }
        }

        // The end, unless the last report said it already.
        if (progress is not null && reported != total)
        {
            Report(progress, what, total, total);
        }

        return rows;
    }

    private static void Report(IProgressSink progress, string what, long row, long total) =>
        progress.Report(row, total, string.Create(CultureInfo.InvariantCulture, $"{what}: row {row} of {total}"));

    /// <summary>How many rows apart a pass reports its progress.</summary>
    public const int ReportEvery = 64;

    /// <summary>
    /// The rows of the CSV list at <paramref name="path"/>, its header not counted, checked against what ML.NET's text
    /// loader reads (<see cref="TextLoaderRows"/>): the same rows and, once the columns are known (<paramref name="pathColumn"/>
    /// given), the same image path in each and no text beyond the header's fields. Before that, a file whose header names
    /// none of the columns (a binary file, another list) is better refused for its columns than for its fields.
    /// </summary>
    /// <exception cref="CommandLineException">
    /// A quoted field is never closed: ML.NET's loader would fail on it later, naming neither file nor line. Or ML.NET's
    /// loader would read other rows, fields or paths than the file's (<see cref="TextLoaderRows"/>).
    /// </exception>
    public static long Of(string path, char separator, int? pathColumn = null)
    {
        try
        {
            TextLoaderRows.RefuseHeader(path);
            using CsvHelper.CsvReader reader = OpenList(path, separator);
            int headerFields = reader.Headers.Count;
            long rows = 0;
            while (reader.Read())
            {
                TextLoaderRows.RefuseRow(path, reader, rows);
                rows++;
            }

            TextLoaderRows.RefuseOtherRows(path, separator, rows, pathColumn is { } field ? (field, headerFields) : null);
            return rows;
        }
        catch (CsvHelper.CsvFormatException e)
        {
            throw CommandLineException.UnreadableInput($"'{path}': {e.Message}", e);
        }
    }

    /// <summary>
    /// The line of the CSV list at <paramref name="path"/> where row <paramref name="row"/> (counting from 0, as ML.NET's
    /// text loader numbers the rows of a list <see cref="Of(string, char, int?)"/> has accepted) starts; null when the file
    /// cannot be read again or has fewer rows now. For a message about that row, so it is read only on the way to one.
    /// </summary>
    public static long? LineOf(string path, char separator, long row)
    {
        try
        {
            using CsvHelper.CsvReader reader = OpenList(path, separator);
            for (long read = 0; reader.Read(); read++)
            {
                if (read == row)
                {
                    return reader.LineNumber;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CsvHelper.CsvFormatException)
        {
            // The message goes on without the line: it names the row, the path and the reason already.
        }

        return null;
    }

    /// <summary>
    /// "row R (counting from 0), line L": the row as ML.NET and the library's messages number it, and the line of the
    /// list where it starts, as an editor shows it (a quoted field may hold line breaks) and as <c>score</c> names it.
    /// </summary>
    public static string RowAndLine(string list, char separator, long row) =>
        row >= 0 && LineOf(list, separator, row) is { } line
            ? string.Create(CultureInfo.InvariantCulture, $"row {row} (counting from 0), line {line}")
            : string.Create(CultureInfo.InvariantCulture, $"row {row} (counting from 0)");

    /// <summary>The list as the tool's CSV reader reads it: a header, quoted fields, line numbers.</summary>
    public static CsvHelper.CsvReader OpenList(string path, char separator) =>
        CsvHelper.CsvReader.FromFile(path, new CsvHelper.CsvReaderOptions
        {
            Separator = separator,
            HasHeader = true,
            TrackLineNumbers = true,
            OnMalformedRecord = UnclosedQuotes.Refuse,
        });
}
