using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// A checkpoint is a file PyTorch loads as a dict of tensors, with the run's description in a JSON
/// record beside them; a checkpoint of the earlier format (the description as a tensor) is refused
/// with what to do instead. Resuming from checkpoints is <see cref="TrainerTests"/>' subject.
/// </summary>
public class TrainingCheckpointTests
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3 };
    private static readonly TrainerOptions Trainer = new() { Epochs = 7, BatchSize = 4, Seed = 77 };

    /// <summary>
    /// <paramref name="checkpoint"/> rewritten as format 2 wrote it: the same tensors, and the
    /// description, with FormatVersion 2, as a byte tensor named <c>trainer.meta</c> instead of a record.
    /// </summary>
    internal static void WriteAsFormat2(string checkpoint, string path)
    {
        JsonNode description;
        using (ZipArchive zip = ZipFile.OpenRead(checkpoint))
        {
            description = JsonNode.Parse(TorchArchiveEditing.ReadRecord(zip, "archive/bninception-checkpoint.json"))!;
        }

        description["FormatVersion"] = 2;
        using DisposeScope scope = NewDisposeScope();
        List<KeyValuePair<string, Tensor>> entries = [.. PyTorchStateDict.Load(checkpoint)];
        entries.Add(new("trainer.meta", tensor(JsonSerializer.SerializeToUtf8Bytes(description))));
        PyTorchStateDict.Save(entries, path);
    }

    private static string SaveCheckpoint(TemporaryDirectory folder, Dictionary<string, Tensor> weights, Tensor momentum)
    {
        var state = new TrainingState { Epoch = 2, NextBatch = 1, Step = 21, History = [new EpochMetrics(1, 1.5, 0.25, null, null, 0.01), new EpochMetrics(2, 1.25, 0.5, null, null, 0.005)] };
        string path = folder.File("run.ckpt");
        TrainingCheckpoint.Save(path, Model, Trainer, state, weights, [momentum, null], bestWeights: null, GeneratorState(11));
        return path;
    }

    // The state of a generator seeded with seed that has drawn a few numbers: the state of no fresh one.
    private static Tensor GeneratorState(ulong seed)
    {
        using var generator = new Generator(seed);
        using Tensor drawn = rand([5], generator: generator);
        return generator.get_state();
    }

    [Test]
    public void PyTorchLoadsACheckpointAsTensorsAloneAndItsDescriptionIsAJsonRecord()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        manual_seed(5);
        var weights = new Dictionary<string, Tensor> { ["conv.weight"] = randn([2, 1, 3, 3]), ["fc.bias"] = randn([3]) };
        Tensor momentum = randn([2, 1, 3, 3]);
        string path = SaveCheckpoint(folder, weights, momentum);

        // Debian's PyTorch (1.13) loads the file and finds the tensors only, the description not among them.
        JsonElement[] seenByPyTorch = [.. JsonDocument.Parse(PythonReference.Run("torch_save_reference.py", "read", path)).RootElement.EnumerateArray()];
        Assert.That(seenByPyTorch.Select(entry => entry.GetProperty("key").GetString()),
            Is.EqualTo(new[] { "model.conv.weight", "model.fc.bias", "optimizer.momentum.0", "trainer.rng_state" }));
        using (Tensor compact = weights["conv.weight"].contiguous())
        {
            Assert.That(Convert.FromBase64String(seenByPyTorch[0].GetProperty("data").GetString()!), Is.EqualTo(compact.bytes.ToArray()));
        }

        // The description is plain JSON in the archive's folder, read here with a zip reader of its own.
        using (ZipArchive zip = ZipFile.OpenRead(path))
        {
            JsonElement description = JsonDocument.Parse(TorchArchiveEditing.ReadRecord(zip, "archive/bninception-checkpoint.json")).RootElement;
            Assert.That(description.GetProperty("FormatVersion").GetInt32(), Is.EqualTo(3));
            Assert.That(description.GetProperty("Model").GetProperty("NumClasses").GetInt32(), Is.EqualTo(3));
            Assert.That(description.GetProperty("Trainer").GetProperty("Epochs").GetInt32(), Is.EqualTo(7));
            Assert.That(description.GetProperty("State").GetProperty("Step").GetInt64(), Is.EqualTo(21));
        }

        using TrainingCheckpoint.Loaded loaded = TrainingCheckpoint.Load(path);
        Assert.That(loaded.Model, Is.EqualTo(Model));
        Assert.That((loaded.Trainer.Epochs, loaded.Trainer.BatchSize, loaded.Trainer.Seed), Is.EqualTo((7, 4, 77UL)));
        Assert.That((loaded.State.Epoch, loaded.State.NextBatch, loaded.State.Step), Is.EqualTo((2, 1, 21L)));
        Assert.That(loaded.State.History, Is.EqualTo(new[] { new EpochMetrics(1, 1.5, 0.25, null, null, 0.01), new EpochMetrics(2, 1.25, 0.5, null, null, 0.005) }));
        Assert.That(TestTensors.SameBytes(loaded.Section("model.").Single(pair => pair.Key == "conv.weight").Value, weights["conv.weight"]), Is.True);
        Assert.That(TestTensors.SameBytes(loaded.RngState, GeneratorState(11)), Is.True, "the run's generator state");
        Assert.That(TestTensors.SameBytes(loaded.Find(TrainingCheckpoint.MomentumPrefix + "0")!, momentum), Is.True);
    }

    [Test]
    public void ACheckpointOfTheEarlierFormatIsRefusedSayingToStartAgain()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        var weights = new Dictionary<string, Tensor> { ["fc.bias"] = randn([3]) };
        string format2 = folder.File("format2.ckpt");
        WriteAsFormat2(SaveCheckpoint(folder, weights, randn([3])), format2);

        string refusal = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(format2).Dispose())!.Message;
        Assert.That(refusal, Does.StartWith(format2).And.Contain("earlier version").And.Contain("format 2")
            .And.Contain("Start the training again without resuming from it"));
        Assert.That(TrainingCheckpoint.HoldsATrainingRun(PyTorchStateDict.Load(format2)), Is.True, "its weights can still start a run");
        Assert.That(Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadDescription(format2))!.Message, Is.EqualTo(refusal),
            "the tool and the ML.NET trainer read the description alone first: the same refusal");

        // A state dict that never was a checkpoint is told apart from one of the earlier format.
        string weightsOnly = folder.File("weights.pt");
        PyTorchStateDict.Save(weights, weightsOnly);
        Assert.That(Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(weightsOnly).Dispose())!.Message,
            Is.EqualTo($"{weightsOnly} is not a BN-Inception training checkpoint: it has no record 'archive/bninception-checkpoint.json'."));
        Assert.That(Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.ReadDescription(weightsOnly))!.Message,
            Is.EqualTo($"{weightsOnly} is not a BN-Inception training checkpoint: it has no record 'archive/bninception-checkpoint.json'."));
    }

    [Test]
    public void ACheckpointOfEitherFormatAndAStateDictAreToldApartFromTheirNamesAlone()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        var weights = new Dictionary<string, Tensor> { ["fc.bias"] = randn([3]) };
        string checkpoint = SaveCheckpoint(folder, weights, randn([3])), format2 = folder.File("format2.ckpt");
        WriteAsFormat2(checkpoint, format2);
        string weightsOnly = folder.File("weights.pt"), longerName = folder.File("longer.pt"), notTorch = folder.File("model.zip");
        PyTorchStateDict.Save(weights, weightsOnly);
        // A key that starts with format 2's, and a tensor that holds its text (in a storage record, not data.pkl): neither is the key.
        PyTorchStateDict.Save([new("trainer.metadata", randn([3])), new("names", tensor(System.Text.Encoding.UTF8.GetBytes("trainer.meta")))], longerName);
        File.WriteAllBytes(notTorch, [.. "PK\u0003\u0004"u8, .. new byte[64]]);

        foreach ((string path, TrainingCheckpoint.FileKind kind) in new[]
        {
            (checkpoint, TrainingCheckpoint.FileKind.Checkpoint), (format2, TrainingCheckpoint.FileKind.Format2Checkpoint),
            (weightsOnly, TrainingCheckpoint.FileKind.TorchSave), (longerName, TrainingCheckpoint.FileKind.TorchSave), (notTorch, TrainingCheckpoint.FileKind.Other),
        })
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read);
            Assert.That(TrainingCheckpoint.Identify(file, path), Is.EqualTo(kind), Path.GetFileName(path));
            Assert.That(file.Position, Is.Zero, "the position put back");
        }
    }

    [Test]
    public void StepsPerHostReadIsKeptAndACheckpointWrittenBeforeItExistedLoadsWithTheDevicesDefault()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        var state = new TrainingState { Epoch = 1, Step = 3 };
        string path = folder.File("run.ckpt");
        TrainingCheckpoint.Save(path, Model, Trainer with { StepsPerHostRead = 5 }, state, [new("fc.bias", zeros(3))], [], bestWeights: null, GeneratorState(1));
        using (TrainingCheckpoint.Loaded loaded = TrainingCheckpoint.Load(path))
        {
            Assert.That(loaded.Trainer.StepsPerHostRead, Is.EqualTo(5));
        }

        // The description as a version without the setting wrote it: the property absent.
        string older = folder.File("older.ckpt");
        File.WriteAllBytes(older, TorchArchiveEditing.Rewrite(File.ReadAllBytes(path), (name, data) =>
        {
            if (name != "archive/bninception-checkpoint.json")
            {
                return data;
            }

            JsonNode description = JsonNode.Parse(data)!;
            Assert.That(description["Trainer"]!.AsObject().Remove("StepsPerHostRead"), Is.True);
            return JsonSerializer.SerializeToUtf8Bytes(description);
        }));
        using TrainingCheckpoint.Loaded old = TrainingCheckpoint.Load(older);
        Assert.That(old.Trainer.StepsPerHostRead, Is.Null);
        Assert.That(old.Trainer with { StepsPerHostRead = 5 }, Is.EqualTo(Trainer with { StepsPerHostRead = 5 }), "every other setting as saved");
        Assert.That(old.Trainer.StepsPerHostReadOn(DeviceType.CPU), Is.EqualTo(TrainerOptions.StepsPerHostReadOnCpu));
        Assert.That(old.Trainer.StepsPerHostReadOn(DeviceType.CUDA), Is.EqualTo(TrainerOptions.StepsPerHostReadOnCuda));
    }

    [Test]
    public void ExtraRecordsCannotTakeTheNameOfOneOfPyTorchs()
    {
        using DisposeScope scope = NewDisposeScope();
        KeyValuePair<string, Tensor>[] stateDict = [new("w", zeros(2))];
        foreach (string name in new[] { "data.pkl", "version", "data", "", "notes/run.json" })
        {
            using var stream = new MemoryStream();
            Assert.Throws<ArgumentException>(() => TorchArchive.Write(stateDict, stream, new Dictionary<string, byte[]> { [name] = [1] }), name);
            Assert.That(stream.Length, Is.Zero, $"'{name}': nothing is written");
        }
    }
}
