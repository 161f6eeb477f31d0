using System.Globalization;
using CsvHelper;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// The batch scoring job: streams a CSV list of image paths, prepares images on worker threads
/// ahead of the network (the saved model's own loading, resizing and pixel extraction), scores them
/// a batch at a time, and appends each batch's rows whole to the output, in the input's order.
/// <list type="bullet">
/// <item>Memory does not grow with the input: rows are read as they are needed, and at most a few
/// batches are in flight between the reader, the workers and the network.</item>
/// <item>A bad row (no path, no file, not an image, a damaged image, the wrong number of fields)
/// gets an error column and the job goes on, unless <c>--fail-fast</c>.</item>
/// <item>A batch is written in one write and flushed before the next is scored, so an interrupted
/// job leaves whole batches (and at most one batch cut short, which <c>--resume</c> cuts off).</item>
/// </list>
/// This class checks and opens what a run needs (the list's layout and row count, the model, the
/// output and its job record, resuming where one left off); <see cref="ScoringRun"/> streams the rows.
/// </summary>
internal sealed class ScoringJob
{
    /// <summary>The column of the predicted class.</summary>
    public const string PredictedLabelColumn = "PredictedLabel";

    /// <summary>The column of its probability.</summary>
    public const string ProbabilityColumn = "Probability";

    /// <summary>The column that says why a row has no prediction; empty otherwise.</summary>
    public const string ErrorColumn = "Error";

    private readonly ScoreOptions _options;
    private readonly char _separator;

    public ScoringJob(ScoreOptions options)
    {
        _options = options;
        _separator = OptionValues.SeparatorFor(options.InputPath, options.Separator);
    }

