using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Fashion-MNIST written as PNG files and CSV lists: a later call reuses a list only when it lists
/// the very images that call would write. Image i of a split is always <c>{split}/{i}.png</c>, so
/// the expected lists are written here from the counts alone.
/// </summary>
public class FashionMnistFilesTests
{
    [Test]
    public void ACallForMoreTrainingImagesWritesTheValidationListAgainAfterThem()
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Write(folder.File("data"), 100, 20, 10);
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 200, 20, 10);

        string[] train = Paths(files.TrainCsv), validation = Paths(files.ValidationCsv);
        Assert.That(train, Is.EqualTo(Enumerable.Range(0, 200).Select(i => $"train/{i}.png")));
        Assert.That(validation, Is.EqualTo(Enumerable.Range(200, 20).Select(i => $"train/{i}.png")), "the 20 images after the 200 training ones");
        Assert.That(train.Intersect(validation), Is.Empty, "no validation image is also a training image");
        Assert.That(Paths(files.TestCsv), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"t10k/{i}.png")));
    }

    [Test]
    public void TheSameCallAgainReusesTheListsAndTheirImages()
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 10, 4, 5);
        // An image removed behind the lists' back shows whether the second call wrote the images again.
        File.Delete(Path.Combine(files.ImageFolder, "train", "3.png"));
        FashionMnistFiles.Write(folder.File("data"), 10, 4, 5);

        Assert.That(Path.Combine(files.ImageFolder, "train", "3.png"), Does.Not.Exist, "reused, not written again");
        Assert.That(Paths(files.ValidationCsv), Is.EqualTo(Enumerable.Range(10, 4).Select(i => $"train/{i}.png")));
    }

    [Test]
    public void ACancelledCallWritesNoListAndTheNextCallWritesThemAll()
    {
        using var folder = new TemporaryDirectory();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.That(() => FashionMnistFiles.Write(folder.File("data"), 10, 0, 5, cancellationToken: cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(Directory.EnumerateFiles(folder.Path, "*.csv", SearchOption.AllDirectories), Is.Empty, "a list is written only once every image it names is");

        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 10, 0, 5);
        Assert.That(Paths(files.TrainCsv), Is.EqualTo(Enumerable.Range(0, 10).Select(i => $"train/{i}.png")));
    }

    // The image paths of a list, in order; none of them needs quoting.
    private static string[] Paths(string csv)
    {
        string[] lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("ImagePath,Label"));
        return lines.Skip(1).Select(line => line.Split(',')[0]).ToArray();
    }
}
