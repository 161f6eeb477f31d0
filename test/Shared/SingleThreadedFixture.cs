using MLNet.BNInception.Engine;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Base of fixtures whose tests need bit-identical results: libtorch runs on one thread during each
/// test (parallel reductions may sum in a different order), and the previous count is restored after.
/// </summary>
public abstract class SingleThreadedFixture
{
    private int _threads;

    [SetUp]
    public void UseOneThread()
    {
        // Loaded first: the load applies BNINCEPTION_NUM_THREADS. A count read before it is libtorch's
        // default, the machine's cores, and the tear-down restored that for the rest of the process:
        // where such a fixture came first, the test lanes' processes trained on two threads instead of
        // one (docs/testing.md, "One thread a process").
        TorchRuntime.EnsureLoaded();
        _threads = get_num_threads();
        set_num_threads(1);
    }

    [TearDown]
    public void RestoreThreads() => set_num_threads(_threads);
}
