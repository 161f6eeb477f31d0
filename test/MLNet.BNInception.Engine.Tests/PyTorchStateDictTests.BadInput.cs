using MLNet.BNInception.Engine.Interop;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// What <see cref="PyTorchStateDict"/> refuses: files that are not PyTorch state dicts or are damaged
/// (a clear error naming the file, no tensor left behind), and tensors it cannot save (the old file
/// and the stream left as they were).
/// </summary>
public partial class PyTorchStateDictTests
{
    [Test]
    public void BadFilesGiveClearErrors()
    {
        using var folder = new TemporaryDirectory();
        File.WriteAllBytes(folder.File("zero.pt"), []);
        File.WriteAllText(folder.File("text.pt"), "weights, honestly");
        byte[] valid = File.ReadAllBytes(s_python.File("plain.pt"));
        File.WriteAllBytes(folder.File("truncated.pt"), valid[..(valid.Length / 2)]);

        AssertLoadFails(folder.File("zero.pt"), "is empty");
        AssertLoadFails(folder.File("text.pt"), "is not a PyTorch file");
        AssertLoadFails(folder.File("truncated.pt"), "truncated");
        AssertLoadFails(s_python.File("legacy.pt"), "legacy (pre-1.6) format");
        AssertLoadFails(s_python.File("legacy.pt"), "_use_new_zipfile_serialization");
        AssertLoadFails(s_python.File("not_only_tensors.pt"), "entry 'epoch' is an int, not a tensor");
        AssertLoadFails(s_python.File("other_object.pt"), "unsupported object 'collections.Counter'");
        AssertLoadFails(s_python.File("subclass.pt"), "unsupported tensor type '__main__.TaggedTensor'");
        AssertLoadFails(s_python.File("torchscript.pt"), "TorchScript archive");
        AssertLoadFails(s_python.File("expanded_huge.pt"), "would take 2147483648 bytes once loaded, from 4 bytes of storage in the file");
        AssertLoadFails(s_python.File("deflated_expanded.pt"), "would take 335544320 bytes once loaded, from ");

        using Tensor stillWorking = ones([1]);
        Assert.That(stillWorking.item<float>(), Is.EqualTo(1));
    }

    [Test]
    public void DamagedArchivesGiveClearErrors()
    {
        using var folder = new TemporaryDirectory();
        using Tensor range = TestTensors.Range(1, 7, ScalarType.Float32);
        using Tensor tensor = range.reshape(2, 3);
        byte[] valid = SaveToBytes(tensor);

        string Write(string name, byte[] bytes)
        {
            File.WriteAllBytes(folder.File(name), bytes);
            return folder.File(name);
        }

        // Rewritten through ZipArchive, so the checksums match and the reader sees the change itself.
        AssertLoadFails(Write("opcode.pt", TorchArchiveEditing.Rewrite(valid, (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? [.. data[..2], 0xff, .. data[2..]] : data)),
            "unsupported pickle opcode 0xff at byte 2");
        AssertLoadFails(Write("short.pt", TorchArchiveEditing.Rewrite(valid, (name, data) => name.EndsWith("data/0", StringComparison.Ordinal) ? data[..^1] : data)),
            "storage record 'archive/data/0' has 23 bytes but 6 Float32 elements need 24");
        AssertLoadFails(Write("nopickle.pt", TorchArchiveEditing.Rewrite(valid, (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? null : data)),
            "without a data.pkl record");
        AssertLoadFails(Write("nostorage.pt", TorchArchiveEditing.Rewrite(valid, (name, data) => name.EndsWith("data/0", StringComparison.Ordinal) ? null : data)),
            "has no record 'archive/data/0'");

        // One flipped bit in a weight, checksum left as it was: torch.load 1.13 would load the wrong value.
        byte[] flipped = (byte[])valid.Clone();
        flipped[TorchArchiveEditing.IndexOf(flipped, BitConverter.GetBytes(3f)) + 1] ^= 0x01;
        AssertLoadFails(Write("flipped.pt", flipped), "record 'archive/data/0' is corrupt");
    }

    private static void AssertLoadFails(string path, string expectedMessage)
    {
        long before = LiveTensors;
        var error = Assert.Throws<InvalidDataException>(() => PyTorchStateDict.Load(path));
        Assert.That(error!.Message, Does.Contain(expectedMessage));
        Assert.That(error.Message, Does.Contain(path), "the message names the file");
        Assert.That(LiveTensors, Is.EqualTo(before), "no tensor is left behind");
    }

    [Test]
    public void AFailedSaveLeavesTheOldFileIntactAndNoTemporaryFile()
    {
        using var folder = new TemporaryDirectory();
        string path = folder.File("weights.pt");
        using (Tensor original = ones([3]))
        {
            PyTorchStateDict.Save([new KeyValuePair<string, Tensor>("w", original)], path);
        }

        byte[] before = File.ReadAllBytes(path);
        Tensor disposed = zeros([3]);
        disposed.Dispose();
        using Tensor good = zeros([2]);
        using Tensor complex = zeros([2], ScalarType.ComplexFloat32);
        var error = Assert.Throws<ArgumentException>(() => PyTorchStateDict.Save([new("good", good), new("bad", disposed)], path));
        Assert.That(error!.Message, Does.Contain("'bad'").And.Contain("disposed"));
        error = Assert.Throws<ArgumentException>(() => PyTorchStateDict.Save([new("good", good), new("good", good)], path));
        Assert.That(error!.Message, Does.Contain("'good'").And.Contain("twice"));
        var unsupported = Assert.Throws<NotSupportedException>(() => PyTorchStateDict.Save([new("good", good), new("complex", complex)], path));
        Assert.That(unsupported!.Message, Does.Contain("'complex'").And.Contain("ComplexFloat32"));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void AnEntryThatCannotBeSavedLeavesTheStreamUntouched()
    {
        using Tensor good = zeros([2]);
        using Tensor complex = zeros([2], ScalarType.ComplexFloat32);
        using Tensor one = zeros([1]);
        using Tensor huge = one.expand(600_000_000); // 2.4 GB as a row-major record, yet no memory as a view
        using var stream = new MemoryStream();
        Assert.Throws<NotSupportedException>(() => PyTorchStateDict.Save([new("good", good), new("complex", complex)], stream));
        var error = Assert.Throws<NotSupportedException>(() => PyTorchStateDict.Save([new("good", good), new("huge", huge)], stream));
        Assert.That(error!.Message, Does.Contain("'huge'").And.Contain("2400000000 bytes"));
        Assert.That(stream.Length, Is.Zero, "not even an empty archive");
    }
}
