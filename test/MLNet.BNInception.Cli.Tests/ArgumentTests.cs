using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>Mistakes get one line on standard error and an exit code that says what kind of mistake it was.</summary>
public class ArgumentTests : FewImagesFixture
{
    public enum Case
    {
        NoVerb, UnknownVerb, MissingOption, UnknownOption, ZeroBatch, BatchBeyondAnArray, BatchWrappingAround, TrainBatchBeyondAnArray, ShardOutOfRange, ShardNotKOverN, BlockNotMultipleOfBatch,
        OutputExists, MissingInput, InputIsADirectory, BinaryInput, NoPathColumn, CommaListNamedTsv, TrainSemicolons, TrainLabelColumnNamedScore, TrainPathColumnNamedPredictedLabel, TrainOneColumnForPathsAndLabels, TrainEmptyLabelColumn, TrainSeparatorInALabel, TrainSpaceBeforeAPath, MissingModel, ModelNotAZip, ZipWithoutNetwork, TrainMissingCsv, TrainCsvIsADirectory, TrainNoLabelColumn, TrainZeroEpochs, TrainBadSize, TrainBadInputSize, TrainSizeBelowInputSize,
        TrainHeaderOnly, TrainOneClass, TrainValidFractionOverHalf, TrainUnclosedQuote, ValidUnclosedQuote, TrainEarlyStoppingWithoutValidation, TrainShufflePoolOfOne, TrainShufflePoolWithCache, TrainNaNLearningRate, TrainNaNBatchNormMomentum, TrainNegativeGamma, TrainFractionalStepDecay,
        TrainBadPrecision, TrainOnAMissingGpu, TrainBadDevice, ScoreOnAMissingGpu, TrainCurvesNoFolder, TrainCurvesOverData, EvaluateNotAModel, EvaluateDataIsADirectory, EvaluateBinaryData,
        ExportInputNamedLogits, ExportInputNamedProbabilities, ExportInputNameEmpty,
    }

