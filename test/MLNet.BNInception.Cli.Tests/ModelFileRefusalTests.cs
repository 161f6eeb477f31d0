using System.IO.Compression;
using System.Text.Json.Nodes;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Interop;
using TorchSharp;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A file given as --model that ML.NET cannot load is refused with exit code 4 and one line that
/// says what the file is (an ONNX model, a training checkpoint, one of an earlier version, a PyTorch
/// state dict, a damaged model file) and what to give or do instead, with the cause in the words of
/// the exception that knows it, not ML.NET's outermost "Error during class instantiation". The files
/// are what the tool itself writes: a model and its checkpoint from a one-epoch run on eight images,
/// that checkpoint as format 2 wrote it, and that model exported to ONNX; and a state dict PyTorch saved.
/// </summary>
[Trains]
public class ModelFileRefusalTests
{
    private TemporaryDirectory? _folder;
    private string _model = "", _checkpoint = "", _onnx = "", _images = "";

    [OneTimeSetUp]
    public void TrainAndExport()
    {
        _folder = new TemporaryDirectory();
        FashionMnistFiles.Files data = FashionMnistFiles.Write(_folder.File("data"), 8, 0, 1);
        _model = _folder.File("model.zip");
        _checkpoint = _model + ".ckpt";
        _onnx = _folder.File("model.onnx");
        _images = data.TestCsv;
        InProcessTool.Run("train", "--train", data.TrainCsv, "--image-folder", data.ImageFolder, "--size", "64", "--channels", "gray",
            "--epochs", "1", "--batch", "4", "--no-augment", "--out", _model).AssertSucceeded();
        InProcessTool.Run("export", "--model", _model, "--onnx", _onnx).AssertSucceeded();
    }

    [OneTimeTearDown]
    public void Delete() => _folder?.Dispose();

    public enum Kind
    {
        NetworkEntryZeroed, NetworkLengthZeroed, NetworkEntryRemoved, CutShort, Checkpoint, Format2Checkpoint, StateDict, Onnx,
    }

    private const string Format2 = "is a training checkpoint of an earlier version of 'bninception train' (format 2), not a model file, and this version cannot resume from it: ";
    private const string StateDict = "is a PyTorch file (torch.save's: a state dict, say), not an ML.NET model file: ";

