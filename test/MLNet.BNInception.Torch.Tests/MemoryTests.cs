using MLNet.BNInception.Torch.Modules;
using MLNet.BNInception.Torch.Optim;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>Long training loops inside dispose scopes neither leak handles nor grow resident memory.</summary>
public class MemoryTests
{
    [Test]
    public void TwoThousandTrainingStepsKeepHandlesAndMemoryFlat()
    {
        const int warmUpSteps = 100, steps = 2000;
        torch.manual_seed(5);
        long handlesAtStart = torch.LiveTensorCount;
        using (var net = new Sequential(
            new Conv2d(1, 8, 3, padding: 1, bias: false), new BatchNorm2d(8), new ReLU(),
            new Conv2d(8, 16, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(16), new ReLU(),
            new Flatten(), new Linear(16 * 8 * 8, 10)))
        using (var optimizer = new SGD(net.parameters(), lr: 0.05, momentum: 0.9, weight_decay: 1e-4))
        using (Tensor images = torch.randn([16, 1, 16, 16]))
        using (Tensor labels = torch.randint(0, 10, [16]))
        {
            void TrainStep()
            {
                using DisposeScope scope = torch.NewDisposeScope();
                Tensor loss = F.cross_entropy(net.call(images), labels, label_smoothing: 0.1);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            }

            for (int i = 0; i < warmUpSteps; i++)
            {
                TrainStep();
            }

            long handlesAfterWarmUp = torch.LiveTensorCount;
            long residentAfterWarmUp = ResidentBytes();
            for (int i = 0; i < steps; i++)
            {
                TrainStep();
            }

            long growth = ResidentBytes() - residentAfterWarmUp;
            TestContext.Out.WriteLine($"{steps} steps: resident memory grew by {growth / 1024.0 / 1024:F1} MB");
            Assert.That(torch.LiveTensorCount, Is.EqualTo(handlesAfterWarmUp), "handles alive after the loop");
            Assert.That(growth, Is.LessThan(50L * 1024 * 1024), $"resident memory grew by {growth / 1024 / 1024} MB");
        }

        Assert.That(torch.LiveTensorCount, Is.EqualTo(handlesAtStart), "handles alive once the model and optimizer are disposed");
    }

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