    // The tool's own entry point, run in this process: the same parsing, checks and messages as the
    // installed command (whose Program.cs only calls it), without a process start per case. A job on
    // a model names one that does not exist here: its arguments are checked before the model is read.
    [TestCase(Case.NoVerb, 2, "Required command was not provided")]
    [TestCase(Case.UnknownVerb, 2, "frobnicate")]
    [TestCase(Case.MissingOption, 2, "--output")]
    [TestCase(Case.UnknownOption, 2, "--colour")]
    [TestCase(Case.ZeroBatch, 2, "--batch 0: must be at least 1")]
    [TestCase(Case.ShardOutOfRange, 2, "--shard 3/3: K counts from 0")]
    [TestCase(Case.ShardNotKOverN, 2, "--shard 'half' is not K/N")]
    [TestCase(Case.BlockNotMultipleOfBatch, 2, "--shard-block 100 is not a multiple of --batch 64")]
    [TestCase(Case.OutputExists, 2, "exists: pass --resume")]
    [TestCase(Case.TrainBatchBeyondAnArray, 2, "--batch 200000: a batch of 200,000 images of 3 × 224 × 224 values is 30,105,600,000 values, more than one array holds")]
    [TestCase(Case.MissingModel, 4, "does not exist")]
    [TestCase(Case.ModelNotAZip, 4, "is not an ML.NET model file")]
    [TestCase(Case.ZipWithoutNetwork, 4, "is not an ML.NET model file")]
    [TestCase(Case.TrainMissingCsv, 3, "does not exist")]
    [TestCase(Case.TrainCsvIsADirectory, 3, "images' is a directory: give the CSV file itself")]
    [TestCase(Case.TrainNoLabelColumn, 3, "has no column 'Category'")]
    [TestCase(Case.TrainHeaderOnly, 3, "header.csv' has a header and no rows: there is nothing to train on")]
    [TestCase(Case.TrainOneClass, 3, "coats.csv' has the same Label, 'Coat': a classifier needs rows of 2 classes at least")]
    [TestCase(Case.TrainValidFractionOverHalf, 2, "--valid-fraction 0.6: hold out from 0 to 0.5 of the training rows, or give validation rows with --valid")]
    [TestCase(Case.TrainZeroEpochs, 2, "the training settings are not valid: Epochs must be at least 1, not 0.")]
    [TestCase(Case.TrainUnclosedQuote, 3, "quote.csv': a quoted field that is never closed starts on line 3 (record 3): the rest of the file would be read as one field")]
    [TestCase(Case.ValidUnclosedQuote, 3, "quote.csv': a quoted field that is never closed starts on line 3 (record 3): the rest of the file would be read as one field")]
    [TestCase(Case.TrainEarlyStoppingWithoutValidation, 2, "--early-stopping-patience stops on the validation metrics: give --valid or --valid-fraction")]
    [TestCase(Case.TrainShufflePoolOfOne, 2, "--shuffle-pool 1: the pool must hold at least 2 rows to shuffle them")]
    [TestCase(Case.TrainShufflePoolWithCache, 2, "--shuffle-pool 500 reads the list through a pool, and --cache reads the decoded images from memory in any order: give one of them")]
    [TestCase(Case.TrainNaNLearningRate, 2, "the training settings are not valid: LearningRate must be a finite number above 0, not NaN.")]
    [TestCase(Case.TrainNaNBatchNormMomentum, 2, "the training settings are not valid: BatchNormEpsilon must be a finite number above 0 that float32 holds (1e-45 to 3.4e38) and BatchNormMomentum in (0, 1], not 1E-05 and NaN.")]
    [TestCase(Case.TrainNegativeGamma, 2, "the training settings are not valid: The schedule's Gamma, its factor per period, must be a finite number above 0, not -1.")]
    [TestCase(Case.TrainFractionalStepDecay, 2, "--decay-epochs 0.3: the step schedule drops the rate after a whole number of epochs, 1 or more")]
    [TestCase(Case.TrainBadSize, 2, "--size 100 is not supported: the side must be a multiple of 32 and at least 64 (64, 96, 128, 160, 192, 224, 256, … up to 4096)")]
    [TestCase(Case.TrainBadInputSize, 2, "--input-size 100 is not supported: the side must be a multiple of 32 and at least 64")]
    [TestCase(Case.TrainSizeBelowInputSize, 2, "--size 64 does not fit --input-size 96: the images must be at least the network's side (96) and at most 4096")]
    [TestCase(Case.TrainBadPrecision, 2, "Argument 'half' not recognized. Must be one of: 'float32' 'bfloat16-mixed'")]
    [TestCase(Case.TrainOnAMissingGpu, 2, "--device cuda:1: Device 'cuda:1' was asked for, but this process's libtorch backend has no usable CUDA device")]
    [TestCase(Case.TrainBadDevice, 2, "--device tpu: Device 'tpu' is not a device name; use \"cpu\", \"cuda\" or \"cuda:N\".")]
    [TestCase(Case.ScoreOnAMissingGpu, 2, "docs/gpu.md says how.")]
    [TestCase(Case.TrainCurvesNoFolder, 2, "nowhere' does not exist")]
    [TestCase(Case.TrainCurvesOverData, 2, "exists.csv', which is not an earlier run's training curves: choose another name")]
    [TestCase(Case.EvaluateNotAModel, 4, "is not an ML.NET model file")]
    [TestCase(Case.ExportInputNamedLogits, 2, "bninception: --input-name 'logits': the input needs a name of its own, not empty and neither 'logits' nor 'probabilities', the names of the outputs")]
    [TestCase(Case.ExportInputNamedProbabilities, 2, "bninception: --input-name 'probabilities': the input needs a name of its own")]
    [TestCase(Case.ExportInputNameEmpty, 2, "bninception: --input-name ' ': the input needs a name of its own")]
    [TestCase(Case.TrainLabelColumnNamedScore, 2, "--label-column 'Score': the pipeline makes columns named 'Image', 'Features', 'Score' and 'PredictedLabel' (the last two are the model's outputs)")]
    [TestCase(Case.TrainPathColumnNamedPredictedLabel, 2, "--path-column 'PredictedLabel': the pipeline makes columns named")]
    [TestCase(Case.TrainOneColumnForPathsAndLabels, 2, "--path-column and --label-column both name 'ImagePath': the labels need a column of their own")]
    [TestCase(Case.TrainEmptyLabelColumn, 2, "--label-column '' names no column")]
    [TestCase(Case.TrainSeparatorInALabel, 3, "row 1 (counting from 0), line 3: ML.NET's text loader, which reads the list for training and evaluation, finds more fields in the row than the header's 2, and would leave out 'top': a value holding the separator (',') unquoted is cut there ('T-shirt, top' read as 'T-shirt')")]
    [TestCase(Case.TrainSpaceBeforeAPath, 3, "row 0 (counting from 0), line 2: ML.NET's text loader, which reads the list for training and evaluation, reads its image path as 't10k/0.png' where the CSV reader (and score) reads ' t10k/0.png'")]
    [TestCase(Case.TrainSemicolons, 3, "has no column 'ImagePath' (its columns: 'ImagePath;Label', one column when read with the separator ','; pass --separator ';' if that")]
    public void AMistakeGetsOneLineAndItsExitCode(Case mistake, int exitCode, string message) => Check(mistake, exitCode, message, trainedModel: null);

