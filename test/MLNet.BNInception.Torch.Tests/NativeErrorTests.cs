using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>libtorch's C++ errors reach .NET as exceptions with libtorch's message, and the process carries on.</summary>
public class NativeErrorTests
{
    [Test]
    public void Conv2dWithMismatchedChannelsThrowsLibtorchsMessage()
    {
        using Tensor input = torch.randn([1, 3, 8, 8]);
        using Tensor weight = torch.randn([4, 2, 3, 3]);
        var error = Assert.Throws<TorchException>(() => F.conv2d(input, weight));
        Assert.That(error!.Message, Does.Contain("expected input[1, 3, 8, 8] to have 2 channels, but got 3 channels"));
        Assert.That(error.Message, Does.Not.Contain("Exception raised from"), "the C++ backtrace is left out");
        AssertStillWorking();
    }

    [Test]
    public void CatOfMismatchedSizesThrowsLibtorchsMessage()
    {
        using Tensor a = torch.zeros([2, 3]);
        using Tensor b = torch.zeros([2, 4]);
        var error = Assert.Throws<TorchException>(() => torch.cat([a, b], dim: 0));
        Assert.That(error!.Message, Does.Contain("Sizes of tensors must match except in dimension 0"));
        AssertStillWorking();
    }

    [Test]
    public void ManyErrorsInARowLeakNoTensors()
    {
        using Tensor a = torch.zeros([2, 3]);
        using Tensor b = torch.zeros([5]);
        long before = torch.LiveTensorCount;
        for (int i = 0; i < 1000; i++)
        {
            Assert.Throws<TorchException>(() => a.matmul(b));
        }

        Assert.That(torch.LiveTensorCount, Is.EqualTo(before));
    }

    [Test]
    public void UsingADisposedTensorIsAManagedError()
    {
        Tensor a = torch.zeros([2]);
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = a.shape);
        Assert.That(a.IsDisposed, Is.True);
        a.Dispose(); // a second dispose is harmless
    }

    private static void AssertStillWorking()
    {
        using Tensor x = torch.ones([2, 2]);
        using Tensor y = x.matmul(x);
        Assert.That(y.ToArray<float>(), Is.EqualTo(new float[] { 2, 2, 2, 2 }));
    }
}
