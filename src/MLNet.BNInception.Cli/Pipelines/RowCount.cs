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

    /// <summary>The rows of the CSV list at <paramref name="path"/>, its header not counted.</summary>
    /// <exception cref="CommandLineException">A quoted field is never closed: ML.NET's loader would fail on it later, naming neither file nor line.</exception>
    public static long Of(string path, char separator)
    {
        try
        {
            using var reader = CsvHelper.CsvReader.FromFile(path, new CsvHelper.CsvReaderOptions
            {
                Separator = separator,
                HasHeader = true,
                TrackLineNumbers = true,
                OnMalformedRecord = UnclosedQuotes.Refuse,
            });
            long rows = 0;
            while (reader.Read())
            {
                rows++;
            }

            return rows;
        }
        catch (CsvHelper.CsvFormatException e)
        {
            throw CommandLineException.UnreadableInput($"'{path}': {e.Message}", e);
        }
    }
}
