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
        _threads = get_num_threads();
        set_num_threads(1);
    }

    [TearDown]
    public void RestoreThreads() => set_num_threads(_threads);
}