    /// <summary>Runs the job; <paramref name="progress"/> hears of every batch written, <paramref name="log"/> gets messages.</summary>
    /// <exception cref="CommandLineException">Bad arguments, an unreadable input, an invalid model, or (with --fail-fast) a bad row.</exception>
    public async Task<ScoringSummary> RunAsync(Action<ScoringProgress>? progress, Action<string> log, CancellationToken cancellation)
    {
        CheckInputIsAFile();

        // --overwrite and --resume open the output in place, which would write through a link to
        // whatever file it names (one planted in a shared folder, say); a new output never follows one.
        if (new FileInfo(_options.OutputPath).LinkTarget is { } linkTarget)
        {
            // A relative target is relative to the link's folder, not to the current one.
            string target = Path.GetFullPath(linkTarget, Path.GetDirectoryName(Path.GetFullPath(_options.OutputPath))!);
            throw CommandLineException.BadArguments(
                $"the output '{Printable.Escaped(_options.OutputPath)}' is a symbolic link (to '{Printable.Escaped(target)}'): give the path of a file, not of a link");
        }

        // A job killed between creating its output and writing the output's record leaves an empty file
        // and no record: it holds no rows, so any run (a retry with --resume, a plain rerun) starts it afresh.
        bool unstarted = File.Exists(_options.OutputPath) && new FileInfo(_options.OutputPath).Length == 0 && !File.Exists(JobRecord.PathFor(_options.OutputPath));
        if (File.Exists(_options.OutputPath) && !unstarted && !_options.Resume && !_options.Overwrite)
        {
            throw CommandLineException.BadArguments(
                $"the output '{_options.OutputPath}' exists: pass --resume to continue the job that wrote it, or --overwrite to start again");
        }

        using SavedModel model = SavedModel.Load(_options.ModelPath);
        InputLayout input = ReadInputLayout(model.PathColumn);
        long rowsInShard = CountShardRows();
        using IScoringNetwork network = CreateNetwork(model);
        if (_options.TopK > network.ClassLabels.Count)
        {
            throw CommandLineException.BadArguments($"--top-k {_options.TopK}: the model has {network.ClassLabels.Count} classes");
        }

        OptionValues.CheckBatchFits(_options.BatchSize, Math.Max(network.FeatureLength, network.ClassLabels.Count),
            $"images of {network.FeatureLength} values each (the network's input)");

        string? imageFolder = ImageFolderChoice.Resolve(_options.ImageFolder, model, log);
        var preparer = new ImagePreparer(model, imageFolder, network.InputName, network.FeatureLength, _options.MaxImagePixels);
        string[] added = AddedColumns();
        string[] clashing = input.Headers.Intersect(added, StringComparer.Ordinal).ToArray();
        if (clashing.Length > 0)
        {
            throw CommandLineException.UnreadableInput(
                $"the input '{_options.InputPath}' already has the column{(clashing.Length == 1 ? "" : "s")} {string.Join(", ", clashing.Select(c => $"'{c}'"))} the job adds; rename {(clashing.Length == 1 ? "it" : "them")}");
        }

        string? header = _options.HasHeader ? CsvText.Record([.. input.Headers, .. added], _separator) : null;
        int outputFields = input.FieldCount + added.Length;
        JobRecord job = JobRecord.Of(_options, input.PathIndex, _separator, imageFolder ?? Directory.GetCurrentDirectory());
        PredictionsFile output;
        if (_options.Resume && File.Exists(_options.OutputPath) && !unstarted)
        {
            JobRecord earlier = job.CheckResumes(_options.OutputPath);
            output = PredictionsFile.OpenForResume(_options.OutputPath, header, outputFields, _separator, _options.BatchSize);
            CheckLastRowDone(output, input);
            // Only a resume that has rows behind it and rows ahead of it can mix two folders' images.
            if (output.RowsDone > 0 && output.RowsDone < rowsInShard && job.ImageFolderWarning(earlier, _options.OutputPath, () => ShardHasRelativePaths(input.PathIndex)) is { } warning)
            {
                log(warning);
            }
        }
        else
        {
            // The record before any row: rows never exist without the record that says what they are.
            if (unstarted)
            {
                log($"'{_options.OutputPath}' is empty and has no job record (a job stopped before its first row): starting afresh");
            }

            output = PredictionsFile.Create(_options.OutputPath, header, _options.Overwrite || (_options.Resume && !unstarted),
                () => WriteOrFail(() => job.Write(_options.OutputPath), JobRecord.PathFor(_options.OutputPath)), onlyIfUnstarted: unstarted && !_options.Overwrite);
        }

        using PredictionsFile outputFile = output;
        if (output.RowsDone > 0)
        {
            log($"resuming: {output.RowsDone} rows of {rowsInShard} already in {_options.OutputPath}");
        }

        if (_options.Threads > Environment.ProcessorCount)
        {
            // A review's job of 5,000 rows on 2 cores: 509 rows/s with --threads 1, 10.6 with --threads 64.
            log($"warning: --threads {_options.Threads} is more than the {Environment.ProcessorCount} cores this process may use: the network's threads then wait on one another, " +
                "which can make scoring many times slower; give at most one per core");
        }

        log($"scoring {rowsInShard - output.RowsDone} rows ({_options.Shard}) with {network.Description}, batches of {_options.BatchSize}, " +
            $"{_options.Decoders} image thread{(_options.Decoders == 1 ? "" : "s")}; images from {imageFolder ?? "paths as given"}");
        var run = new ScoringRun(_options, _separator, new ShardReader(_options, _separator, OpenInput, input), network, preparer, output, rowsInShard, progress);
        ScoringSummary summary = await run.ExecuteAsync(cancellation).ConfigureAwait(false);
        long rowsRead = summary.RowsAlreadyDone + summary.RowsWritten;
        if (!summary.Interrupted && rowsRead != rowsInShard)
        {
            throw CommandLineException.UnreadableInput(
                $"the input '{_options.InputPath}' changed while it was scored: {rowsInShard} rows of the shard were counted before, {rowsRead} read after; " +
                $"'{_options.OutputPath}' holds the {rowsRead} rows scored");
        }

        return summary;
    }

