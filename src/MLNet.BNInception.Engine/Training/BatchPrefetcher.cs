using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Reads one pass of batches on a thread of its own, a few batches ahead of the training step, so
/// that reading and decoding overlap the step before (docs/engine.md, "Keeping the device busy").
/// For a CUDA device each batch is moved into pinned memory on that thread, from which the step's
/// copy to the device does not block the host.
/// </summary>
/// <remarks>
/// The reader thread owns every batch it reads, from reading to freeing: the training thread hands
/// each one back when it asks for the next (or when the prefetcher is disposed), and the reader
/// disposes it. TorchSharp keeps its dispose scopes and its count of live tensors per thread, so a
/// tensor made on one thread and freed on another would leave both threads' counts wrong; and the
/// reader makes its tensors outside any scope, so no scope of the training thread can take them.
/// </remarks>
internal sealed class BatchPrefetcher : IDisposable
{
    /// <summary>Batches read beyond the one being trained on.</summary>
    public const int DefaultBatchesAhead = 2;

    private readonly BlockingCollection<Item> _ready = new();
    private readonly BlockingCollection<LabelledBatch> _handedBack = new();
    private readonly CancellationTokenSource _stop;
    private readonly CancellationToken _cancellationToken;
    private readonly Task _reader;
    private LabelledBatch? _current;
    private bool _disposed;

    /// <summary>Starts reading.</summary>
    /// <param name="read">Opens the pass, with a token that is cancelled when the caller's is or when the prefetcher is disposed.</param>
    /// <param name="count">Batches to read; the source is not asked for more (nor opened at all for 0).</param>
    /// <param name="pinMemory">Move each batch into pinned (page-locked) memory; only where CUDA is available.</param>
    /// <param name="cancellationToken">Stops the reading and any wait in <see cref="Next"/>.</param>
    /// <param name="singleThreadedReader">
    /// Run the reader's libtorch operations on the reader thread alone: for a CPU device, whose step
    /// needs every core (<see cref="LibTorchThreads"/> says why a second team of threads costs more than its share).
    /// </param>
    /// <param name="batchesAhead">Batches read beyond the one the caller holds; at least 1.</param>
    public BatchPrefetcher(Func<CancellationToken, IEnumerable<LabelledBatch>> read, int count, bool pinMemory, CancellationToken cancellationToken,
        bool singleThreadedReader = false, int batchesAhead = DefaultBatchesAhead)
    {
        ArgumentNullException.ThrowIfNull(read);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchesAhead, 1);
        _cancellationToken = cancellationToken;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _reader = Task.Factory.StartNew(() => Produce(read, count, pinMemory, singleThreadedReader, batchesAhead), CancellationToken.None, TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    /// <summary>
    /// The next batch, or null when the source has none left. It stays valid until the next call or
    /// <see cref="Dispose"/>, which hand it back to be freed: the caller does not dispose it.
    /// </summary>
    /// <exception cref="OperationCanceledException">The caller's token was cancelled.</exception>
    /// <exception cref="Exception">Whatever the source threw, with its own type, message and stack.</exception>
    public LabelledBatch? Next()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        HandBackCurrent();
        if (!_ready.TryTake(out Item item, Timeout.Infinite, _cancellationToken))
        {
            return null;
        }

        item.Failure?.Throw();
        _current = item.Batch;
        return _current;
    }

    /// <summary>Stops the reader and waits for it to free every batch it read, the queued ones included.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Cancel();
        HandBackCurrent();
        _handedBack.CompleteAdding();
        _reader.Wait();
        _ready.Dispose();
        _handedBack.Dispose();
        _stop.Dispose();
    }

    private void HandBackCurrent()
    {
        if (_current is not null)
        {
            _handedBack.Add(_current);
            _current = null;
        }
    }

    private void Produce(Func<CancellationToken, IEnumerable<LabelledBatch>> read, int count, bool pinMemory, bool singleThreadedReader,
        int batchesAhead)
    {
        // Read and not yet handed back: the caller's batch and the ones queued for it.
        int held = 0;
        try
        {
            if (singleThreadedReader)
            {
                LibTorchThreads.UseOneThreadHere();
            }

            if (count > 0)
            {
                using IEnumerator<LabelledBatch> batches = read(_stop.Token).GetEnumerator();
                for (int i = 0; i < count; i++)
                {
                    while (_handedBack.TryTake(out LabelledBatch? done))
                    {
                        done.Dispose();
                        held--;
                    }

                    while (held > batchesAhead)
                    {
                        _handedBack.Take(_stop.Token).Dispose();
                        held--;
                    }

                    if (!batches.MoveNext())
                    {
                        break;
                    }

                    LabelledBatch batch = pinMemory ? Pinned(batches.Current) : batches.Current;
                    held++;
                    _ready.Add(new Item(batch, null));
                }
            }
        }
        catch (Exception error)
        {
            // Reported on the caller's thread when it asks for the batch it did not get; after a
            // stop, nobody asks.
            _ready.Add(new Item(null, ExceptionDispatchInfo.Capture(error)));
        }
        finally
        {
            _ready.CompleteAdding();
        }

        // Free the batches as the caller hands them back, until it is done; then those it never took.
        foreach (LabelledBatch done in _handedBack.GetConsumingEnumerable())
        {
            done.Dispose();
        }

        while (_ready.TryTake(out Item left))
        {
            left.Batch?.Dispose();
        }
    }

    // A source whose tensors already live on the device (an InMemoryBatchSource of CUDA tensors)
    // hands over device batches: there is nothing to pin.
    private static LabelledBatch Pinned(LabelledBatch batch)
    {
        if (batch.Images.device_type != TorchSharp.DeviceType.CPU)
        {
            return batch;
        }

        using (batch)
        {
            TorchSharp.torch.Tensor images = batch.Images.pin_memory();
            try
            {
                return new LabelledBatch(images, batch.Labels.pin_memory(), batch.Rows) { LabelsCheckedForClasses = batch.LabelsCheckedForClasses };
            }
            catch
            {
                images.Dispose();
                throw;
            }
        }
    }

    private readonly record struct Item(LabelledBatch? Batch, ExceptionDispatchInfo? Failure);
}
