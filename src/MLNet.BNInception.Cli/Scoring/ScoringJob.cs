using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using CsvHelper;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Models;
using MLNet.BNInception.Inference;
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
/// </summary>
internal sealed class ScoringJob
{
    /// <summary>The column of the predicted class.</summary>
    public const string PredictedLabelColumn = "PredictedLabel";

    /// <summary>The column of its probability.</summary>
    public const string ProbabilityColumn = "Probability";

    /// <summary>The column that says why a row has no prediction; empty otherwise.</summary>
    public const string ErrorColumn = "Error";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

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

        if (File.Exists(_options.OutputPath) && !_options.Resume && !_options.Overwrite)
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

        string? imageFolder = ResolveImageFolder(model, log);
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
        JobRecord job = JobRecord.Of(_options, input.PathIndex, _separator);
        PredictionsFile output;
        if (_options.Resume && File.Exists(_options.OutputPath))
        {
            job.CheckResumes(_options.OutputPath);
            output = PredictionsFile.OpenForResume(_options.OutputPath, header, outputFields, _separator, _options.BatchSize);
        }
        else
        {
            // The record first: an output never exists without the record that says what it is.
            WriteOrFail(() => job.Write(_options.OutputPath), JobRecord.PathFor(_options.OutputPath));
            output = PredictionsFile.Create(_options.OutputPath, header, _options.Overwrite || _options.Resume);
        }

        using PredictionsFile outputFile = output;
        if (output.RowsDone > 0)
        {
            log($"resuming: {output.RowsDone} rows of {rowsInShard} already in {_options.OutputPath}");
        }

        log($"scoring {rowsInShard - output.RowsDone} rows ({_options.Shard}) with {network.Description}, batches of {_options.BatchSize}, " +
            $"{_options.Decoders} image thread{(_options.Decoders == 1 ? "" : "s")}; images from {imageFolder ?? "paths as given"}");
        var run = new Run(this, input, network, preparer, output, rowsInShard, progress);
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