    // These are found only once the model is read (its input size) or once the job's input is
    // opened, which comes after: the model is the one TrainedTool trained.
    [Trains]
    [TestCase(Case.BatchBeyondAnArray, 2, "--batch 524288: a batch of 524,288 images of 4096 values each (the network's input) is 2,147,483,648 values, more than one array holds (2,147,483,591); choose --batch 524287 or less")]
    [TestCase(Case.BatchWrappingAround, 2, "--batch 1048577: a batch of 1,048,577 images of 4096 values each")]
    [TestCase(Case.MissingInput, 3, "does not exist")]
    [TestCase(Case.InputIsADirectory, 3, "images' is a directory: give the CSV file that lists the images")]
    [TestCase(Case.BinaryInput, 3, @"has no column 'ImagePath' (its columns: '\x7FELF\x02\x01\x01\x00\x00")]
    [TestCase(Case.NoPathColumn, 3, "has no column 'ImagePath' (its columns: 'Picture', 'Label')")]
    [TestCase(Case.CommaListNamedTsv, 3,
        "has no column 'ImagePath' (its columns: 'ImagePath,Label', one column when read with the separator tab; pass --separator ',' if that is what separates the columns)")]
    [TestCase(Case.EvaluateDataIsADirectory, 3, "images' is a directory: give the CSV file itself")]
    [TestCase(Case.EvaluateBinaryData, 3, @"(its columns: '\x7FELF\x02\x01\x01\x00\x00")]
    public void AMistakeInAJobOnAModelGetsOneLineAndItsExitCode(Case mistake, int exitCode, string message) => Check(mistake, exitCode, message, TrainedTool.Get().ModelPath);

