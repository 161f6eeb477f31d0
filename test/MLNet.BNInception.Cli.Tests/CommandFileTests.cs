using System.Security.Cryptography;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// Before any work, every command refuses an output that would destroy one of its inputs (the same
/// path, a symbolic link or a hard link) or another of its outputs, and an output it cannot create
/// (a missing folder, a directory); it then writes nothing.
/// </summary>
public class CommandFileTests
{
    public enum Case
    {
        ScoreOutputSymlinkToInput, ScoreOutputHardLinkToInput, ScoreOutputLinkToModel, ScoreJobRecordLinkToInput, ScoreOutputInMissingFolder, ScoreOutputIsADirectory,
        TrainOutHardLinkToTrain, TrainCheckpointSymlinkToValid, TrainCheckpointIsOut, TrainOutIsADirectory, TrainCheckpointInMissingFolder, TrainCheckpointIsADirectory,
        ExportOnnxHardLinkToModel, ExportOnnxInMissingFolder, ExportOnnxIsADirectory, TrainCheckpointInAFolderThatTakesNoFiles, ScoreOutputInAFolderThatTakesNoFiles,
    }

    // Cases that get as far as loading the model without the checks use the trained model, so that
    // what they would destroy is real (and are in the Trains category); the others refuse before the
    // model is read, and a stand-in does.
    [TestCase(Case.ScoreOutputSymlinkToInput, "--output '{work}/link.csv' and --input '{work}/list.csv' are the same file", Category = TrainsAttribute.Category)]
    [TestCase(Case.ScoreOutputHardLinkToInput, "--output '{work}/link.csv' and --input '{work}/list.csv' are the same file", Category = TrainsAttribute.Category)]
    [TestCase(Case.ScoreOutputLinkToModel, "--output '{work}/link.csv' and --model '{work}/model.zip' are the same file")]
    [TestCase(Case.ScoreJobRecordLinkToInput, "its job record '{work}/predictions.csv.job.json' (from --output) and --input '{work}/list.csv' are the same file")]
    [TestCase(Case.ScoreOutputInMissingFolder, "--output '{work}/nowhere/predictions.csv': the folder '{work}/nowhere' does not exist")]
    [TestCase(Case.ScoreOutputIsADirectory, "--output '{work}/folder' is a directory")]
    [TestCase(Case.TrainOutHardLinkToTrain, "--out '{work}/link.zip' and --train '{work}/list.csv' are the same file")]
    [TestCase(Case.TrainCheckpointSymlinkToValid, "--checkpoint '{work}/link.ckpt' and --valid '{work}/valid.csv' are the same file")]
    [TestCase(Case.TrainCheckpointIsOut, "--checkpoint '{work}/m.zip' and --out '{work}/m.zip' are the same file")]
    [TestCase(Case.TrainOutIsADirectory, "--out '{work}/folder' is a directory")]
    [TestCase(Case.TrainCheckpointInMissingFolder, "--checkpoint '{work}/nowhere/m.ckpt': the folder '{work}/nowhere' does not exist")]
    [TestCase(Case.TrainCheckpointIsADirectory, "--checkpoint '{work}/folder' is a directory")]
    [TestCase(Case.ExportOnnxHardLinkToModel, "--onnx '{work}/link.onnx' and --model '{work}/model.zip' are the same file")]
    [TestCase(Case.ExportOnnxInMissingFolder, "--onnx '{work}/nowhere/model.onnx': the folder '{work}/nowhere' does not exist")]
    [TestCase(Case.ExportOnnxIsADirectory, "--onnx '{work}/folder' is a directory")]
    // /proc takes no new file, for root too (the suite may run as root, whom a folder's permissions do not stop).
    [TestCase(Case.TrainCheckpointInAFolderThatTakesNoFiles, "--checkpoint '/proc/m.ckpt': no file can be written in the folder '/proc' (")]
    [TestCase(Case.ScoreOutputInAFolderThatTakesNoFiles, "--output '/proc/predictions.csv': no file can be written in the folder '/proc' (")]
    public void AnOutputThatWouldDestroyAFileOrCannotBeCreatedIsRefusedAndNothingIsWritten(Case mistake, string message)
    {
        using var work = new TemporaryDirectory();
        bool trained = mistake is Case.ScoreOutputSymlinkToInput or Case.ScoreOutputHardLinkToInput;
        string list = work.File("list.csv"), model = work.File("model.zip");
        if (trained)
        {
            TrainedTool.Context context = TrainedTool.Get();
            File.Copy(context.Files.TestCsv, list);
            model = context.ModelPath;
        }
        else
        {
            File.WriteAllText(list, "ImagePath,Label\na.png,x\nb.png,y\n");
            File.WriteAllText(model, "a stand-in: the refusal comes before the model is read\n");
        }

        File.WriteAllText(work.File("valid.csv"), "ImagePath,Label\nc.png,x\nd.png,y\n");
        Directory.CreateDirectory(work.File("folder"));
        if (mistake == Case.ScoreJobRecordLinkToInput)
        {
            SymbolicLink(work.File("predictions.csv.job.json"), list);
        }

        string[] score = ["score", "--model", model, "--input", list];
        string[] train = ["train", "--train", list, "--epochs", "1", "--batch", "2"];
        string[] export = ["export", "--model", model];
        string[] arguments = mistake switch
        {
            Case.ScoreOutputSymlinkToInput => [.. score, "--output", SymbolicLink(work.File("link.csv"), list), "--overwrite"],
            Case.ScoreOutputHardLinkToInput => [.. score, "--output", HardLink(work.File("link.csv"), list), "--overwrite"],
            Case.ScoreOutputLinkToModel => [.. score, "--output", SymbolicLink(work.File("link.csv"), model), "--overwrite"],
            Case.ScoreJobRecordLinkToInput => [.. score, "--output", work.File("predictions.csv"), "--overwrite"],
            Case.ScoreOutputInMissingFolder => [.. score, "--output", work.File("nowhere/predictions.csv")],
            Case.ScoreOutputIsADirectory => [.. score, "--output", work.File("folder")],
            Case.TrainOutHardLinkToTrain => [.. train, "--out", HardLink(work.File("link.zip"), list), "--overwrite"],
            Case.TrainCheckpointSymlinkToValid => [.. train, "--valid", work.File("valid.csv"), "--out", work.File("m.zip"), "--checkpoint", SymbolicLink(work.File("link.ckpt"), work.File("valid.csv"))],
            Case.TrainCheckpointIsOut => [.. train, "--out", work.File("m.zip"), "--checkpoint", work.File("m.zip")],
            Case.TrainOutIsADirectory => [.. train, "--out", work.File("folder")],
            Case.TrainCheckpointInMissingFolder => [.. train, "--out", work.File("m.zip"), "--checkpoint", work.File("nowhere/m.ckpt")],
            Case.TrainCheckpointIsADirectory => [.. train, "--out", work.File("m.zip"), "--checkpoint", work.File("folder")],
            Case.ExportOnnxHardLinkToModel => [.. export, "--onnx", HardLink(work.File("link.onnx"), model), "--overwrite"],
            Case.ExportOnnxInMissingFolder => [.. export, "--onnx", work.File("nowhere/model.onnx")],
            Case.ExportOnnxIsADirectory => [.. export, "--onnx", work.File("folder")],
            Case.TrainCheckpointInAFolderThatTakesNoFiles => [.. train, "--out", work.File("m.zip"), "--checkpoint", "/proc/m.ckpt"],
            Case.ScoreOutputInAFolderThatTakesNoFiles => [.. score, "--output", "/proc/predictions.csv"],
            _ => throw new ArgumentOutOfRangeException(nameof(mistake)),
        };
        Dictionary<string, string> before = Contents(work.Path);

        ExternalProcess.Result run = InstalledTool.Run(work.Path, arguments);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        string[] lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), run.Error);
        Assert.That(lines[0], Does.StartWith("bninception: ").And.Contain(message.Replace("{work}", work.Path, StringComparison.Ordinal)));
        Assert.That(Contents(work.Path), Is.EquivalentTo(before), "every file as it was, and nothing added");
    }

    private static string SymbolicLink(string link, string target)
    {
        File.CreateSymbolicLink(link, target);
        return link;
    }

    private static string HardLink(string link, string target)
    {
        ExternalProcess.Run("ln", [target, link]).AssertSucceeded();
        return link;
    }

    // Every file and folder under the folder, with a digest of what a file holds.
    private static Dictionary<string, string> Contents(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).ToDictionary(
            entry => Path.GetRelativePath(folder, entry),
            entry => File.Exists(entry) ? Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(entry))) : "folder");
}
