using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The trainer's read-ahead: the same batches in the same order as reading the source directly,
/// the source's errors on the caller's thread, a bounded number of batches ahead, and every batch it
/// read freed however the pass ends.
/// </summary>
public class BatchPrefetcherTests
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3 };

    // Long enough for a thread to be scheduled on a loaded machine; a hang fails instead of blocking the run.
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    private static (Tensor Images, Tensor Labels) Data(int count)
    {
        manual_seed(42);
        return (randn([count, 1, 64, 64]), randint(0, 3, [count]));
    }

    [TestCase(null, 0, false)]
    [TestCase(7UL, 0, false)]
    [TestCase(7UL, 2, false, Description = "a resumed pass, shuffled, skipping its first two batches")]
    [TestCase(7UL, 1, true)]
    public void GivesTheSourcesBatchesInItsOrder(ulong? seed, int skip, bool dropLast)
    {
        (Tensor images, Tensor labels) = Data(23);
        using (images)
        using (labels)
        {
            var source = new InMemoryBatchSource(images, labels, Model);
            var expected = new List<(long[] Rows, byte[] Images, long[] Labels)>();
            foreach (LabelledBatch batch in source.ReadBatches(4, seed, skip, dropLast, CancellationToken.None))
            {
                using (batch)
                {
                    expected.Add(([.. batch.Rows], batch.Images.bytes.ToArray(), batch.Labels.data<long>().ToArray()));
                }
            }

            var actual = new List<(long[] Rows, byte[] Images, long[] Labels)>();
            using (var prefetcher = new BatchPrefetcher(token => source.ReadBatches(4, seed, skip, dropLast, token), expected.Count, pinMemory: false,
                CancellationToken.None))
            {
                while (prefetcher.Next() is { } batch)
                {
                    actual.Add(([.. batch.Rows], batch.Images.bytes.ToArray(), batch.Labels.data<long>().ToArray()));
                }
            }

            Assert.That(expected, Has.Count.EqualTo(dropLast ? 5 - skip : 6 - skip));
            Assert.That(actual.Select(b => b.Rows), Is.EqualTo(expected.Select(b => b.Rows)));
            Assert.That(actual.Select(b => b.Images), Is.EqualTo(expected.Select(b => b.Images)));
            Assert.That(actual.Select(b => b.Labels), Is.EqualTo(expected.Select(b => b.Labels)));
        }
    }

    [Test]
    public void ReadsNoMoreThanAskedAndSaysWhenTheSourceRunsOut()
    {
        var source = new CountingSource(batches: 5);
        using (var prefetcher = new BatchPrefetcher(source.Read, count: 3, pinMemory: false, CancellationToken.None))
        {
            Assert.That(Enumerable.Range(0, 4).Select(_ => prefetcher.Next()?.Rows[0]).ToArray(), Is.EqualTo(new long?[] { 0, 2, 4, null }));
        }

        Assert.That(source.Made, Has.Count.EqualTo(3), "the source was not asked past the count");

        var shortSource = new CountingSource(batches: 2);
        using (var prefetcher = new BatchPrefetcher(shortSource.Read, count: 3, pinMemory: false, CancellationToken.None))
        {
            Assert.That(Enumerable.Range(0, 3).Select(_ => prefetcher.Next()?.Rows[0]).ToArray(), Is.EqualTo(new long?[] { 0, 2, null }));
        }

        var never = new CountingSource(batches: 2);
        using (var prefetcher = new BatchPrefetcher(never.Read, count: 0, pinMemory: false, CancellationToken.None))
        {
            Assert.That(prefetcher.Next(), Is.Null);
        }

        Assert.That(never.Opened, Is.False, "a pass of nothing does not open the source");
        Assert.That(source.Made.Concat(shortSource.Made).All(IsFreed), Is.True);
    }

    [Test]
    public void TheSourcesErrorReachesTheCallerAfterTheBatchesBeforeIt()
    {
        var source = new CountingSource(batches: 5) { FailAt = 2 };
        using (var prefetcher = new BatchPrefetcher(source.Read, count: 5, pinMemory: false, CancellationToken.None))
        {
            Assert.That(prefetcher.Next()!.Rows[0], Is.EqualTo(0));
            Assert.That(prefetcher.Next()!.Rows[0], Is.EqualTo(2));
            var error = Assert.Throws<ArgumentException>(() => prefetcher.Next());
            Assert.That(error!.Message, Is.EqualTo("The label at row 4 is out of range."), "its own type and message");
            Assert.That(error.StackTrace, Does.Contain(nameof(CountingSource)), "and the stack where the source threw it");
        }

        // An error from opening the pass, before any batch, too.
        using (var prefetcher = new BatchPrefetcher(_ => throw new InvalidDataException("no such pass"), count: 5, pinMemory: false, CancellationToken.None))
        {
            Assert.That(Assert.Throws<InvalidDataException>(() => prefetcher.Next())!.Message, Is.EqualTo("no such pass"));
        }

        Assert.That(source.Made.All(IsFreed), Is.True);
    }

    [Test]
    public void ReadsAtMostTwoBatchesAheadAndDisposingFreesThemAll()
    {
        var source = new CountingSource(batches: 100);
        using (var prefetcher = new BatchPrefetcher(source.Read, count: 100, pinMemory: false, CancellationToken.None))
        {
            LabelledBatch first = prefetcher.Next()!;
            Assert.That(SpinWait.SpinUntil(() => source.Made.Count == 3, Patience), Is.True, "it reads ahead while the caller holds a batch");
            Assert.That(IsFreed(first), Is.False);

            LabelledBatch second = prefetcher.Next()!;
            Assert.That(SpinWait.SpinUntil(() => IsFreed(first), Patience), Is.True, "the batch before is freed once the next is asked for");
            Assert.That(IsFreed(second), Is.False);
            Assert.That(SpinWait.SpinUntil(() => source.Made.Count == 4, Patience), Is.True);
        }

        // Each batch past the third waited for one handed back (the first); Dispose stops the reader
        // before it hands back the second, so the source is asked for nothing more.
        Assert.That(source.Made, Has.Count.EqualTo(4), "the caller's batch and two ahead, no more");
        Assert.That(source.Made.All(IsFreed), Is.True, "the batch held and the ones queued, freed by Dispose");
        Assert.That(source.Closed, Is.True, "the pass's enumerator was disposed");
    }

    [Test]
    public void CancellationStopsTheReaderAndTheWait()
    {
        var source = new CountingSource(batches: 100);
        using var cancellation = new CancellationTokenSource();
        using (var prefetcher = new BatchPrefetcher(source.Read, count: 100, pinMemory: false, cancellation.Token))
        {
            Assert.That(prefetcher.Next(), Is.Not.Null);
            cancellation.Cancel();
            Assert.That(SpinWait.SpinUntil(() => source.Closed, Patience), Is.True, "the reader stopped without being disposed");
            Assert.Throws<OperationCanceledException>(() => prefetcher.Next());
            Assert.That(source.Token.IsCancellationRequested, Is.True, "the source was given a token the caller's cancels");
        }

        Assert.That(source.Made.All(IsFreed), Is.True);
    }

    [Test]
    public void TheReaderFreesWhatItReadSoTheCallersThreadCountsNoTensorsItDidNotMake()
    {
        // TorchSharp counts live tensors per thread (MemoryTests relies on it): were the caller to
        // free the reader's tensors, its own count would drop below where it started.
        var source = new CountingSource(batches: 6);
        long before = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        using (var prefetcher = new BatchPrefetcher(source.Read, count: 6, pinMemory: false, CancellationToken.None))
        {
            while (prefetcher.Next() is { } batch)
            {
                Assert.That(batch.Images.shape, Is.EqualTo(new long[] { 2, 1, 4, 4 }));
            }
        }

        Assert.That(source.Made.All(IsFreed), Is.True);
        Assert.That(DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount, Is.EqualTo(before));
    }

    private static bool IsFreed(LabelledBatch batch) => batch.Images.IsInvalid && batch.Labels.IsInvalid;

    /// <summary>Batches of two 4 × 4 images, batch i holding rows 2i and 2i + 1; it records each batch it makes.</summary>
    private sealed class CountingSource(int batches)
    {
        private readonly List<LabelledBatch> _made = [];

        public int? FailAt { get; init; }

        public bool Opened { get; private set; }

        public bool Closed { get; private set; }

        public CancellationToken Token { get; private set; }

        public IReadOnlyList<LabelledBatch> Made
        {
            get
            {
                lock (_made)
                {
                    return [.. _made];
                }
            }
        }

        public IEnumerable<LabelledBatch> Read(CancellationToken cancellationToken)
        {
            Opened = true;
            Token = cancellationToken;
            try
            {
                for (int i = 0; i < batches; i++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (i == FailAt)
                    {
                        throw new ArgumentException($"The label at row {2 * i} is out of range.");
                    }

                    var batch = new LabelledBatch(zeros([2, 1, 4, 4]), zeros([2], ScalarType.Int64), [2 * i, (2 * i) + 1]);
                    lock (_made)
                    {
                        _made.Add(batch);
                    }

                    yield return batch;
                }
            }
            finally
            {
                Closed = true;
            }
        }
    }
}