    private void Check(Case mistake, int exitCode, string message, string? trainedModel)
    {
        FashionMnistFiles.Files data = Data!;
        using var work = new TemporaryDirectory();
        string model = trainedModel ?? work.File("no-model-was-trained.zip");
        string input = data.TestCsv, output = work.File("out.csv");
        File.WriteAllText(work.File("exists.csv"), "ImagePath\n");
        File.WriteAllText(work.File("pictures.csv"), "Picture,Label\na.png,x\n");
        File.WriteAllText(work.File("list.tsv"), "ImagePath,Label\nt10k/0.png,x\n");
        File.WriteAllText(work.File("semicolons.csv"), "ImagePath;Label\nt10k/0.png;x\n");
        File.WriteAllText(work.File("notes.zip"), "not a zip\n");
        System.IO.Compression.ZipFile.CreateFromDirectory(data.ImageFolder + "/train", work.File("images.zip"));
        File.WriteAllBytes(work.File("program.csv"), BinaryFirstLine());
        Directory.CreateDirectory(work.File("images"));
        File.WriteAllText(work.File("header.csv"), "ImagePath,Label\n");
        File.WriteAllLines(work.File("coats.csv"), ["ImagePath,Label", .. File.ReadLines(data.TrainCsv).Skip(1).Select(line => line[..line.IndexOf(',')] + ",Coat")]);
        File.WriteAllText(work.File("quote.csv"), "ImagePath,Label\na.png,x\n\"b.png,y\nc.png,z\n");
        // ML.NET's text loader reads 'T-shirt' as the label of the second row, and ' t10k/0.png' as 't10k/0.png'.
        File.WriteAllText(work.File("comma.csv"), "ImagePath,Label\nt10k/0.png,Coat\nt10k/1.png,T-shirt, top\n");
        File.WriteAllText(work.File("spaces.csv"), "Label,ImagePath\nCoat, t10k/0.png\nBag, t10k/1.png\n");
        string[] score = ["score", "--model", model, "--input", input, "--output", output];
        string[] arguments = mistake switch
        {
            Case.NoVerb => [],
            Case.UnknownVerb => ["frobnicate"],
            Case.MissingOption => ["score", "--model", model, "--input", input],
            Case.UnknownOption => [.. score, "--colour", "blue"],
            Case.ZeroBatch => [.. score, "--batch", "0"],

            // The model's images are 1 × 64 × 64 = 4,096 values: 524,288 of them are 2³¹ (an int overflows
            // to a negative length); 1,048,577 of them wrap around to 4,096, one image's room for the whole batch.
            Case.BatchBeyondAnArray => [.. score, "--batch", "524288"],
            Case.BatchWrappingAround => [.. score, "--batch", "1048577"],
            Case.TrainBatchBeyondAnArray => ["train", "--train", data.TrainCsv, "--batch", "200000", "--out", work.File("m.zip")],
            Case.ShardOutOfRange => [.. score, "--shard", "3/3"],
            Case.ShardNotKOverN => [.. score, "--shard", "half"],
            Case.BlockNotMultipleOfBatch => [.. score, "--shard", "0/2", "--shard-block", "100"],
            Case.OutputExists => ["score", "--model", model, "--input", input, "--output", work.File("exists.csv")],
            Case.MissingInput => ["score", "--model", model, "--input", work.File("nowhere.csv"), "--output", output],
            Case.InputIsADirectory => ["score", "--model", model, "--input", work.File("images"), "--output", output],
            Case.BinaryInput => ["score", "--model", model, "--input", work.File("program.csv"), "--output", output],
            Case.NoPathColumn => ["score", "--model", model, "--input", work.File("pictures.csv"), "--output", output],
            Case.CommaListNamedTsv => ["score", "--model", model, "--input", work.File("list.tsv"), "--output", output],
            Case.TrainSemicolons => ["train", "--train", work.File("semicolons.csv"), "--out", work.File("m.zip")],
            Case.TrainLabelColumnNamedScore => ["train", "--train", data.TrainCsv, "--label-column", "Score", "--out", work.File("m.zip")],
            Case.TrainPathColumnNamedPredictedLabel => ["train", "--train", data.TrainCsv, "--path-column", "PredictedLabel", "--out", work.File("m.zip")],
            Case.TrainOneColumnForPathsAndLabels => ["train", "--train", data.TrainCsv, "--label-column", "ImagePath", "--out", work.File("m.zip")],
            Case.TrainEmptyLabelColumn => ["train", "--train", data.TrainCsv, "--label-column", "", "--out", work.File("m.zip")],
            Case.TrainSeparatorInALabel => ["train", "--train", work.File("comma.csv"), "--image-folder", data.ImageFolder, "--out", work.File("m.zip")],
            Case.TrainSpaceBeforeAPath => ["train", "--train", work.File("spaces.csv"), "--image-folder", data.ImageFolder, "--out", work.File("m.zip")],
            Case.MissingModel => ["score", "--model", work.File("nowhere.zip"), "--input", input, "--output", output],
            Case.ModelNotAZip => ["score", "--model", work.File("notes.zip"), "--input", input, "--output", output],
            Case.ZipWithoutNetwork => ["info", "--model", work.File("images.zip")],
            Case.TrainMissingCsv => ["train", "--train", work.File("nowhere.csv"), "--out", work.File("m.zip")],
            Case.TrainCsvIsADirectory => ["train", "--train", work.File("images"), "--out", work.File("m.zip")],
            Case.TrainNoLabelColumn => ["train", "--train", data.TrainCsv, "--label-column", "Category", "--out", work.File("m.zip")],
            Case.TrainHeaderOnly => ["train", "--train", work.File("header.csv"), "--out", work.File("m.zip")],
            Case.TrainOneClass => ["train", "--train", work.File("coats.csv"), "--image-folder", data.ImageFolder, "--size", "64", "--out", work.File("m.zip")],
            Case.TrainValidFractionOverHalf => ["train", "--train", data.TrainCsv, "--valid-fraction", "0.6", "--out", work.File("m.zip")],
            Case.TrainZeroEpochs => ["train", "--train", data.TrainCsv, "--epochs", "0", "--out", work.File("m.zip")],
            Case.TrainBadSize => ["train", "--train", data.TrainCsv, "--size", "100", "--out", work.File("m.zip")],
            Case.TrainUnclosedQuote => ["train", "--train", work.File("quote.csv"), "--out", work.File("m.zip")],
            Case.ValidUnclosedQuote => ["train", "--train", data.TrainCsv, "--valid", work.File("quote.csv"), "--out", work.File("m.zip")],
            Case.TrainEarlyStoppingWithoutValidation => ["train", "--train", data.TrainCsv, "--early-stopping-patience", "2", "--out", work.File("m.zip")],
            Case.TrainShufflePoolOfOne => ["train", "--train", data.TrainCsv, "--shuffle-pool", "1", "--out", work.File("m.zip")],
            Case.TrainShufflePoolWithCache => ["train", "--train", data.TrainCsv, "--shuffle-pool", "500", "--cache", "--out", work.File("m.zip")],
            Case.TrainNaNLearningRate => ["train", "--train", data.TrainCsv, "--lr", "NaN", "--out", work.File("m.zip")],
            Case.TrainNaNBatchNormMomentum => ["train", "--train", data.TrainCsv, "--bn-momentum", "NaN", "--out", work.File("m.zip")],
            Case.TrainNegativeGamma => ["train", "--train", data.TrainCsv, "--gamma", "-1", "--out", work.File("m.zip")],
            Case.TrainFractionalStepDecay => ["train", "--train", data.TrainCsv, "--schedule", "step", "--decay-epochs", "0.3", "--out", work.File("m.zip")],
            Case.TrainBadInputSize => ["train", "--train", data.TrainCsv, "--size", "128", "--input-size", "100", "--out", work.File("m.zip")],
            Case.TrainSizeBelowInputSize => ["train", "--train", data.TrainCsv, "--size", "64", "--input-size", "96", "--out", work.File("m.zip")],
            Case.TrainBadPrecision => ["train", "--train", data.TrainCsv, "--precision", "half", "--out", work.File("m.zip")],
            Case.TrainOnAMissingGpu => ["train", "--train", data.TrainCsv, "--device", "cuda:1", "--out", work.File("m.zip")],
            Case.TrainBadDevice => ["train", "--train", data.TrainCsv, "--device", "tpu", "--out", work.File("m.zip")],
            Case.ScoreOnAMissingGpu => [.. score, "--device", "cuda"],
            Case.TrainCurvesNoFolder => ["train", "--train", data.TrainCsv, "--curves", work.File("nowhere/curves.png"), "--out", work.File("m.zip")],
            Case.TrainCurvesOverData => ["train", "--train", data.TrainCsv, "--curves", work.File("exists.png"), "--out", work.File("m.zip")],
            Case.EvaluateNotAModel => ["evaluate", "--model", work.File("notes.zip"), "--data", input],
            Case.EvaluateDataIsADirectory => ["evaluate", "--model", model, "--data", work.File("images")],
            Case.EvaluateBinaryData => ["evaluate", "--model", model, "--data", work.File("program.csv")],
            Case.ExportInputNamedLogits => ["export", "--model", model, "--onnx", output, "--input-name", "logits"],
            Case.ExportInputNamedProbabilities => ["export", "--model", model, "--onnx", output, "--input-name", "probabilities"],
            Case.ExportInputNameEmpty => ["export", "--model", model, "--onnx", output, "--input-name", " "],
            _ => throw new ArgumentOutOfRangeException(nameof(mistake)),
        };

        ExternalProcess.Result run = InProcessTool.Run(arguments);

        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.Error);
        string[] lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), run.Error);
        Assert.That(lines[0], Does.StartWith("bninception").And.Contain(message));
        Assert.That(lines[0].Where(char.IsControl), Is.Empty, "printable: control characters escaped");
        Assert.That(lines[0], Has.Length.LessThan(1000), "what the message quotes from a file is cut short");
        Assert.That(File.Exists(output) || File.Exists(work.File("m.zip")) || File.Exists(work.File("exists.png")), Is.False, "nothing written");
        Assert.That(File.ReadAllText(work.File("exists.csv")), Is.EqualTo("ImagePath\n"), "an existing output is left alone");
    }

    [Test]
    public void AValidationLabelTheTrainingListLacksStopsTheRunBeforeItTrains()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files data = Data!;
        string valid = UnknownLabelList(work, data);
        ExternalProcess.Result run = InProcessTool.Run(["train", "--train", data.TrainCsv, "--valid", valid, "--image-folder", data.ImageFolder,
            "--size", "64", "--channels", "gray", "--batch", "8", "--out", work.File("m.zip")]);

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Is.EqualTo(
            $"bninception: --valid '{valid}' has 1 row whose Label is empty or none of --train's (rows counting from 0): 'Wolf' (1 row: 1). " +
            "The network learns the classes of --train's rows only: add rows of those classes to --train, or leave them out of --valid"));
        Assert.That(run.Error, Does.Not.Contain("epoch 1/"), "refused before the first epoch, not after it");
        Assert.That(File.Exists(work.File("m.zip")) || File.Exists(work.File("m.zip.ckpt")), Is.False, "nothing written");
    }

    [TestCase("--batch", "4", "5 training images in batches of 4 leave a last batch of 1 image, which batch normalization cannot train on (it needs 2 at least): pass --drop-last, or another --batch")]
    [TestCase("--drop-last", "--batch=8", "5 training images do not fill one of the batches of 8, and --drop-last leaves out the part-filled one: pass a smaller --batch")]
    public void BatchesBatchNormalizationCannotTrainOnStopTheRunBeforeItTrains(string option, string value, string message)
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files data = Data!;
        File.WriteAllLines(work.File("five.csv"), File.ReadLines(data.TrainCsv).Take(1 + 5));
        ExternalProcess.Result run = InProcessTool.Run(["train", "--train", work.File("five.csv"), "--image-folder", data.ImageFolder, "--size", "64", "--channels", "gray",
            option, value, "--out", work.File("m.zip")]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.Contain("bninception: " + message));
        Assert.That(File.Exists(work.File("m.zip")) || File.Exists(work.File("m.zip.ckpt")), Is.False, "nothing written");
    }

    [TestCase(false, "17 training images in batches of 8 leave a last batch of 1 image, which batch normalization cannot train on (it needs 2 at least): " +
        "the checkpoint's run, which keeps its own batch size without --drop-last, began on other rows: resume it on those, or train afresh on these (without --resume) with --drop-last or another --batch")]
    [TestCase(true, "5 training images do not fill one of the batches of 8, and --drop-last leaves out the part-filled one: " +
        "the checkpoint's run, which keeps its own batch size and --drop-last, began on other rows: resume it on those, or train afresh on these (without --resume) with a smaller --batch")]
    public void ResumedBatchesThatDoNotFitAskForTheRunsOwnRowsNotForOptionsAResumeIgnores(bool dropLastBatch, string message)
    {
        // A resume keeps the checkpoint's batch size and --drop-last, so "pass --drop-last, or another --batch" would change
        // nothing; a checkpoint of an earlier version, which records no rows, gets this far on rows that are not its run's.
        var refused = new BatchSizeMismatchException("engine's words", dropLastBatch ? 5 : 17, 8);

        Assert.That(TrainingFailures.BatchesDoNotFit(refused, dropLastBatch, resumed: true).Message, Is.EqualTo(message));
    }

    // Three training rows as a validation list, the second's class renamed to one the training list
    // does not have: no key, so no label.
    private static string UnknownLabelList(TemporaryDirectory work, FashionMnistFiles.Files data)
    {
        string[] lines = File.ReadAllLines(data.TrainCsv);
        string path = work.File("valid-wolf.csv");
        File.WriteAllLines(path, [lines[0], lines[1], lines[2][..(lines[2].LastIndexOf(',') + 1)] + "Wolf", lines[3]]);
        return path;
    }

    // A program's first bytes (an ELF header: NULs, DEL and other control characters), then a few
    // thousand bytes without a separator, quote or line break, as a binary file given for a list holds.
    private static byte[] BinaryFirstLine()
    {
        byte[] header = [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0x3E, 0, 1, 0, 0, 0, 0x1B, (byte)'[', (byte)'2', (byte)'J', 7];
        var random = new Random(20);
        byte[] rest = Enumerable.Range(0, 3000).Select(_ => (byte)random.Next(256)).Where(b => b is not ((byte)',' or (byte)'"' or (byte)'\n' or (byte)'\r')).ToArray();
        return [.. header, .. rest, (byte)'\n', .. "a.png,x\n"u8];
    }

    [TestCase("train")]
    [TestCase("evaluate")]
    [TestCase("score")]
    [TestCase("export")]
    [TestCase("info")]
    public void EveryVerbHasHelp(string verb)
    {
        ExternalProcess.Result run = InProcessTool.Run([verb, "--help"]).AssertSucceeded();
        // In this process the usage line names the test host: the installed command's is checked below.
        Assert.That(run.Output, Does.Contain("Usage:").And.Contain($" {verb} [options]"));
        Assert.That(run.Output, Does.Contain(verb == "train" ? "--train" : "--model"));
    }

    /// <summary>
    /// A BNINCEPTION_NUM_THREADS that is not a count is a mistake in the arguments, found before any
    /// verb begins, even where --threads is given (loading libtorch applies the variable whatever the
    /// option says); help still shows. Run as the installed tool: the variable belongs to the process.
    /// </summary>
    [Test]
    public void AThreadVariableThatIsNotACountStopsEveryVerbBeforeItBegins()
    {
        using var work = new TemporaryDirectory();
        var notACount = new Dictionary<string, string?> { ["BNINCEPTION_NUM_THREADS"] = "two" };
        string[][] runs =
        [
            ["train", "--train", Data!.TrainCsv, "--image-folder", Data.ImageFolder, "--out", work.File("model.zip")],
            ["score", "--model", work.File("model.zip"), "--input", Data.TestCsv, "--output", work.File("predictions.csv"), "--threads", "1"],
            ["info", "--model", work.File("model.zip")],
        ];
        foreach (string[] arguments in runs)
        {
            ExternalProcess.Result run = InstalledTool.RunWithVariables(notACount, work.Path, arguments);
            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.BadArguments), $"{arguments[0]}: {run.Output}{run.Error}");
            Assert.That(run.Error.Trim(), Is.EqualTo("bninception: BNINCEPTION_NUM_THREADS is 'two'; it must be a whole number of threads, at least 1, or unset"),
                arguments[0]);
        }

        Assert.That(Directory.EnumerateFileSystemEntries(work.Path), Is.Empty, "nothing written");
        Assert.That(InstalledTool.RunWithVariables(notACount, work.Path, "score", "--help").AssertSucceeded().Output, Does.Contain("--threads"));
    }

    [TestCase("help")]
    [TestCase("info")]
    public void AStandardOutputThatCannotBeWrittenIsSaidAsSuchWithExitCode3(string what)
    {
        // /dev/full refuses every write as a full disk would; the shell redirects the tool's output there.
        using var work = new TemporaryDirectory();
        string[] arguments = what == "help" ? ["score", "--help"] : ["info", "--model", TrainedTool.Get().ModelPath];
        ExternalProcess.Result run = ExternalProcess.Run("bash", ["-c", "exec \"$0\" \"$@\" > /dev/full", InstalledTool.Command, .. arguments]);
        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.UnreadableInput), run.Error);
        Assert.That(run.Error.Trim(), Is.EqualTo("bninception: standard output cannot be written: No space left on device"));
    }

    [Test]
    public void TheInstalledCommandsHelpNamesIt()
    {
        using var work = new TemporaryDirectory();
        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, "score", "--help");
        Assert.That(run.Output, Does.Contain("Usage:").And.Contain("bninception score [options]"));
    }
}
