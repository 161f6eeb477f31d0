using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Fashion-MNIST written as PNG files and CSV lists: a later call reuses a list only when it lists
/// the very images that call would write, each of them whole; an image is replaced through a
/// temporary file, only when it differs. Image i of a split is always <c>{split}/{i}.png</c>, so
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
        // A file written again gets the time of writing: an old time shows whether the second call replaced it.
        string image = Path.Combine(files.ImageFolder, "train", "3.png");
        File.SetLastWriteTimeUtc(image, LongAgo);
        File.SetLastWriteTimeUtc(files.ValidationCsv, LongAgo);
        FashionMnistFiles.Write(folder.File("data"), 10, 4, 5);

        Assert.That(File.GetLastWriteTimeUtc(image), Is.EqualTo(LongAgo), "the image reused, not written again");
        Assert.That(File.GetLastWriteTimeUtc(files.ValidationCsv), Is.EqualTo(LongAgo), "the list reused");
        Assert.That(Paths(files.ValidationCsv), Is.EqualTo(Enumerable.Range(10, 4).Select(i => $"train/{i}.png")));
    }

    // A run killed while it rewrote images in place left an empty file under a list that still named
    // exactly the images asked for: every later run reused the list, and the demo failed on the image.
    [TestCase(0)]
    [TestCase(100)]
    public void AnEmptyOrCutOffImageUnderAReusedListIsWrittenAgain(int bytesKept)
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 10, 0, 5);
        string image = Path.Combine(files.ImageFolder, "t10k", "3.png");
        byte[] whole = File.ReadAllBytes(image);
        File.WriteAllBytes(image, whole[..bytesKept]);
        FashionMnistFiles.Write(folder.File("data"), 10, 0, 5);

        Assert.That(File.ReadAllBytes(image), Is.EqualTo(whole));
    }

    // Written in place, the file under its final name is empty, then part of an image, until the
    // write ends; a reader holding the old file (as a kill leaves it) shows which way it was written.
    [Test]
    public void AnImageIsReplacedThroughATemporaryFileNotRewrittenInPlace()
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 10, 0, 5);
        string image = Path.Combine(files.ImageFolder, "train", "3.png");
        byte[] whole = File.ReadAllBytes(image);
        File.WriteAllBytes(image, "not a PNG"u8.ToArray());
        File.Delete(files.TrainCsv);

        using (var old = new FileStream(image, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            FashionMnistFiles.Write(folder.File("data"), 10, 0, 5);
            Assert.That(new StreamReader(old).ReadToEnd(), Is.EqualTo("not a PNG"), "the old file left as it was, and another renamed over it");
        }

        Assert.That(File.ReadAllBytes(image), Is.EqualTo(whole));
        Assert.That(Directory.EnumerateFiles(folder.Path, "*", SearchOption.AllDirectories).Where(path => !path.EndsWith(".png", StringComparison.Ordinal) && !path.EndsWith(".csv", StringComparison.Ordinal)),
            Is.Empty, "no temporary file left");
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

    private static readonly DateTime LongAgo = new(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);

    // The image paths of a list, in order; none of them needs quoting.
    private static string[] Paths(string csv)
    {
        string[] lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("ImagePath,Label"));
        return lines.Skip(1).Select(line => line.Split(',')[0]).ToArray();
    }
}