    // The list is read more than once (its layout, its row count, its rows): a pipe or a process
    // substitution would give each pass a different part of it, and the job would quietly score less.
    private void CheckInputIsAFile()
    {
        if (!File.Exists(_options.InputPath))
        {
            throw CommandLineException.UnreadableInput(Directory.Exists(_options.InputPath)
                ? $"the input '{_options.InputPath}' is a directory: give the CSV file that lists the images"
                : $"the input '{_options.InputPath}' does not exist");
        }

        // Opening a named pipe waits for a writer, so its kind is read first, without opening it.
        if (PosixFile.IsAvailable && PosixFile.KindOf(_options.InputPath) is not FileKind.Regular and var kind)
        {
            throw CommandLineException.UnreadableInput(
                $"the input '{_options.InputPath}' is {PosixFile.Describe(kind)}, not a file: the job reads its list more than once; write the list to a file first");
        }

        try
        {
            using var probe = new FileStream(_options.InputPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
            if (!probe.CanSeek)
            {
                throw CommandLineException.UnreadableInput(
                    $"the input '{_options.InputPath}' is a pipe or device, not a file: the job reads its list more than once; write the list to a file first");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CommandLineException.UnreadableInput($"the input '{_options.InputPath}' cannot be read: {e.Message}", e);
        }
    }

    // The job record vouches for the input and the model, not for the output's rows: one removed by hand made the job
    // resume a row late, losing that row and writing another twice. Each output row starts with its input row's bytes,
    // so the last row done is compared with the input's row of its number: a row removed or added before it moves it.
    private void CheckLastRowDone(PredictionsFile output, InputLayout input)
    {
        if (output.LastRowDone is not byte[] last)
        {
            return;
        }

        InputRow? expected = new ShardReader(_options, _separator, OpenInput, input).RowAt(output.RowsDone - 1);
        byte[] fields = expected is null ? [] : [.. expected.Fields, .. System.Text.Encoding.UTF8.GetBytes([_separator])];
        if (expected is null || !last.AsSpan().StartsWith(fields))
        {
            output.Dispose();
            string which = expected is null ? "the shard has fewer rows" : $"the input's row {expected.Number} (line {expected.Line}) is '{Printable.Content(System.Text.Encoding.UTF8.GetString(expected.Fields), 200)}'";
            throw CommandLineException.UnreadableInput(
                $"--resume: the output '{Printable.Escaped(_options.OutputPath)}' does not hold the input's rows in order: its row {output.RowsDone}, the last of its whole batches, " +
                $"is '{Printable.Content(System.Text.Encoding.UTF8.GetString(last), 200)}', where {which}. Rows of the output were removed, added or changed since the job wrote them; " +
                "score to another output, or pass --overwrite to start again");
        }
    }

    private static void WriteOrFail(Action write, string path)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CommandLineException.UnreadableInput($"'{path}' cannot be written: {e.Message}", e);
        }
    }

    private string[] AddedColumns()
    {
        var columns = new List<string> { PredictedLabelColumn, ProbabilityColumn };
        for (int k = 2; k <= _options.TopK; k++)
        {
            columns.Add(PredictedLabelColumn + k.ToString(CultureInfo.InvariantCulture));
            columns.Add(ProbabilityColumn + k.ToString(CultureInfo.InvariantCulture));
        }

        columns.Add(ErrorColumn);
        return [.. columns];
    }

