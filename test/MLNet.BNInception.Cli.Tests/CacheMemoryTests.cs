using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>train --cache</c> is refused before any image is read when its decoded images (4 × channels × size² bytes
/// a row) would not fit in the memory available: ImageNet's 1.28M rows at 64×64 in gray are some 21 GB.
/// </summary>
public class CacheMemoryTests
{
    private static TrainingSettings Settings(bool grayscale, int size) => new()
    {
        TrainPath = "train.csv", PathColumn = "ImagePath", LabelColumn = "Label", OutputPath = "model.zip", Threads = 1,
        Training = TrainerOptions.PaperBnX5, Cache = true, Grayscale = grayscale, ImageSize = size,
    };

    [Test]
    public void TheEstimateIsFourBytesPerValueOfEveryImage()
    {
        Assert.That(CacheMemory.Estimate(1_281_167, 1, 64), Is.EqualTo(20_990_640_128L));
        Assert.That(CacheMemory.Estimate(1_281_167, 3, 224), Is.EqualTo(771_406_024_704L));
    }

    [Test]
    public void MemAvailableIsReadInBytesAndNullWhereItCannotBe()
    {
        using var work = new TemporaryDirectory();
        File.WriteAllLines(work.File("meminfo"), ["MemTotal:       32000000 kB", "MemFree:         1000000 kB", "MemAvailable:   16000000 kB"]);
        File.WriteAllLines(work.File("other"), ["MemTotal:       32000000 kB"]);

        Assert.That(CacheMemory.Available(work.File("meminfo")), Is.EqualTo(16_000_000L * 1024));
        Assert.That(CacheMemory.Available(work.File("other")), Is.Null);
        Assert.That(CacheMemory.Available(work.File("missing")), Is.Null);
    }

    [Test]
    public void ACacheLargerThanTheMemoryAvailableIsRefusedWithExitCode2NamingBothAndTheAlternative()
    {
        var error = Assert.Throws<CommandLineException>(() => CacheMemory.Check(Settings(grayscale: true, size: 64), 1_281_167, 16_000_000_000))!;

        Assert.That(error.ExitCode, Is.EqualTo(ExitCodes.BadArguments));
        Assert.That(error.Message, Is.EqualTo(
            "--cache would hold the 1281167 decoded images of 'train.csv' in memory before the first step: about 21.0 GB (4 bytes × 1 channel × 64² per row), " +
            "more than the 16.0 GB this machine has available (MemAvailable in /proc/meminfo). Drop --cache: each epoch then decodes the images again, still in a fresh order of all the rows"));
    }

    [Test]
    public void ACacheThatFitsOrAnUnknownMemoryIsNotChecked()
    {
        Assert.DoesNotThrow(() => CacheMemory.Check(Settings(grayscale: false, size: 64), 100, 16_000_000_000));
        Assert.DoesNotThrow(() => CacheMemory.Check(Settings(grayscale: false, size: 224), 1_281_167, null));
    }
}
