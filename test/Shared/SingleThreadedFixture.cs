using MLNet.BNInception.Engine;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Base of fixtures whose tests need libtorch on a set number of threads: that count during each
/// test, and the count found before it restored after.
/// </summary>
/// <param name="threads">libtorch's threads during each test.</param>
public abstract class ThreadCountFixture(int threads)
{
    private int _threadsBefore;

    [SetUp]
    public void UseTheFixturesThreadCount()
    {
        // Loaded first: the load applies BNINCEPTION_NUM_THREADS. A count read before it is libtorch's
        // default, the machine's cores, and the tear-down restored that for the rest of the process:
        // where such a fixture came first, the test lanes' processes trained on two threads instead of
        // one (docs/testing.md, "One thread a process").
        TorchRuntime.EnsureLoaded();
        _threadsBefore = get_num_threads();
        set_num_threads(threads);
    }

    [TearDown]
    public void RestoreThreadCount() => set_num_threads(_threadsBefore);
}

/// <summary>
/// Base of fixtures whose tests need bit-identical results: libtorch runs on one thread during each
/// test (parallel reductions may sum in a different order).
/// </summary>
public abstract class SingleThreadedFixture() : ThreadCountFixture(1);
