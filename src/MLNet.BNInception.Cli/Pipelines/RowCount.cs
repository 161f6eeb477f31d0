using Microsoft.ML;

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

    public static long Of(string path, char separator)
    {
        using var reader = CsvHelper.CsvReader.FromFile(path, new CsvHelper.CsvReaderOptions { Separator = separator, HasHeader = true });
        long rows = 0;
        while (reader.Read())
        {
            rows++;
        }

        return rows;
    }
}
