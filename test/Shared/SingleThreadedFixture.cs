using MLNet.BNInception.Torch;

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
        _threads = torch.get_num_threads();
        torch.set_num_threads(1);
    }

    [TearDown]
    public void RestoreThreads() => torch.set_num_threads(_threads);
}
