using CsvHelper;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// What the tool's CSV readers do with a malformed record. A stray quote inside a field is kept as
/// text (the row is copied as it is); a quote that opens a field and is never closed would swallow
/// the rest of the list as one field, so it stops the reading, naming its line.
/// </summary>
internal static class UnclosedQuotes
{
    /// <summary>For <see cref="CsvReaderOptions.OnMalformedRecord"/>, with <see cref="CsvReaderOptions.TrackLineNumbers"/> on.</summary>
    /// <exception cref="CsvFormatException">The record starts with a quoted field that is never closed.</exception>
    public static void Refuse(CsvMalformedRecord record)
    {
        if (record.Reason == CsvMalformedReason.UnterminatedQuote)
        {
            throw new CsvFormatException(
                $"a quoted field that is never closed starts on line {record.LineNumber} (record {record.RecordNumber}): the rest of the file would be read as one field",
                record.RecordNumber, record.ByteOffset);
        }
    }
}