                // A stray quote inside a field is kept as text (the row is copied as it is); a quote
                // that opens a field and is never closed would swallow the rest of the list as one
                // field, so it stops the job, naming its line, before any row is scored.
                OnMalformedRecord = record =>
                {
                    if (record.Reason == CsvMalformedReason.UnterminatedQuote)
                    {
                        throw new CsvFormatException(
                            $"a quoted field that is never closed starts on line {record.LineNumber} (record {record.RecordNumber}): the rest of the file would be read as one field",
                            record.RecordNumber, record.ByteOffset);
                    }
                },
            });
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CommandLineException.UnreadableInput(File.Exists(_options.InputPath)
                ? $"the input '{_options.InputPath}' cannot be read: {e.Message}"
                : $"the input '{_options.InputPath}' does not exist", e);
        }
    }

    private sealed record InputLayout(IReadOnlyList<string> Headers, int FieldCount, int PathIndex);

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
            $"the input '{_options.InputPath}' has no column '{wanted}' (its columns: {Pipelines.CsvHeader.Columns(headers)}); " +
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

    private IScoringNetwork CreateNetwork(SavedModel model)
    {
        if (_options.Precision == ScoringPrecision.Float32)
        {
            return new OnnxRuntimeNetwork(model.Onnx, _options.Threads, model.Path);
        }

        return new TorchNetwork(model.Network, model.ClassLabels, _options.Precision, _options.Threads, _options.BatchSize);
    }

    private string? ResolveImageFolder(SavedModel model, Action<string> log)
    {
        if (_options.ImageFolder is { } given)
        {
            return Directory.Exists(given) ? Path.GetFullPath(given)
                : throw CommandLineException.UnreadableInput($"--image-folder '{given}' does not exist");
        }

        if (model.ImageFolder is null || Directory.Exists(model.ImageFolder))
        {
            return model.ImageFolder;
        }

        log($"warning: the model's image folder '{BnInceptionCommandLine.OneLine(model.ImageFolder)}' does not exist here; relative paths are read from the current directory " +
            "(pass --image-folder to name their folder)");
        return null;
    }

    /// <summary>A row of the input on its way to the output.</summary>
    private sealed class InputRow
    {
        public long Number { get; init; }

        public long Line { get; init; }

        /// <summary>The row's fields as the output gets them: the input's bytes, quoting and all, whatever their encoding.</summary>
        public required byte[] Fields { get; init; }

        /// <summary>The image path; bytes that are not UTF-8 are carried as <see cref="FileNameBytes"/> escapes, so the file still opens.</summary>
        public required string Path { get; init; }

        /// <summary>Why the row has no prediction (reason: detail), or null.</summary>
        public string? Error { get; set; }
    }

    /// <summary>A batch of consecutive rows of the shard and their prepared images.</summary>
    private sealed class Window(List<InputRow> rows, float[] features)
    {
        public List<InputRow> Rows { get; } = rows;

        public float[] Features { get; } = features;

        public TaskCompletionSource Prepared { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One run of the job: the reader, the image workers and the network with the writer.</summary>
    private sealed class Run(ScoringJob job, InputLayout input, IScoringNetwork network, ImagePreparer preparer, PredictionsFile output,
        long rowsInShard, Action<ScoringProgress>? progress)
    {
        private readonly ScoreOptions _options = job._options;
        private readonly ConcurrentBag<float[]> _buffers = [];
        private readonly Dictionary<string, long> _badRows = new(StringComparer.Ordinal);
        private readonly Stopwatch _clock = new();
        private readonly Stopwatch _networkClock = new();
        private readonly TaskCompletionSource _workerFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _written;

        public async Task<ScoringSummary> ExecuteAsync(CancellationToken cancellation)
        {
            // In flight at once: a batch per image worker, one waiting for a worker, one being
            // scored, one read ahead: memory is bounded by --decoders + 3 batches of images.
            Channel<Window> inOrder = Channel.CreateBounded<Window>(new BoundedChannelOptions(_options.Decoders + 1) { SingleReader = true, SingleWriter = true });
            Channel<Window> toPrepare = Channel.CreateUnbounded<Window>(new UnboundedChannelOptions { SingleWriter = true });

            // The reader and the workers stop when the writer does; Ctrl-C reaches only the writer, which
            // stops after a whole batch.
            using var stop = new CancellationTokenSource();
            _clock.Start();
            Task reader = Task.Run(() => ReadAsync(inOrder.Writer, toPrepare.Writer, stop.Token), CancellationToken.None);
            Task[] workers = Enumerable.Range(0, _options.Decoders).Select(_ => Task.Run(() => PrepareAsync(toPrepare.Reader, stop.Token), CancellationToken.None)).ToArray();
            var interrupted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using CancellationTokenRegistration onInterrupt = cancellation.Register(() => interrupted.TrySetResult());
            bool abandoned = false;
            try
            {
                await foreach (Window window in inOrder.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
                {
                    // A worker that fails outside a batch (while starting) would leave this batch
                    // unprepared for ever: its failure ends the wait. So does Ctrl-C: a worker can sit in
                    // a read that does not return (a stalled network share), and the batches already
                    // written are whole without this one.
                    await Task.WhenAny(window.Prepared.Task, _workerFailed.Task, interrupted.Task).ConfigureAwait(false);
                    if (!window.Prepared.Task.IsCompleted && !_workerFailed.Task.IsCompleted)
                    {
                        abandoned = true;
                        break;
                    }

                    await (window.Prepared.Task.IsCompleted ? window.Prepared.Task : _workerFailed.Task).ConfigureAwait(false);
                    Write(window);
                    progress?.Invoke(new ScoringProgress(output.RowsDone + _written, rowsInShard, _badRows.Values.Sum(), _written / _clock.Elapsed.TotalSeconds));
                    if (cancellation.IsCancellationRequested)
                    {
                        break;
                    }
                }
            }
            catch
            {
                abandoned = true;
                throw;
            }
            finally
            {
                // Stopped early (Ctrl-C, --fail-fast, a failure): the batches still being prepared are
                // thrown away, so a worker stuck in a read that never returns cannot hold the job.
                abandoned |= cancellation.IsCancellationRequested;
                await stop.CancelAsync().ConfigureAwait(false);
                toPrepare.Writer.TryComplete();
                await Quietly(reader).ConfigureAwait(false);

                // Workers still busy with an abandoned batch are not waited for: what they prepare is thrown
                // away, and they touch nothing the job closes on its way out. Their failures, if any, are
                // observed here so that none surfaces later as an unobserved task exception.
                foreach (Task worker in workers)
                {
                    if (abandoned)
                    {
                        _ = worker.ContinueWith(static task => task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                    }
                    else
                    {
                        await Quietly(worker).ConfigureAwait(false);
                    }
                }
            }

            // The reader's and the workers' own failures (an unreadable input, say) come out here.
            foreach (Task task in abandoned ? [reader] : workers.Prepend(reader))
            {
                if (task.IsFaulted && task.Exception.InnerException is { } failure and not OperationCanceledException)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
                }
            }

            _clock.Stop();
            return new ScoringSummary(rowsInShard, output.RowsDone, _written, _badRows, _clock.Elapsed, _networkClock.Elapsed, network.Description,
                Interrupted: cancellation.IsCancellationRequested && output.RowsDone + _written < rowsInShard);
        }

        private static async Task Quietly(Task task)
        {
            try
            {
                await task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception)
            {
                // Rethrown by ExecuteAsync once everything has stopped.
            }
        }

        // Reads the input, keeps the shard's rows not yet done, and sends them on in batches.
        private async Task ReadAsync(ChannelWriter<Window> inOrder, ChannelWriter<Window> toPrepare, CancellationToken cancellation)
        {
            try
            {
                using CsvReader reader = job.OpenInput();
                long index = 0, skip = output.RowsDone;
                var rows = new List<InputRow>(_options.BatchSize);
                while (reader.Read())
                {
                    long rowIndex = index++;
                    if (!_options.Shard.Contains(rowIndex) || skip-- > 0)
                    {
                        continue;
                    }

                    rows.Add(ReadRow(reader));
                    if (rows.Count == _options.BatchSize)
                    {
                        await SendAsync(rows).ConfigureAwait(false);
                        rows = new List<InputRow>(_options.BatchSize);
                    }
                }

                if (rows.Count > 0)
                {
                    await SendAsync(rows).ConfigureAwait(false);
                }
            }
            catch (CsvFormatException e)
            {
                Exception failure = CommandLineException.UnreadableInput($"the input '{_options.InputPath}' is not readable CSV: {e.Message}", e);
                inOrder.TryComplete(failure);
                throw failure;
            }
            catch (IOException e)
            {
                Exception failure = CommandLineException.UnreadableInput($"the input '{_options.InputPath}' cannot be read: {e.Message}", e);
                inOrder.TryComplete(failure);
                throw failure;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                inOrder.TryComplete(e);
                throw;
            }
            finally
            {
                inOrder.TryComplete();
                toPrepare.TryComplete();
            }

            async Task SendAsync(List<InputRow> batch)
            {
                var window = new Window(batch, _buffers.TryTake(out float[]? buffer) ? buffer : new float[_options.BatchSize * network.FeatureLength]);
                await inOrder.WriteAsync(window, cancellation).ConfigureAwait(false);
                await toPrepare.WriteAsync(window, cancellation).ConfigureAwait(false);
            }
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
                    fields.AddRange(Utf8.GetBytes([job._separator]));
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
                Error = $"FieldCount: the row has {count} field{(count == 1 ? "" : "s")}, the {(_options.HasHeader ? "header" : "first row")} {input.FieldCount}{extra}",
            };
        }

        // An image worker: prepares every row of the batches it takes.
        private async Task PrepareAsync(ChannelReader<Window> toPrepare, CancellationToken cancellation)
        {
            Window? current = null;
            try
            {
                using ImagePreparer.Worker worker = preparer.CreateWorker();
                await foreach (Window window in toPrepare.ReadAllAsync(cancellation).ConfigureAwait(false))
                {
                    current = window;
                    int length = network.FeatureLength;
                    for (int i = 0; i < window.Rows.Count; i++)
                    {
                        // Once the job stops, the rows still queued are not read: each one could stall.
                        cancellation.ThrowIfCancellationRequested();
                        InputRow row = window.Rows[i];
                        if (row.Error is null)
                        {
                            row.Error = worker.Prepare(row.Path, window.Features.AsSpan(i * length, length));
                        }
                    }

                    window.Prepared.SetResult();
                    current = null;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                current?.Prepared.TrySetException(e);
                _workerFailed.TrySetException(e);
                throw;
            }
        }

        // Scores a prepared batch and appends its rows to the output in one write.
        private void Write(Window window)
        {
            List<InputRow> rows = window.Rows;
            if (_options.FailFast && rows.FirstOrDefault(row => row.Error is not null) is { } bad)
            {
                // --resume refuses an input that changed since the job began, so the advice never asks for
                // the list to be edited when the image itself can be mended.
                bool rowAtFault = bad.Error!.StartsWith("FieldCount:", StringComparison.Ordinal) || bad.Error.StartsWith("EmptyPath:", StringComparison.Ordinal);
                string mend = rowAtFault
                    ? "the row itself is malformed: correct it in the input and score again with --overwrite (an edited input cannot be resumed), " +
                      "or score without --fail-fast to have it reported in the Error column"
                    : "repair or replace the file and rerun the same command with --resume (in place of --overwrite, if it had that), which keeps the rows already written; " +
                      "editing the input instead (removing the row) makes it another job, which --resume refuses: then score again with --overwrite, " +
                      "or without --fail-fast to have bad rows reported in the Error column";
                throw new CommandLineException(ExitCodes.BadRow,
                    $"row {bad.Number} (line {bad.Line}), path '{FileNameBytes.Printable(bad.Path)}': {bad.Error}. Stopped by --fail-fast after {output.RowsDone + _written} rows; {mend}");
            }

            // The good rows' images move to the front, in order, so the network gets one dense batch.
            int length = network.FeatureLength, good = 0;
            for (int i = 0; i < rows.Count; i++)
            {
                if (rows[i].Error is null)
                {
                    if (good != i)
                    {
                        Array.Copy(window.Features, i * length, window.Features, good * length, length);
                    }

                    good++;
                }
            }

            int classes = network.ClassLabels.Count;
            var probabilities = new float[good * classes];
            if (good > 0)
            {
                _networkClock.Start();
                network.Score(window.Features, good, probabilities);
                _networkClock.Stop();
            }

            _buffers.Add(window.Features);
            var bytes = new MemoryStream(rows.Count * 128);
            var text = new StringBuilder(128);
            Span<int> best = stackalloc int[_options.TopK];
            int scored = 0;
            foreach (InputRow row in rows)
            {
                bytes.Write(row.Fields);
                text.Clear();
                if (row.Error is null)
                {
                    ReadOnlySpan<float> p = probabilities.AsSpan(scored++ * classes, classes);
                    TopClasses.Find(p, best);
                    foreach (int c in best)
                    {
                        text.Append(job._separator);
                        CsvText.AppendField(text, network.ClassLabels[c], job._separator);
                        text.Append(job._separator).Append(p[c].ToString(CultureInfo.InvariantCulture));
                    }

                    text.Append(job._separator);
                }
                else
                {
                    text.Append(job._separator, 2 * _options.TopK + 1);
                    CsvText.AppendField(text, row.Error, job._separator);
                    string reason = row.Error[..Math.Max(0, row.Error.IndexOf(':', StringComparison.Ordinal))];
                    _badRows[reason] = _badRows.GetValueOrDefault(reason) + 1;
                }

                text.Append('\n');
                bytes.Write(Utf8.GetBytes(text.ToString()));
            }

            try
            {
                output.Append(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
            }
            catch (IOException e)
            {
                throw CommandLineException.UnreadableInput($"the output '{_options.OutputPath}' cannot be written: {e.Message}; what it holds is whole, and --resume continues it", e);
            }

            _written += rows.Count;
        }
    }
}