    private CsvReader OpenInput()
    {
        try
        {
            return CsvReader.FromFile(_options.InputPath, new CsvReaderOptions
            {
                Separator = _separator,
                HasHeader = _options.HasHeader,
                TrackLineNumbers = true,
                SkipEmptyLines = true,

                // An unclosed quote stops the job, naming its line, before any row is scored.
                OnMalformedRecord = UnclosedQuotes.Refuse,
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CommandLineException.UnreadableInput(File.Exists(_options.InputPath)
                ? $"the input '{_options.InputPath}' cannot be read: {e.Message}"
                : $"the input '{_options.InputPath}' does not exist", e);
        }
    }

    /// <summary>The list's columns: their names (or Column1, … without a header), how many, and which holds the paths.</summary>
    internal sealed record InputLayout(IReadOnlyList<string> Headers, int FieldCount, int PathIndex);

    // The header (or, without one, the first row's width) and the path column, before any
    // expensive work: a wrong column name fails in a moment, not after the model has loaded.
    private InputLayout ReadInputLayout(string modelPathColumn)
    {
        using CsvReader reader = OpenInput();
        IReadOnlyList<string> headers;
        int fieldCount;
        try
        {
            if (_options.HasHeader)
            {
                headers = reader.Headers;
                fieldCount = headers.Count;
                if (fieldCount == 0)
                {
                    throw CommandLineException.UnreadableInput($"the input '{_options.InputPath}' is empty: it has no header");
                }
            }
            else
            {
                fieldCount = reader.Read() ? reader.FieldCount : 0;
                headers = Enumerable.Range(1, fieldCount).Select(i => "Column" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            }
        }
        catch (CsvFormatException e)
        {
            throw CommandLineException.UnreadableInput($"the input '{_options.InputPath}' is not readable CSV: {e.Message}", e);
        }

        return new InputLayout(headers, fieldCount, PathIndex(headers, modelPathColumn));
    }

    private int PathIndex(IReadOnlyList<string> headers, string modelPathColumn)
    {
        string? wanted = _options.PathColumn;
        if (wanted is not null && int.TryParse(wanted, NumberStyles.None, CultureInfo.InvariantCulture, out int number))
        {
            return number >= 1 && number <= headers.Count ? number - 1
                : throw CommandLineException.BadArguments($"--path-column {number}: the input has {headers.Count} columns (counting from 1)");
        }

        if (!_options.HasHeader)
        {
            return wanted is null ? 0 : throw CommandLineException.BadArguments(
                $"--path-column '{wanted}': without a header, give the column's number (from 1)");
        }

        wanted ??= modelPathColumn;
        int index = headers.ToList().FindIndex(h => h == wanted);
        return index >= 0 ? index : throw CommandLineException.UnreadableInput(
            $"the input '{_options.InputPath}' has no column '{wanted}' (its columns: {Pipelines.CsvHeader.Columns(headers, _separator)}); " +
            (_options.PathColumn is null ? "the model reads paths from that column: pass --path-column to name yours" : "check --path-column"));
    }

    private long CountShardRows()
    {
        using CsvReader reader = OpenInput();
        long index = 0, inShard = 0;
        try
        {
            while (reader.Read())
            {
                inShard += _options.Shard.Contains(index++) ? 1 : 0;
            }
        }
        catch (CsvFormatException e)
        {
            throw CommandLineException.UnreadableInput($"the input '{_options.InputPath}' is not readable CSV: {e.Message}", e);
        }

        return inShard;
    }

    // Whether a row of the shard names its image by a relative path, which is read from the image folder.
    private bool ShardHasRelativePaths(int pathIndex)
    {
        using CsvReader reader = OpenInput();
        long index = 0;
        try
        {
            while (reader.Read())
            {
                if (_options.Shard.Contains(index++) && pathIndex < reader.FieldCount &&
                    FileNameBytes.Decode(reader.GetSpan(pathIndex)) is { Length: > 0 } path && !Path.IsPathRooted(path))
                {
                    return true;
                }
            }
        }
        catch (CsvFormatException e)
        {
            throw CommandLineException.UnreadableInput($"the input '{_options.InputPath}' is not readable CSV: {e.Message}", e);
        }

        return false;
    }

    private IScoringNetwork CreateNetwork(SavedModel model)
    {
        if (_options.Precision == ScoringPrecision.Float32 && _options.OnCpu)
        {
            return new OnnxRuntimeNetwork(model.Onnx, _options.Threads, model.Path);
        }

        return new TorchNetwork(model.Network, model.ClassLabels, _options.Precision, _options.Device, _options.Threads, _options.BatchSize);
    }
}
