namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// An allocation libtorch cannot make becomes an error that names the batch-size setting to lower.
/// A GPU's "CUDA out of memory" cannot be caused here (no GPU); the CPU allocator's own failure,
/// which reaches .NET the same way, is the real error under test.
/// </summary>
public class DeviceMemoryTests
{
    [Test]
    public void LibTorchsFailedAllocationIsRecognisedAndExplained()
    {
        TorchRuntime.EnsureLoaded();
        // 2^45 floats, 128 TiB: more than this machine's memory and swap, so the allocator refuses
        // at once instead of the kernel killing the process later.
        Exception? failure = null;
        try
        {
            using Tensor huge = empty([1L << 45]);
        }
        catch (Exception error)
        {
            failure = error;
        }

        Assert.That(failure, Is.Not.Null, "libtorch refused a 128 TiB tensor");
        Assert.That(DeviceMemory.IsOutOfMemory(failure!), Is.True, failure!.ToString());

        InsufficientMemoryException explained = DeviceMemory.OutOfMemory(failure!, CPU, "TrainerOptions.BatchSize", 256);
        Assert.That(explained.Message, Does.StartWith("Out of memory on the CPU with a batch of 256 images: lower TrainerOptions.BatchSize (try 128)."));
        Assert.That(explained.Message, Does.Contain("libtorch said: ").And.Not.Contain("\n"), "libtorch's first line only");
        Assert.That(explained.InnerException, Is.SameAs(failure));
    }

    [Test]
    public void OtherLibTorchErrorsAreNotTakenForMemory()
    {
        TorchRuntime.EnsureLoaded();
        using Tensor a = ones([2, 3]);
        Exception error = Assert.Catch(() => a.reshape(7).Dispose())!;
        Assert.That(DeviceMemory.IsOutOfMemory(error), Is.False, error.Message);
        Assert.That(DeviceMemory.IsOutOfMemory(new InvalidOperationException("out of memory")), Is.False, "only libtorch's errors");
    }
}