    [TestCase(Kind.NetworkEntryZeroed, "info", "is a damaged ML.NET model file (holds no ONNX model written by BN-Inception, only '",
        "/OnnxModel' (not a readable ONNX model: damaged or truncated); expected a model file saved")]
    [TestCase(Kind.NetworkLengthZeroed, "info", "is a damaged ML.NET model file (the entry '", "/OnnxModel' is not an ONNX model as ML.NET's OnnxTransformer stores it")]
    [TestCase(Kind.NetworkEntryRemoved, "info", "is a damaged ML.NET model file (", "holds no ONNX model (no entry named …/OnnxModel")]
    [TestCase(Kind.CutShort, "info", "is a damaged ML.NET model file, cut short or overwritten (", "): restore it from a copy, or train the model again")]
    [TestCase(Kind.CutShort, "evaluate", "is a damaged ML.NET model file, cut short or overwritten (", "): restore it from a copy, or train the model again")]
    [TestCase(Kind.Checkpoint, "info", "is a training checkpoint, which 'bninception train' writes after every epoch, not a model file: ", "--resume --checkpoint")]
    [TestCase(Kind.Checkpoint, "score", "is a training checkpoint, which 'bninception train' writes after every epoch, not a model file: ", "give the .zip file the run saves when it ends (its --out)")]
    [TestCase(Kind.Format2Checkpoint, "info", Format2, "give the .zip file the run saved when it ended (its --out), or start a new run from its weights with 'bninception train … --init-weights ")]
    [TestCase(Kind.Format2Checkpoint, "score", Format2, "start a new run from its weights with 'bninception train … --init-weights ")]
    [TestCase(Kind.StateDict, "info", StateDict, "start a training run from its weights with 'bninception train … --init-weights ")]
    [TestCase(Kind.StateDict, "evaluate", StateDict, "or give the .zip file mlContext.Model.Save or 'bninception train' wrote")]
    [TestCase(Kind.Onnx, "info", "is an ONNX model (written by 'MLNet.BNInception'), not an ML.NET model file: ", "run it with ONNX Runtime, or give the .zip file")]
    [TestCase(Kind.Onnx, "export", "is an ONNX model (written by 'MLNet.BNInception'), not an ML.NET model file: ", "run it with ONNX Runtime, or give the .zip file")]
    public void AFileThatIsNotAUsableModelIsNamedForWhatItIs(Kind kind, string verb, string what, string cause)
    {
        using var work = new TemporaryDirectory();
        string path = Write(kind, work);
        string[] arguments = verb switch
        {
            "info" => ["info", "--model", path],
            "evaluate" => ["evaluate", "--model", path, "--data", _images],
            "score" => ["score", "--model", path, "--input", _images, "--output", work.File("scores.csv")],
            "export" => ["export", "--model", path, "--onnx", work.File("exported.onnx")],
            _ => throw new ArgumentOutOfRangeException(nameof(verb)),
        };

        ExternalProcess.Result run = InProcessTool.Run(arguments);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.InvalidModel), run.Error);
        string[] lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), run.Error);
        Assert.That(lines[0], Does.StartWith($"bninception: '{path}' {what}").And.Contain(cause));
        Assert.That(lines[0], Does.Not.Contain("Error during class instantiation").And.Not.Contain("is not an ML.NET model file"));
        // The lines of checkpoints and state dicts name them twice on purpose: in the command that resumes or starts from them.
        Assert.That(lines[0].Split(path).Length - 1, Is.EqualTo(kind is Kind.Checkpoint or Kind.Format2Checkpoint or Kind.StateDict ? 2 : 1), "how often the path is named");
        Assert.That(lines[0].Replace(path, "the model"), Does.Not.Contain(Path.GetTempPath()), "no temporary copy's path, gone when the message is read");
        Assert.That(Directory.EnumerateFileSystemEntries(work.Path).Select(Path.GetFileName), Is.EqualTo(new[] { Path.GetFileName(path) }), "nothing written");
    }

    public enum Swap
    {
        /// <summary>A network of another kind, giving one value more than the pipeline's classes.</summary>
        OtherClassCount,

        /// <summary>The model's network, its class names one short.</summary>
        ClassNameMissing,

        /// <summary>The model's network, its first class named twice in place of the second.</summary>
        ClassNameRepeated,
    }

    // Edited with python's onnx package, not with this repository's code, so the files are what another tool makes.
    [TestCase(Swap.OtherClassCount, "evaluate")]
    [TestCase(Swap.OtherClassCount, "score")]
    [TestCase(Swap.ClassNameMissing, "score")]
    [TestCase(Swap.ClassNameRepeated, "score")]
    public void ANetworkSwappedOrRelabelledInTheFileIsRefusedBeforeAnythingIsWritten(Swap swap, string verb)
    {
        using var work = new TemporaryDirectory();
        string[] classes = MLNetReference.ClassNames(_model);
        string network = work.File("network.onnx"), edited = work.File("edited.onnx");
        using (ZipArchive model = ZipFile.OpenRead(_model))
        using (Stream entry = model.Entries.Single(e => IsNetwork(e.FullName)).Open())
        using (FileStream onnx = File.Create(network))
        {
            entry.ReadExactly(new byte[sizeof(int)]);   // ML.NET's length prefix
            entry.CopyTo(onnx);
        }

        string[] labels = swap switch
        {
            Swap.ClassNameMissing => classes[..^1],
            Swap.ClassNameRepeated => [classes[0], classes[0], .. classes[2..]],
            _ => classes,
        };
        PythonReference.Run("swap_network.py", swap == Swap.OtherClassCount ? ["other-class-count", network, edited]
            : ["relabel", network, edited, System.Text.Json.JsonSerializer.Serialize(labels)]);
        byte[] swapped = File.ReadAllBytes(edited);
        File.Delete(network);
        File.Delete(edited);
        string path = work.File("model.zip");
        CopyModel(path, (name, content) => IsNetwork(name) ? [.. BitConverter.GetBytes(swapped.Length), .. swapped] : content);

        ExternalProcess.Result run = InProcessTool.Run(verb == "score"
            ? ["score", "--model", path, "--input", _images, "--output", work.File("scores.csv")]
            : ["evaluate", "--model", path, "--data", _images]);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.InvalidModel), run.Error);
        string[] lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), run.Error);
        Assert.That(lines[0], Does.StartWith("bninception: ").And.Contain(path).And.Contain(swap switch
        {
            Swap.OtherClassCount => $"its steps do not fit together with each other or with the input schema saved with them (Schema mismatch for feature column 'BnInception.Probabilities': expected Vector<Single, {classes.Length}>, " +
                $"got Vector<Single, {classes.Length + 1}>",
            Swap.ClassNameMissing => $"the network's output 'BnInception.Probabilities' is [{classes.Length}], not {classes.Length - 1} values an image",
            _ => $"the metadata class_labels names \"{classes[0]}\" more than once",
        }));
        Assert.That(Directory.EnumerateFileSystemEntries(work.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "model.zip" }), "nothing written");
    }

    // The file of that kind, in the test's folder.
    private string Write(Kind kind, TemporaryDirectory work)
    {
        string path = work.File(kind switch
        {
            Kind.Checkpoint or Kind.Format2Checkpoint => "model.zip.ckpt",
            Kind.StateDict => "weights.pt",
            Kind.Onnx => "model.onnx",
            _ => "model.zip",
        });
        switch (kind)
        {
            case Kind.NetworkEntryZeroed:
                // The network's first bytes after ML.NET's length prefix: its first field's tag, which
                // protobuf cannot read as 0.
                CopyModel(path, (name, content) => IsNetwork(name) ? [.. content[..4], .. new byte[10], .. content[14..]] : content);
                break;
            case Kind.NetworkLengthZeroed:
                // ML.NET's length prefix read as 0: ML.NET then says only "ModelFile cannot be null or white space".
                CopyModel(path, (name, content) => IsNetwork(name) ? [.. new byte[4], .. content[4..]] : content);
                break;
            case Kind.NetworkEntryRemoved:
                CopyModel(path, (name, content) => IsNetwork(name) ? null : content);
                break;
            case Kind.CutShort:
                byte[] whole = File.ReadAllBytes(_model);
                File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
                break;
            case Kind.Checkpoint:
                File.Copy(_checkpoint, path);
                break;
            case Kind.Format2Checkpoint:
                WriteAsFormat2(_checkpoint, path);
                break;
            case Kind.StateDict:
                // PyTorch's own file (1.13 names its folder after the file: weights/data.pkl), not this repository's writer's.
                ExternalProcess.Run(PythonReference.Interpreter, ["-c",
                    "import sys, torch; torch.save({'conv1.weight': torch.zeros(4, 1, 3, 3), 'fc.bias': torch.zeros(3)}, sys.argv[1])", path]).AssertSucceeded();
                break;
            case Kind.Onnx:
                File.Copy(_onnx, path);
                break;
        }

        return path;
    }

    // The checkpoint as format 2 wrote it: the same tensors, and its description, with FormatVersion 2,
    // as a byte tensor named trainer.meta instead of a record (TrainingCheckpointTests.WriteAsFormat2).
    private static void WriteAsFormat2(string checkpoint, string path)
    {
        JsonNode description;
        using (ZipArchive zip = ZipFile.OpenRead(checkpoint))
        using (Stream record = zip.GetEntry("archive/bninception-checkpoint.json")!.Open())
        {
            description = JsonNode.Parse(record)!;
        }

        description["FormatVersion"] = 2;
        using DisposeScope scope = torch.NewDisposeScope();
        List<KeyValuePair<string, torch.Tensor>> entries = [.. PyTorchStateDict.Load(checkpoint)];
        entries.Add(new("trainer.meta", torch.tensor(System.Text.Encoding.UTF8.GetBytes(description.ToJsonString()))));
        PyTorchStateDict.Save(entries, path);
    }

    private static bool IsNetwork(string entryName) => entryName.EndsWith("/OnnxModel", StringComparison.Ordinal);

    // The trained model's entries, in order, each changed or (for null) left out.
    private void CopyModel(string path, Func<string, byte[], byte[]?> change)
    {
        using ZipArchive source = ZipFile.OpenRead(_model);
        using ZipArchive copy = ZipFile.Open(path, ZipArchiveMode.Create);
        Assert.That(source.Entries.Count(entry => IsNetwork(entry.FullName)), Is.EqualTo(1), "the model's network entry");
        foreach (ZipArchiveEntry entry in source.Entries)
        {
            using var content = new MemoryStream();
            using (Stream read = entry.Open())
            {
                read.CopyTo(content);
            }

            if (change(entry.FullName, content.ToArray()) is byte[] changed)
            {
                using Stream write = copy.CreateEntry(entry.FullName).Open();
                write.Write(changed);
            }
        }
    }
}
