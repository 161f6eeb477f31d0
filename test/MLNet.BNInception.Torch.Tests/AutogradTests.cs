namespace MLNet.BNInception.Torch.Tests;

public class AutogradTests
{
    [Test]
    public void BackwardAccumulatesAndClearGradResets()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new double[] { 1, 2, 3 }).requires_grad_();
        (x * x).sum().backward();
        Assert.That(x.grad!.ToArray<double>(), Is.EqualTo(new double[] { 2, 4, 6 }));
        (x * x).sum().backward();
        Assert.That(x.grad!.ToArray<double>(), Is.EqualTo(new double[] { 4, 8, 12 }), "gradients add up as in PyTorch");
        x.clear_grad();
        Assert.That(x.grad, Is.Null);
    }

    [Test]
    public void BackwardOfANonScalarNeedsAGradient()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = torch.tensor(new double[] { 1, 2 }).requires_grad_();
        Tensor y = x * 3;
        var error = Assert.Throws<TorchException>(() => y.backward());
        Assert.That(error!.Message, Does.Contain("grad can be implicitly created only for scalar outputs"));
        y.backward(torch.tensor(new double[] { 1, 10 }));
        Assert.That(x.grad!.ToArray<double>(), Is.EqualTo(new double[] { 3, 30 }));
    }

    [Test]
    public void NoGradStopsRecordingAndRestoresTheMode()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = torch.ones([2]).requires_grad_();
        Assert.That(torch.is_grad_enabled(), Is.True);
        using (torch.no_grad())
        {
            Assert.That((x * 2).requires_grad, Is.False);
            using (torch.enable_grad())
            {
                Assert.That((x * 2).requires_grad, Is.True);
            }

            Assert.That(torch.is_grad_enabled(), Is.False);
        }

        Assert.That(torch.is_grad_enabled(), Is.True);
        Assert.That((x * 2).requires_grad, Is.True);
    }

    [Test]
    public void InferenceModeTensorsCannotEnterAutogradLater()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor w = torch.ones([2]).requires_grad_();
        Tensor made;
        using (torch.inference_mode())
        {
            Assert.That(torch.is_inference_mode_enabled(), Is.True);
            made = torch.ones([2]) * 3;
            Assert.That((w * 2).requires_grad, Is.False);
        }

        Assert.That(torch.is_inference_mode_enabled(), Is.False);
        var error = Assert.Throws<TorchException>(() => (made * w).sum().backward());
        Assert.That(error!.Message, Does.Contain("Inference tensors cannot be saved for backward"));
    }

    [Test]
    public void GuardsRefuseToBeDisposedOnAnotherThread()
    {
        IDisposable guard = torch.no_grad();
        Exception? error = null;
        var thread = new Thread(() => error = Record(guard.Dispose));
        thread.Start();
        thread.Join();
        Assert.That(error, Is.TypeOf<InvalidOperationException>());
        guard.Dispose();
        Assert.That(torch.is_grad_enabled(), Is.True);
    }

    private static Exception? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (InvalidOperationException error)
        {
            return error;
        }
    }
}
