using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Confining libtorch to one thread on a helper thread (the trainer's read-ahead on the CPU) changes
/// that thread alone: the thread that trains, and threads started later, keep the process's count.
/// </summary>
// Two threads, so that "one" and "the process's count" differ on any machine.
public class LibTorchThreadsTests() : ThreadCountFixture(2)
{
    [Test]
    public void OnlyTheCallingThreadRunsOnOneThread()
    {
        int threads = get_num_threads();
        int helperBefore = 0, helperAfter = 0;
        bool confined = false;
        RunOnNewThread(() =>
        {
            helperBefore = get_num_threads();
            confined = LibTorchThreads.UseOneThreadHere();
            helperAfter = get_num_threads();
        });
        int startedLater = 0;
        RunOnNewThread(() => startedLater = get_num_threads());

        Assert.That(confined, Is.True, "libtorch's OpenMP runtime was not found");
        Assert.That(helperBefore, Is.EqualTo(threads), "a new thread starts with the process's count");
        Assert.That(helperAfter, Is.EqualTo(1));
        Assert.That(get_num_threads(), Is.EqualTo(threads), "the calling thread keeps its count");
        Assert.That(startedLater, Is.EqualTo(threads), "threads started later keep the process's count");
    }

    [TestCase(true, ExpectedResult = 1)]
    [TestCase(false, ExpectedResult = -1, Description = "-1: the process's count")]
    public int TheReadAheadThreadRunsOnOneThreadWhenAsked(bool singleThreadedReader)
    {
        int readerThreads = 0;
        IEnumerable<LabelledBatch> Read(CancellationToken _)
        {
            readerThreads = get_num_threads();
            yield break;
        }

        using (var prefetcher = new BatchPrefetcher(Read, count: 1, pinMemory: false, CancellationToken.None, singleThreadedReader))
        {
            Assert.That(prefetcher.Next(), Is.Null);
        }

        return readerThreads == get_num_threads() ? -1 : readerThreads;
    }

    private static void RunOnNewThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception error)
            {
                failure = error;
            }
        });
        thread.Start();
        thread.Join();
        Assert.That(failure, Is.Null);
    }
}
