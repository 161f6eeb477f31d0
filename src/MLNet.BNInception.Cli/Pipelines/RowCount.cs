using Microsoft.ML;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>The rows of a training list: of its CSV file (before any image is read), or of a prepared view (after its images are).</summary>
internal static class RowCount
{
    public static long Of(IDataView view, CancellationToken cancellation)
    {
        using DataViewRowCursor cursor = view.GetRowCursor([]);
        long rows = 0;
        while (cursor.MoveNext())
        {
            cancellation.ThrowIfCancellationRequested();
            rows++;
        }

        return rows;
    }

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
