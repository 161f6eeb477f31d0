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
    public void AQuotedLineBreakAfterSpacesIsRefusedNamingTheRowTheReadersSplitApart()
    {
        // ML.NET's loader passes over the spaces and joins the two lines into one path; the CSV reader reads two rows
        // of two fields each, as the header has: 'Coat' and '  "…/2', then '.png"' and 'Coat'.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv");
        File.WriteAllText(list, string.Join('\n', ["Label,ImagePath", .. paths.Select((path, row) => row == 2 ? $"{labels[row]},  \"{path[..^4]}\n{path[^4..]}\",{labels[row]}" : $"{labels[row]},{path}")]) + "\n");

        ExternalProcess.Result train = InProcessTool.Run(Train(list, work.File("model.zip")));
        // evaluate reads the list before it loads the model, whose path column it does not know yet: the row counts tell.
        ExternalProcess.Result evaluate = InProcessTool.Run("evaluate", "--model", work.File("no-model.zip"), "--data", list);

        Assert.That(train.ExitCode, Is.EqualTo(3), train.Output + train.Error);
        Assert.That(train.Error.Trim(), Does.StartWith(
            $"bninception: '{list}', row 2 (counting from 0), line 4: ML.NET's text loader, which reads the list for training and evaluation, reads its image path as " +
            $"'{paths[2][..^4]}\\x0A{paths[2][^4..]}' where the CSV reader (and score) reads '  \"{paths[2][..^4]}'"));
        Assert.That(evaluate.ExitCode, Is.EqualTo(3), evaluate.Error);
        Assert.That(evaluate.Error.Trim(), Does.StartWith(
            $"bninception: '{list}': ML.NET's text loader, which reads the list for training and evaluation, finds {Rows} rows in it, where the CSV reader finds {Rows + 1}; "));
    }

    [Test]
    public void FieldsTheLoaderReadsAsTheFileMeansThemTrainWholeWhateverTheCsvReaderCounts()
    {
        // Not refused, since ML.NET's loader reads every value as written: a row ending with the separator, a row
        // without the header's last (unread) column, and a quoted label after a space, which the CSV reader splits
        // at its comma where the loader reads it whole.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv");
        File.WriteAllLines(list, ["ImagePath,Label,Note", .. paths.Select((path, row) => (row % 3) switch
        {
            0 => $"{path},{labels[row]},",
            1 => $"{path},{labels[row]}",
            _ => $"{path}, \"{labels[row]}, worn\",note",
        })]);

        ExternalProcess.Result trained = InProcessTool.Run(Train(list, work.File("model.zip"))).AssertSucceeded();

        int classes = paths.Select((_, row) => row % 3 == 2 ? labels[row] + ", worn" : labels[row]).Distinct().Count();
        Assert.That(trained.Output, Does.StartWith($"trained on {Rows} images of {classes} classes "));
    }

    [Test]
    public void ATabSeparatedValidationListTrainsBesideACommaSeparatedTrainingList()
    {
        // Each list's separator comes from its own name: --separator would fit one of them only.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string train = work.File("train.csv"), valid = work.File("valid.tsv");
        File.WriteAllLines(train, ["ImagePath,Label", .. paths.Select((path, row) => $"{path},{labels[row]}")]);
        File.WriteAllLines(valid, ["ImagePath\tLabel", .. paths.Take(4).Select((path, row) => $"{path}\t{labels[row]}")]);

        ExternalProcess.Result trained = InProcessTool.Run(Train(train, work.File("model.zip"), "--valid", valid)).AssertSucceeded();

        Assert.That(trained.Output, Does.StartWith($"trained on {Rows} images of ").And.Contain("validation loss"));
    }

    [Test]
    public void AnImagePathOfMegabytesIsCutShortInTheMessageThatNamesIt()
    {
        // No file has a path over 4096 bytes on Linux; the message keeps its advice, and stays one line of kilobytes.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv"), tooLong = new('a', 1_000_000);
        File.WriteAllLines(list, ["ImagePath,Label", .. paths.Select((path, row) => $"{(row == 1 ? tooLong : path)},{labels[row]}")]);

        ExternalProcess.Result failed = InProcessTool.Run(Train(list, work.File("model.zip")));

        Assert.That(failed.ExitCode, Is.EqualTo(3), failed.Error.Length > 2000 ? failed.Error[..2000] : failed.Error);
        string message = failed.Error.Trim().Split('\n')[^1];
        Assert.That(message, Does.StartWith($"bninception: --train '{list}', row 1 (counting from 0), line 3: the image '{new string('a', 4096)}…' (column 'ImagePath') cannot be loaded: "));
        Assert.That(message, Does.EndWith("Fix or replace the file, or pass --on-invalid-image skip to leave such rows out"));
        Assert.That(message, Has.Length.LessThan(16_384));
    }

    [Test]
    public void AnEmptyLabelIsRefusedBeforeCacheDecodesTheImages()
    {
        // The trainer's own check comes once --cache has decoded every image: at ImageNet scale, hours later.
        using var work = new TemporaryDirectory();
        (_, string[] paths, string[] labels) = Data(work);
        string list = work.File("list.csv");
        File.WriteAllLines(list, ["ImagePath,Label", .. paths.Select((path, row) => $"{path},{(row == 6 ? "" : labels[row])}")]);

        ExternalProcess.Result refused = InProcessTool.Run(Train(list, work.File("model.zip"), "--cache"));

        Assert.That(refused.ExitCode, Is.EqualTo(3), refused.Output + refused.Error);
        Assert.That(refused.Error.Trim(), Is.EqualTo(
            $"bninception: --train '{list}' has 1 row whose Label is empty (rows counting from 0): '' (1 row: 6). " +
            "A row is trained on as the class its label names: give each one, or leave those rows out of the list"));
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
