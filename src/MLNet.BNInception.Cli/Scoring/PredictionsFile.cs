using System.Text;
using CsvHelper;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// The job's output file. Rows reach it a batch at a time, in one write that is on disk before the
/// next batch is scored; so after a crash, <c>kill -9</c> or power cut the file holds whole batches
/// and at most one batch cut short. <see cref="OpenForResume"/> finds the last whole row, cuts the
/// file back to the last whole batch, and says how many of the shard's rows are done.
/// </summary>
internal sealed class PredictionsFile : IDisposable
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private readonly FileStream _stream;

    private PredictionsFile(FileStream stream, long rowsDone, byte[]? lastRowDone = null)
    {
        _stream = stream;
        RowsDone = rowsDone;
        LastRowDone = lastRowDone;
    }

    /// <summary>The rows of the shard already in the file when it was opened.</summary>
    public long RowsDone { get; }

    /// <summary>The bytes of the last of <see cref="RowsDone"/> (its line break left out), or null when there are none.</summary>
    public byte[]? LastRowDone { get; }

    /// <summary>
    /// Creates the file (replacing it only when <paramref name="overwrite"/>), locked against another
    /// job's writing (<see cref="WriterLock"/>), then has <paramref name="writeJobRecord"/> write the
    /// record of the job, and writes the header, if any. With <paramref name="onlyIfUnstarted"/>, the
    /// file exists and is taken over only if, once locked, it is still empty and has no job record.
    /// </summary>
    public static PredictionsFile Create(string path, string? header, bool overwrite, Action writeJobRecord, bool onlyIfUnstarted = false)
    {
        FileStream stream;
        bool created = (!overwrite && !onlyIfUnstarted) || !File.Exists(path);
        bool locked = false;
        try
        {
            // Opened without emptying it: a file another job is still writing to is found locked
            // before anything of it, or of its record, is changed.
            stream = Open(path, overwrite || onlyIfUnstarted ? FileMode.OpenOrCreate : FileMode.CreateNew);
        }
        catch (IOException) when (!overwrite && File.Exists(path))
        {
            throw CommandLineException.BadArguments(
                $"the output '{path}' exists: pass --resume to continue the job that wrote it, or --overwrite to start again");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CommandLineException.UnreadableInput($"the output '{path}' cannot be written: {e.Message}", e);
        }

        try
        {
            Lock(stream, path);
            locked = true;
            // Checked under the lock: another job may have begun the file since it was found empty.
            if (onlyIfUnstarted && (stream.Length > 0 || File.Exists(JobRecord.PathFor(path))))
            {
                throw CommandLineException.BadArguments(
                    $"the output '{path}' was begun by another job while this one loaded: pass --resume to continue that job, or --overwrite to start again");
            }

            // Emptied before the new record is written: a kill between the two leaves an empty
            // output under the old record, never another job's rows under this job's record.
            stream.SetLength(0);
            writeJobRecord();
            var file = new PredictionsFile(stream, 0);
            if (header is not null)
            {
                file.Append(Utf8.GetBytes(header + "\n"));
            }

            return file;
        }
        // Only a file this call made and locked is removed: one whose lock another job took first is that job's.
        catch (IOException e)
        {
            stream.Dispose();
            RemoveIfCreated(path, created && locked);
            throw CommandLineException.UnreadableInput($"the output '{path}' cannot be written: {e.Message}", e);
        }
        catch
        {
            stream.Dispose();
            RemoveIfCreated(path, created && locked);
            throw;
        }
    }

    // Unbuffered: every Append is one write to the operating system, so a write that fails (a full disk)
    // leaves no bytes in a buffer for Dispose to try again, whose failure would hide the first one's.
    private static FileStream Open(string path, FileMode mode) => new(path, mode, FileAccess.Write, FileShare.Read, bufferSize: 0);

    // An output this call made and could not start (its job record did not fit on the disk, say) would
    // be an output with no record, which neither a rerun nor --resume accepts: it goes.
    private static void RemoveIfCreated(string path, bool created)
    {
        if (created)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left as it is: the error that is being reported says what went wrong first.
            }
        }
    }

    /// <summary>
    /// Opens the output of an interrupted run of the same job: checks its header, drops a row cut
    /// short and the rest of its batch, and positions after the last whole batch.
    /// </summary>
    /// <param name="path">The output.</param>
    /// <param name="header">The header the job writes, or null when the input has none.</param>
    /// <param name="fieldCount">The fields of every output row.</param>
    /// <param name="separator">The field separator.</param>
    /// <param name="batchRows">The rows per batch: the file is cut back to a multiple of it.</param>
    public static PredictionsFile OpenForResume(string path, string? header, int fieldCount, char separator, int batchRows)
    {
        FileStream? stream = null;
        try
        {
            // Locked before it is read: another job still writing to it would change what is read.
            stream = Open(path, FileMode.Open);
            Lock(stream, path);
            (long keepBytes, long rows, long lastRowStart) = WholeRows(path, header, fieldCount, separator, batchRows);
            byte[]? lastRow = null;
            if (rows > 0)
            {
                // Read through a stream of its own: the output's is opened for writing only.
                lastRow = new byte[keepBytes - 1 - lastRowStart];
                using var reading = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                reading.Seek(lastRowStart, SeekOrigin.Begin);
                reading.ReadExactly(lastRow);
            }

            stream.SetLength(keepBytes);
            stream.Seek(0, SeekOrigin.End);
            var file = new PredictionsFile(stream, rows, lastRow);
            if (header is not null && keepBytes == 0)
            {
                file.Append(Utf8.GetBytes(header + "\n"));
            }

            return file;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stream?.Dispose();
            throw CommandLineException.UnreadableInput($"the output '{path}' cannot be resumed: {e.Message}", e);
        }
        catch
        {
            stream?.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="bytes"/> (whole rows) in one write, on disk before returning.</summary>
    public void Append(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);

        // To the disk, not only to the operating system: a power cut then loses no batch that was
        // reported written. One fsync per batch costs little beside scoring the batch.
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();

    // Two jobs writing one output would write over each other's rows: the second one stops here.
    private static void Lock(FileStream stream, string path)
    {
        if (!WriterLock.TryTake(stream.SafeFileHandle, path))
        {
            throw CommandLineException.BadArguments(
                $"the output '{path}' is being written by another job (it holds the file's lock): two jobs on one output would write over " +
                "each other's rows; wait for that job to end, or score to another output");
        }
    }

    // The bytes to keep, the rows they hold and where the last of them starts: whole rows (the expected number of
    // fields, a line break after them), cut back to a whole number of batches. Streams the file: an output of
    // millions of rows is not held in memory.
    private static (long Bytes, long Rows, long LastRowStart) WholeRows(string path, string? header, int fieldCount, char separator, int batchRows)
    {
        long length = new FileInfo(path).Length;
        bool endsWithLineBreak = false;
        if (length > 0)
        {
            using var last = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            last.Seek(-1, SeekOrigin.End);
            endsWithLineBreak = last.ReadByte() == '\n';
        }

        using CsvReader reader = CsvReader.FromFile(path, new CsvReaderOptions { Separator = separator, HasHeader = false, SkipEmptyLines = false });
        long keptBytes = 0, keptRows = 0, rows = 0, lastKeptStart = 0;
        bool expectHeader = header is not null;
        (long Start, long End, bool Valid)? previous = null;
        while (reader.Read())
        {
            long start = reader.ByteOffset;
            if (previous is { } row && !Accept(row, start))
            {
                return (keptBytes, keptRows, lastKeptStart);
            }

            bool valid = reader.FieldCount == fieldCount;
            if (expectHeader)
            {
                string found = Utf8.GetString(reader.RawRecord);
                bool whole = reader.ByteOffset + reader.RawRecord.Length + 1 <= length;
                if (whole ? found != header : !header!.StartsWith(found, StringComparison.Ordinal))
                {
                    throw CommandLineException.BadArguments(
                        $"--resume: the header of '{path}' is not this job's ('{Shorten(found)}', expected '{Shorten(header!)}'): " +
                        "it was written with another input, model or --top-k; score to another output, or pass --overwrite to start again");
                }
            }

            previous = (start, start + reader.RawRecord.Length, valid);
        }

        if (previous is { } lastRow && endsWithLineBreak)
        {
            Accept(lastRow, length);
        }

        return (keptBytes, keptRows, lastKeptStart);

        // A record is whole when the next one starts right after its line break.
        bool Accept((long Start, long End, bool Valid) row, long next)
        {
            if (!row.Valid || next != row.End + 1)
            {
                return false;
            }

            if (expectHeader)
            {
                expectHeader = false;
                keptBytes = next;
                return true;
            }

            rows++;
            if (rows % batchRows == 0)
            {
                (keptBytes, keptRows, lastKeptStart) = (next, rows, row.Start);
            }

            return true;
        }
    }

    // What is there may be anything: the zeros a power cut leaves, another program's binary file.
    private static string Shorten(string text) => Printable.Content(text, 200);
}
