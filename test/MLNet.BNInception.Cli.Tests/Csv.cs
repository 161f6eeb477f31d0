using CsvHelper;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>A CSV file read back whole with CsvHelper, as a consumer of the tool's output would read it.</summary>
internal sealed record Csv(IReadOnlyList<string> Header, IReadOnlyList<string[]> Rows)
{
    public static Csv Read(string path, char separator = ',', bool hasHeader = true)
    {
        using CsvReader reader = CsvReader.FromFile(path, new CsvReaderOptions { Separator = separator, HasHeader = hasHeader });
        IReadOnlyList<string> header = hasHeader ? [.. reader.Headers] : [];
        var rows = new List<string[]>();
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, reader.FieldCount).Select(reader.GetString).ToArray());
        }

        return new Csv(header, rows);
    }

    /// <summary>The values of <paramref name="column"/>, one per row.</summary>
    public string[] Column(string column)
    {
        int index = Header.ToList().IndexOf(column);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), $"no column {column} in {string.Join(",", Header)}");
        return Rows.Select(row => row[index]).ToArray();
    }
}
