using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>bninception train</c> over images that cannot be loaded: under the default <c>--on-invalid-image fail</c>
/// it stops with exit code 3 naming the row and path, however ML.NET reads the rows; under <c>skip</c> its
/// summary counts the images it trained on and the rows it skipped, by reason, and it says so when it skipped
/// them all.
/// </summary>
[Trains]
public class TrainingInvalidImageTests
{
    /// <summary>A few Fashion-MNIST images in a CSV list, with the files of <paramref name="damaged"/> rows cut in half and of <paramref name="missing"/> rows deleted.</summary>
    private static FashionMnistFiles.Files Data(TemporaryDirectory work, int rows, int[] damaged, int[] missing)
    {
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), rows, 0, 1);
        string[] paths = Csv.Read(files.TrainCsv).Column("ImagePath");
        foreach (int row in damaged)
        {
            string file = Path.Combine(files.ImageFolder, paths[row]);
            byte[] bytes = File.ReadAllBytes(file);
            File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        }

        foreach (int row in missing)
        {
            File.Delete(Path.Combine(files.ImageFolder, paths[row]));
        }

        return files;
    }

    private static string[] Train(FashionMnistFiles.Files files, string model, params string[] more) =>
    [
        "train", "--train", files.TrainCsv, "--image-folder", files.ImageFolder, "--size", "64", "--channels", "gray",
        "--epochs", "1", "--batch", "4", "--no-augment", "--out", model, .. more,
    ];

    [TestCase(false, TestName = "ADamagedImageStopsTrainingWithExitCode3NamingItsRowAndPath")]
    [TestCase(true, TestName = "ADamagedImageStopsCachedTrainingWithExitCode3NamingItsRowAndPath")]
    public void ADamagedImageStopsTrainingWithExitCode3NamingItsRowAndPath(bool cache)
    {
        string[] options = cache ? ["--cache"] : [];
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 8, damaged: [5], missing: []);
        string path = Csv.Read(files.TrainCsv).Column("ImagePath")[5];

        ExternalProcess.Result result = InstalledTool.Run(work.Path, Train(files, work.File("model.zip"), options));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[^1], Does.StartWith($"bninception: --train '{files.TrainCsv}', row 5 (counting from 0), line 7: the image '{path}' (column 'ImagePath') cannot be loaded: ").And.Contain("[Truncated]").And.EndWith("Fix or replace the file, or pass --on-invalid-image skip to leave such rows out"));
        Assert.That(result.Error, Does.Not.Contain("unexpected"));
        Assert.That(File.Exists(work.File("model.zip")), Is.False);
    }

    [Test]
    public void WithSkipTheSummaryCountsTheImagesTrainedOnAndTheRowsSkipped()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 18, damaged: [3], missing: [11]);

        ExternalProcess.Result result = InstalledTool.Succeed(work.Path, Train(files, work.File("model.zip"), "--on-invalid-image", "skip"));

        Assert.That(result.Output, Does.StartWith(
            "trained on 16 images (2 of the 18 rows skipped, their images cannot be loaded: 1 FileNotFound, 1 Truncated) of "));
        Assert.That(result.Error, Does.Contain("row 3 (counting from 0)").And.Contain("row 11 (counting from 0)"), "each skipped row has its warning");
    }

    [Test]
    public void TheSkipPassAndTheCacheFillShowTheirProgress()
    {
        // Both decode every image before the first step: at ImageNet scale, a silent hour.
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 130, damaged: [3], missing: [100]);

        string[] options = Train(files, work.File("model.zip"), "--on-invalid-image", "skip", "--cache");
        options[Array.IndexOf(options, "--batch") + 1] = "32";

        ExternalProcess.Result result = InstalledTool.Succeed(work.Path, options);

        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The pass reports every 64 rows it keeps, as the list's row: the 64th kept is row 64 (from 0), after the skipped row 3.
        Assert.That(lines.Where(line => line.StartsWith("training: checking the images: ", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "training: checking the images: row 65 of 130 (50.0%)", "training: checking the images: row 130 of 130 (100.0%)" }), result.Error);
        // The cache holds the 128 images kept, numbered anew.
        Assert.That(lines.Where(line => line.StartsWith("training: caching the images: ", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "training: caching the images: row 64 of 128 (50.0%)", "training: caching the images: row 128 of 128 (100.0%)" }), result.Error);
        Assert.That(Array.FindIndex(lines, line => line.StartsWith("training: caching", StringComparison.Ordinal)),
            Is.LessThan(Array.FindIndex(lines, line => line.StartsWith("training: epoch 1/1, step 1/", StringComparison.Ordinal))), "before the first step");
    }

    [Test]
    public void WhenSkipLeavesNoRowTrainingSaysEveryRowWasSkippedAndWhy()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 4, damaged: [0], missing: [1, 2, 3]);

        ExternalProcess.Result result = InstalledTool.Run(work.Path, Train(files, work.File("model.zip"), "--on-invalid-image", "skip"));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[^1], Is.EqualTo(
            $"bninception: every one of the 4 rows of '{files.TrainCsv}' was skipped, so there is nothing to train on: their images cannot be " +
            "loaded (3 FileNotFound, 1 Truncated; the warnings above name each row and path). Fix the files, or pass the --image-folder their paths are relative to"));
        Assert.That(result.Error, Does.Not.Contain("DropLastBatch"));
    }

    [Test]
    public void WithSkipAWrongImageFolderListsTheFirstSkippedRowsAndCountsTheRest()
    {
        // Every row fails under a wrong --image-folder: a warning line each was 1.28M lines at ImageNet scale.
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 30, damaged: [], missing: []);
        string[] options = Train(files, work.File("model.zip"), "--on-invalid-image", "skip");
        options[Array.IndexOf(options, "--image-folder") + 1] = work.File("elsewhere");
        Directory.CreateDirectory(work.File("elsewhere"));

        ExternalProcess.Result result = InstalledTool.Run(work.Path, options);

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        string[] lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Count(line => line.Contains("(counting from 0)")), Is.EqualTo(20), result.Error);
        Assert.That(lines.Count(line => line.Contains("warning: further rows whose images cannot be loaded are skipped without a warning each")), Is.EqualTo(1), result.Error);
        Assert.That(lines.Count(line => line.Contains("warning:")), Is.EqualTo(21), result.Error);
        Assert.That(lines[^1], Is.EqualTo(
            $"bninception: every one of the 30 rows of '{files.TrainCsv}' was skipped, so there is nothing to train on: their images cannot be " +
            "loaded (30 FileNotFound; the warnings above name the first 20 rows and their paths). Fix the files, or pass the --image-folder their paths are relative to"));
    }

    [Test]
    public void WhenSkipLeavesNoValidationRowTrainingSaysSo()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 8, damaged: [], missing: []);
        string valid = work.File("valid.csv");
        File.WriteAllLines(valid, ["ImagePath,Label", "gone/a.png,Shirt", "gone/b.png,Bag"]);

        ExternalProcess.Result result = InstalledTool.Run(work.Path, Train(files, work.File("model.zip"), "--on-invalid-image", "skip", "--valid", valid));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], Is.EqualTo(
            $"bninception: '{valid}' leaves no rows to validate on: every row was skipped (the warnings above name each row, path and reason)"));
        Assert.That(File.Exists(work.File("model.zip")), Is.False);
    }
    [Test]
    public void ADamagedValidationImageIsNamedAsARowOfTheValidationList()
    {
        // The training and validation lists go through one loader and number their rows alike: row 1 is
        // --valid's, whose message must say so (it did not: "row 1" alone, read as --train's).
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 8, damaged: [], missing: []);
        string good = Csv.Read(files.TrainCsv).Column("ImagePath")[0];
        string label = Csv.Read(files.TrainCsv).Column("Label")[0];
        byte[] image = File.ReadAllBytes(Path.Combine(files.ImageFolder, good));
        File.WriteAllBytes(Path.Combine(files.ImageFolder, "cut.png"), image[..(image.Length / 2)]);
        string valid = work.File("valid.csv");
        File.WriteAllLines(valid, ["ImagePath,Label", $"{good},{label}", $"cut.png,{label}"]);

        ExternalProcess.Result result = InstalledTool.Run(work.Path, Train(files, work.File("model.zip"), "--valid", valid));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1], Does.StartWith(
            $"bninception: --valid '{valid}', row 1 (counting from 0), line 3: the image 'cut.png' (column 'ImagePath') cannot be loaded: ").And.Contain("[Truncated]"));
        Assert.That(File.Exists(work.File("model.zip")), Is.False);
    }

    [Test]
    public void TheSummaryCountsTheImagesTrainedOnWithoutTheRowsHeldOut()
    {
        // --valid-fraction 0.25 of 16 rows: the rows held out (chosen per row, about 4) are not trained on.
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = Data(work, rows: 16, damaged: [], missing: []);

        ExternalProcess.Result result = InstalledTool.Succeed(work.Path, Train(files, work.File("model.zip"), "--valid-fraction", "0.25", "--drop-last"));

        var counted = System.Text.RegularExpressions.Regex.Match(result.Output, @"^trained on (\d+) images \((\d+) more held out for validation\) of ");
        Assert.That(counted.Success, Is.True, result.Output);
        int trained = int.Parse(counted.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        int heldOut = int.Parse(counted.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(trained + heldOut, Is.EqualTo(16), "the list's rows");
        Assert.That(heldOut, Is.InRange(1, 8), "about a quarter held out");
    }
}
