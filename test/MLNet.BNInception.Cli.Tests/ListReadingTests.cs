using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>train</c> and <c>evaluate</c> read a list twice: with the CSV reader that counts its rows and finds their lines, and
/// with ML.NET's text loader that feeds the pipeline. Where the loader would read other rows (it takes a line starting
/// with "//" for a comment; it skips a header starting with '#'; it joins the lines of a quoted field with spaces before
/// its quote), the list is refused before any image is read, naming the line; and a row's image that cannot be loaded is
/// named by its row and its line, as <c>score</c> names it.
/// </summary>
[Trains]
public class ListReadingTests
{
    private const int Rows = 8;

    // The images' paths made absolute, so that one can be written with two leading slashes (the same file to Linux).
    private static (FashionMnistFiles.Files Files, string[] Paths, string[] Labels) Data(TemporaryDirectory work)
    {
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), Rows, 0, 1);
        Csv list = Csv.Read(files.TrainCsv);
        return (files, list.Column("ImagePath").Select(path => Path.Combine(files.ImageFolder, path)).ToArray(), list.Column("Label"));
    }

    private static string[] Train(string list, string model, params string[] more) =>
    [
        "train", "--train", list, "--size", "64", "--channels", "gray", "--epochs", "1", "--batch", "4", "--no-augment", "--out", model, .. more,
    ];

    [Test]
    public void ARowStartingWithTwoSlashesIsRefusedNamingItsLineAndTrainsWholeOnceQuoted()
    {
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv");
        File.WriteAllLines(list, ["ImagePath,Label", .. paths.Select((path, row) => row == 3 ? $"/{path},{labels[row]}" : $"{path},{labels[row]}")]);

        ExternalProcess.Result refused = InProcessTool.Run(Train(list, work.File("model.zip")));

        // Before: "trained on 7 images (1 more held out for validation)", the row left out by ML.NET's loader.
        Assert.That(refused.ExitCode, Is.EqualTo(3), refused.Output + refused.Error);
        Assert.That(refused.Error.Trim(), Is.EqualTo(
            $"bninception: '{list}', row 3 (counting from 0), line 5: the row starts with '//', which ML.NET's text loader takes for a comment and would leave out " +
            "without a word. Put its first field in quotes (\"//…\"), or write a path there with one leading slash"));
        Assert.That(File.Exists(work.File("model.zip")), Is.False);

        // The advice works: the same path, quoted, is trained on with the others.
        File.WriteAllLines(list, ["ImagePath,Label", .. paths.Select((path, row) => row == 3 ? $"\"/{path}\",{labels[row]}" : $"{path},{labels[row]}")]);
        ExternalProcess.Result trained = InProcessTool.Run(Train(list, work.File("model.zip"))).AssertSucceeded();
        Assert.That(trained.Output, Does.StartWith($"trained on {Rows} images of "));
    }

    [Test]
    public void AHeaderStartingWithAHashIsRefused()
    {
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv");
        File.WriteAllLines(list, ["", "#ImagePath,Label", .. paths.Select((path, row) => $"{path},{labels[row]}")]);

        ExternalProcess.Result refused = InProcessTool.Run(Train(list, work.File("model.zip"), "--path-column", "#ImagePath"));

        Assert.That(refused.ExitCode, Is.EqualTo(3), refused.Output + refused.Error);
        Assert.That(refused.Error.Trim(), Does.StartWith($"bninception: '{list}', line 2: the header starts with '#', which ML.NET's text loader takes for a comment"));
        Assert.That(File.Exists(work.File("model.zip")), Is.False);
    }

    [Test]
    public void AQuotedLineBreakAfterSpacesIsRefusedWithBothRowCounts()
    {
        // ML.NET's loader passes over the spaces and joins the two lines into one row; the CSV reader reads two.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv");
        File.WriteAllText(list, string.Join('\n', ["ImagePath,Label", .. paths.Select((path, row) => row == 2 ? $"  \"{path[..^4]}\n{path[^4..]}\",{labels[row]}" : $"{path},{labels[row]}")]) + "\n");

        ExternalProcess.Result refused = InProcessTool.Run(Train(list, work.File("model.zip")));

        Assert.That(refused.ExitCode, Is.EqualTo(3), refused.Output + refused.Error);
        Assert.That(refused.Error.Trim(), Does.StartWith(
            $"bninception: '{list}': ML.NET's text loader, which reads the list for training and evaluation, finds {Rows} rows in it, where the CSV reader finds {Rows + 1}; "));
    }

    [Test]
    public void AnImageThatCannotBeLoadedIsNamedByTheLineItsRowStartsOn()
    {
        // Row 1's label holds a line break, so row 4 starts on line 7, not on the 6 that counting rows would give.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        File.Delete(paths[4]);
        string list = work.File("list.csv");
        File.WriteAllText(list, string.Join('\n', ["ImagePath,Label", .. paths.Select((path, row) => row == 1 ? $"{path},\"two\nlines\"" : $"{path},{labels[row]}")]) + "\n");

        ExternalProcess.Result failed = InProcessTool.Run(Train(list, work.File("model.zip")));

        Assert.That(failed.ExitCode, Is.EqualTo(3), failed.Output + failed.Error);
        Assert.That(failed.Error.Trim().Split('\n')[^1], Does.StartWith($"bninception: --train '{list}', row 4 (counting from 0), line 7: the image '{paths[4]}' (column 'ImagePath') cannot be loaded: "));
    }
}
