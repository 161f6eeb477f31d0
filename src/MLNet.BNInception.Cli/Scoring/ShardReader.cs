using System.Text;
using CsvHelper;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// Reads the list's rows that belong to this run's shard, skipping those a resumed run finds done,
/// a batch at a time. A row with the wrong number of fields is read too, with its error: the output
/// keeps one row per input row.
/// </summary>
internal sealed class ShardReader(ScoreOptions options, char separator, Func<CsvReader> openInput, ScoringJob.InputLayout input)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// The shard's rows after the first <paramref name="rowsDone"/>, in batches of <see cref="ScoreOptions.BatchSize"/>
    /// (the last may be shorter). The input is opened on the first batch and closed when the enumeration ends.
    /// </summary>
    /// <exception cref="CsvFormatException">The input is not readable CSV.</exception>
    /// <exception cref="IOException">The input cannot be read.</exception>
    public IEnumerable<List<InputRow>> Batches(long rowsDone)
    {
        using CsvReader reader = openInput();
        long index = 0, skip = rowsDone;
        var rows = new List<InputRow>(options.BatchSize);
        while (reader.Read())
        {
            long rowIndex = index++;
            if (!options.Shard.Contains(rowIndex) || skip-- > 0)
            {
                continue;
            }

            rows.Add(ReadRow(reader));
            if (rows.Count == options.BatchSize)
            {
                yield return rows;
                rows = new List<InputRow>(options.BatchSize);
            }
        }

        if (rows.Count > 0)
        {
            yield return rows;
        }
    }

    /// <summary>The shard's row <paramref name="shardRow"/> (counting from 0) as the output gets it, or null when the shard has fewer rows.</summary>
    public InputRow? RowAt(long shardRow)
    {
        using CsvReader reader = openInput();
        long index = 0, seen = 0;
        while (reader.Read())
        {
            if (options.Shard.Contains(index++) && seen++ == shardRow)
            {
                return ReadRow(reader);
            }
        }

        return null;
    }

    private InputRow ReadRow(CsvReader reader)
    {
        int count = reader.FieldCount;
        string path = input.PathIndex < count ? FileNameBytes.Decode(reader.GetSpan(input.PathIndex)) : "";
        if (count == input.FieldCount)
        {
            return new InputRow { Number = reader.RowNumber, Line = reader.LineNumber, Fields = reader.RawRecord.ToArray(), Path = path };
        }

        // A ragged row keeps the header's columns, so that the added ones stay in place; each field
        // kept is copied as the input holds it.
        var fields = new List<byte>(reader.RawRecord.Length + input.FieldCount);
        for (int i = 0; i < input.FieldCount; i++)
        {
            if (i > 0)
            {
                fields.AddRange(Utf8.GetBytes([separator]));
            }

            if (i < count)
            {
                fields.AddRange(reader.GetRawSpan(i));
            }
        }

        string extra = count > input.FieldCount ? $"; its last {count - input.FieldCount} are left out of the output" : "";
        return new InputRow
        {
            Number = reader.RowNumber,
            Line = reader.LineNumber,
            Fields = [.. fields],
            Path = path,
            Error = RowError.FieldCount($"the row has {count} field{(count == 1 ? "" : "s")}, the {(options.HasHeader ? "header" : "first row")} {input.FieldCount}{extra}"),
        };
    }
}

/// <summary>A row of the input on its way to the output: read by <see cref="ShardReader"/>, prepared by an image worker, written by the run.</summary>
internal sealed class InputRow
{
    /// <summary>The row's number in the input, from 1, the header not counted.</summary>
    public long Number { get; init; }

    /// <summary>The line the row starts on, from 1.</summary>
    public long Line { get; init; }

    /// <summary>The row's fields as the output gets them: the input's bytes, quoting and all, whatever their encoding.</summary>
    public required byte[] Fields { get; init; }

    /// <summary>The image path; bytes that are not UTF-8 are carried as <see cref="FileNameBytes"/> escapes, so the file still opens.</summary>
    public required string Path { get; init; }

    /// <summary>Why the row has no prediction, or null.</summary>
    public RowError? Error { get; set; }
}
