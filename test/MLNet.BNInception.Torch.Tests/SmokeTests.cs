namespace MLNet.BNInception.Torch.Tests;

public class SmokeTests
{
    [Test]
    public void LoadsLibtorchAndAddsTensors()
    {
        using Tensor a = torch.tensor(new float[] { 1, 2, 3 });
        using Tensor b = torch.tensor(new float[] { 10, 20, 30 });
        using Tensor c = a + b;
        Assert.That(c.ToArray<float>(), Is.EqualTo(new float[] { 11, 22, 33 }));
        Assert.That(torch.version, Does.StartWith("1.13"));
    }
}
