using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using CsvHelper;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.IO;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// One run of a <see cref="ScoringJob"/>, once its input, model and output are checked and open: the
/// <see cref="ShardReader"/>, the image workers, and the network with the writer, joined by bounded channels.
/// </summary>
internal sealed class ScoringRun(ScoreOptions options, char separator, ShardReader shard, IScoringNetwork network,
    ImagePreparer preparer, PredictionsFile output, long rowsInShard, Action<ScoringProgress>? progress)
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly ScoreOptions _options = options;
    private readonly ConcurrentBag<float[]> _buffers = [];
    private readonly Dictionary<RowErrorReason, long> _badRows = [];
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

    // Sends the shard's rows not yet done on, a batch at a time, to the writer (in order) and to the workers.
    private async Task ReadAsync(ChannelWriter<Window> inOrder, ChannelWriter<Window> toPrepare, CancellationToken cancellation)
    {
        try
        {
            foreach (List<InputRow> rows in shard.Batches(output.RowsDone))
            {
                var window = new Window(rows, _buffers.TryTake(out float[]? buffer) ? buffer : new float[_options.BatchSize * network.FeatureLength]);
                await inOrder.WriteAsync(window, cancellation).ConfigureAwait(false);
                await toPrepare.WriteAsync(window, cancellation).ConfigureAwait(false);
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
        if (_options.FailFast && rows.FirstOrDefault(row => row.Error is not null) is { Error: { } failure } bad)
        {
            // --resume refuses an input that changed since the job began, so the advice never asks for
            // the list to be edited when the image itself can be mended.
            const string ResumeKeepsTheRows = "rerun the same command with --resume (in place of --overwrite, if it had that), which keeps the rows already written";
            string mend = failure.Reason.IsRowMalformed
                ? "the row itself is malformed: correct it in the input and score again with --overwrite (an edited input cannot be resumed), " +
                  "or score without --fail-fast to have it reported in the Error column"
                : failure.Reason == RowErrorReason.Of(InvalidImageReason.TooManyPixels)
                ? string.Create(CultureInfo.InvariantCulture, $"if the image is meant to be that large, raise --max-image-pixels (now {_options.MaxImagePixels:N0}) and {ResumeKeepsTheRows}")
                : $"repair or replace the file and {ResumeKeepsTheRows}; " +
                  "editing the input instead (removing the row) makes it another job, which --resume refuses: then score again with --overwrite, " +
                  "or without --fail-fast to have bad rows reported in the Error column";
            // The path and what was found are quoted with their line breaks escaped (\x0A), not made
            // spaces as the rest of a message is: 'gone x.png' could be another file.
            throw new CommandLineException(ExitCodes.BadRow,
                $"'{Printable.Escaped(_options.InputPath)}', row {bad.Number - 1} (counting from 0), line {bad.Line}, path '{Printable.FilePath(bad.Path)}': {Printable.PathDetail(failure.ToString())}. " +
                $"Stopped by --fail-fast after {output.RowsDone + _written} rows; {mend}");
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
            if (row.Error is not { } error)
            {
                ReadOnlySpan<float> p = probabilities.AsSpan(scored++ * classes, classes);
                TopClasses.Find(p, best);
                foreach (int c in best)
                {
                    text.Append(separator);
                    CsvText.AppendField(text, network.ClassLabels[c], separator);
                    text.Append(separator).Append(p[c].ToString(CultureInfo.InvariantCulture));
                }

                text.Append(separator);
            }
            else
            {
                text.Append(separator, 2 * _options.TopK + 1);
                CsvText.AppendField(text, error.ToString(), separator);
                _badRows[error.Reason] = _badRows.GetValueOrDefault(error.Reason) + 1;
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

    /// <summary>A batch of consecutive rows of the shard and their prepared images.</summary>
    private sealed class Window(List<InputRow> rows, float[] features)
    {
        public List<InputRow> Rows { get; } = rows;

        public float[] Features { get; } = features;

        public TaskCompletionSource Prepared { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
