using System.IO.Compression;
using System.Text;
using System.Text.Json;
using MLNet.BNInception.Torch.Modules;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>torch.save / torch.load in PyTorch's own format, checked against Debian's PyTorch both ways.</summary>
public class SerializationTests
{
    private static readonly Dictionary<string, ScalarType> PythonTypes = new()
    {
        ["float32"] = ScalarType.Float32, ["float64"] = ScalarType.Float64, ["int64"] = ScalarType.Int64,
        ["int32"] = ScalarType.Int32, ["uint8"] = ScalarType.UInt8, ["bool"] = ScalarType.Bool,
        ["int8"] = ScalarType.Int8, ["int16"] = ScalarType.Int16, ["float16"] = ScalarType.Float16,
    };

    private static TemporaryDirectory s_python = null!;

    [OneTimeSetUp]
    public static void WritePythonFiles()
    {
        s_python = new TemporaryDirectory();
        PythonReference.Run("torch_save_reference.py", "write", s_python.Path);
    }

    [OneTimeTearDown]
    public static void DeletePythonFiles() => s_python.Dispose();

    private sealed record Described(string Key, ScalarType Type, long[] Shape, byte[] Data);

    private static List<Described> ParseDescription(string json) =>
        JsonDocument.Parse(json).RootElement.EnumerateArray().Select(entry => new Described(
            entry.GetProperty("key").GetString()!,
            PythonTypes[entry.GetProperty("dtype").GetString()!],
            entry.GetProperty("shape").EnumerateArray().Select(size => size.GetInt64()).ToArray(),
            Convert.FromBase64String(entry.GetProperty("data").GetString()!))).ToList();

    private static Described Describe(string key, Tensor tensor)
    {
        var bytes = new byte[tensor.nbytes];
        tensor.CopyBytesTo(bytes);
        return new Described(key, tensor.dtype, tensor.shape, bytes);
    }

    private static void AssertSame(IReadOnlyList<KeyValuePair<string, Tensor>> actual, List<Described> expected)
    {
        Assert.That(actual.Select(pair => pair.Key), Is.EqualTo(expected.Select(e => e.Key)), "keys, in order");
        foreach ((KeyValuePair<string, Tensor> pair, Described want) in actual.Zip(expected))
        {
            Described got = Describe(pair.Key, pair.Value);
            Assert.That(got.Type, Is.EqualTo(want.Type), pair.Key);
            Assert.That(got.Shape, Is.EqualTo(want.Shape), pair.Key);
            Assert.That(got.Data, Is.EqualTo(want.Data), pair.Key);
        }
    }

    private static void DisposeAll(IEnumerable<KeyValuePair<string, Tensor>> entries)
    {
        foreach (KeyValuePair<string, Tensor> pair in entries)
        {
            pair.Value.Dispose();
        }
    }

    [TestCase("state_dict", Description = "torch.save(model.state_dict()): an OrderedDict with _metadata")]
    [TestCase("plain")]
    [TestCase("views", Description = "tensors sharing one storage, a slice and a transpose")]
    [TestCase("protocol4")]
    [TestCase("wrapped", Description = "an nn.Parameter, and a tensor through _rebuild_from_type_v2")]
    public void LoadsWhatPyTorchSaved(string name)
    {
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(s_python.File(name + ".pt"));
        try
        {
            AssertSame(loaded, ParseDescription(File.ReadAllText(s_python.File(name + ".json"))));
        }
        finally
        {
            DisposeAll(loaded);
        }
    }

    [Test]
    public void LoadedViewsDoNotAliasEachOther()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(s_python.File("views.pt"));
        Tensor row = loaded.Single(pair => pair.Key == "row").Value;
        Tensor baseTensor = loaded.Single(pair => pair.Key == "base").Value;
        float before = baseTensor[1, 0].item<float>();
        row.fill_(1000);
        Assert.That(baseTensor[1, 0].item<float>(), Is.EqualTo(before));
        Assert.That(loaded.Single(pair => pair.Key == "transposed").Value.is_contiguous(), Is.True);
    }

    [Test]
    public void NestedDictsAreFlattenedWithDots()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(s_python.File("nested.pt"));
        Assert.That(loaded.Select(pair => pair.Key), Is.EqualTo(new[] { "model.w", "optimizer.m" }));
    }

    [Test]
    public void PyTorchLoadsWhatWeSaved()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = torch.NewDisposeScope();
        torch.manual_seed(4);
        var entries = new List<KeyValuePair<string, Tensor>>
        {
            new("float", torch.randn([3, 4])),
            new("double", torch.randn([2], ScalarType.Float64)),
            new("long", torch.arange(-5, 5)),
            new("scalar", torch.scalar_tensor(42L)),
            new("byte", torch.tensor(new byte[] { 0, 1, 255 })),
            new("bool", torch.tensor(new[] { true, false })),
            new("int", torch.tensor(new[] { int.MinValue, int.MaxValue })),
            new("big", torch.tensor(new[] { long.MinValue, long.MaxValue })),
            new("transposed", torch.randn([2, 3]).transpose(0, 1)),
            new("empty", torch.zeros([0, 2])),
            new("parameter", torch.randn([2]).requires_grad_()),
        };
        string path = folder.File("ours.pt");
        torch.save(entries, path);

        List<Described> seenByPython = ParseDescription(PythonReference.Run("torch_save_reference.py", "read", path));
        AssertSame(entries, seenByPython);
    }

    [Test]
    public void PyTorchLoadsOurModuleStateDictStrictly()
    {
        using var folder = new TemporaryDirectory();
        using var module = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            module.call(torch.randn([4, 1, 5, 5])); // non-default running statistics and a batch count
        }

        string path = folder.File("module.pt");
        IReadOnlyList<KeyValuePair<string, Tensor>> state = module.state_dict();
        Assert.That(state.Select(pair => pair.Key), Is.EqualTo(new[]
        {
            "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
        }));
        torch.save(state, path);
        AssertSame(state, ParseDescription(PythonReference.Run("torch_save_reference.py", "load-module", path)));
    }

    [Test]
    public void WritesTheLayoutTorchSaveWrites()
    {
        using var stream = new MemoryStream();
        using (Tensor a = torch.ones([2]))
        using (Tensor b = torch.zeros([3], ScalarType.Int64))
        {
            torch.save([new("a", a), new("b", b)], stream);
        }

        stream.Position = 0;
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
        Assert.That(zip.Entries.Select(entry => entry.FullName),
            Is.EqualTo(new[] { "archive/data.pkl", "archive/data/0", "archive/data/1", "archive/version" }));
        Assert.That(zip.Entries.Select(entry => entry.CompressedLength), Is.EqualTo(zip.Entries.Select(entry => entry.Length)), "stored, not deflated");
        Assert.That(Encoding.ASCII.GetString(ReadEntry(zip, "archive/version")), Is.EqualTo("3\n"));
        Assert.That(ReadEntry(zip, "archive/data/1"), Has.Length.EqualTo(24));
    }

    [Test]
    public void EveryTypeRoundTripsThroughOurOwnReaderAndWriter()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = torch.NewDisposeScope();
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (ScalarType type in Enum.GetValues<ScalarType>())
        {
            using Tensor source = torch.arange(0, 6, dtype: ScalarType.Float64).reshape(2, 3);
            entries.Add(new(type.ToString(), source.to(type)));
            entries.Add(new(type + ".scalar", torch.full([], 1, type)));
            entries.Add(new(type + ".empty", torch.zeros([0], type)));
            entries.Add(new(type + ".empty2d", torch.zeros([2, 0], type)));
        }

        string path = folder.File("all.pt");
        torch.save(entries, path);
        List<Described> expected = entries.Select(pair => Describe(pair.Key, pair.Value)).ToList();
        AssertSame(torch.load(path), expected);

        using var stream = new MemoryStream();
        torch.save(entries, stream);
        stream.Position = 0;
        AssertSame(torch.load(stream), expected);
    }

    [Test]
    public void LoadedTensorsBelongToTheCallersScopeAndNothingElseIsLeftBehind()
    {
        long before = LiveTensorsAfterCollection();
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded;
        using (DisposeScope scope = torch.NewDisposeScope())
        {
            loaded = torch.load(s_python.File("views.pt"));
            Assert.That(torch.LiveTensorCount, Is.EqualTo(before + loaded.Count), "only the results are alive");
        }

        Assert.That(loaded.All(pair => pair.Value.IsDisposed), Is.True);
        Assert.That(torch.LiveTensorCount, Is.EqualTo(before));

        loaded = torch.load(s_python.File("views.pt"));
        Assert.That(loaded.Any(pair => pair.Value.IsDisposed), Is.False, "without a scope the caller owns them");
        DisposeAll(loaded);
        Assert.That(torch.LiveTensorCount, Is.EqualTo(before));
    }

    [Test]
    public void TensorsSavedOnAnotherDeviceLoadOnTheCpu()
    {
        using var folder = new TemporaryDirectory();
        using Tensor original = torch.randn([2, 3]);
        byte[] cpu = [(byte)'X', 3, 0, 0, 0, .. "cpu"u8];
        byte[] cuda = [(byte)'X', 6, 0, 0, 0, .. "cuda:0"u8];
        string path = folder.File("cuda.pt");
        File.WriteAllBytes(path, Rewrite(SaveToBytes(original), (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? Replace(data, cpu, cuda) : data));

        using DisposeScope scope = torch.NewDisposeScope();
        AssertSame(torch.load(path), [Describe("w", original)]);
    }

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

        using Tensor stillWorking = torch.ones([1]);
        Assert.That(stillWorking.item<float>(), Is.EqualTo(1));
    }

    [Test]
    public void DamagedArchivesGiveClearErrors()
    {
        using var folder = new TemporaryDirectory();
        using Tensor tensor = torch.arange(1, 7, dtype: ScalarType.Float32).reshape(2, 3);
        byte[] valid = SaveToBytes(tensor);

        string Write(string name, byte[] bytes)
        {
            File.WriteAllBytes(folder.File(name), bytes);
            return folder.File(name);
        }

        // Rewritten through ZipArchive, so the checksums match and the reader sees the change itself.
        AssertLoadFails(Write("opcode.pt", Rewrite(valid, (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? [.. data[..2], 0xff, .. data[2..]] : data)),
            "unsupported pickle opcode 0xff at byte 2");
        AssertLoadFails(Write("short.pt", Rewrite(valid, (name, data) => name.EndsWith("data/0", StringComparison.Ordinal) ? data[..^1] : data)),
            "storage record 'archive/data/0' has 23 bytes but 6 Float32 elements need 24");
        AssertLoadFails(Write("nopickle.pt", Rewrite(valid, (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? null : data)),
            "without a data.pkl record");
        AssertLoadFails(Write("nostorage.pt", Rewrite(valid, (name, data) => name.EndsWith("data/0", StringComparison.Ordinal) ? null : data)),
            "has no record 'archive/data/0'");

        // One flipped bit in a weight, checksum left as it was: torch.load 1.13 would load the wrong value.
        byte[] flipped = (byte[])valid.Clone();
        flipped[IndexOf(flipped, BitConverter.GetBytes(3f)) + 1] ^= 0x01;
        AssertLoadFails(Write("flipped.pt", flipped), "record 'archive/data/0' is corrupt");
    }

    private static void AssertLoadFails(string path, string expectedMessage)
    {
        long handles = LiveTensorsAfterCollection();
        var error = Assert.Throws<InvalidDataException>(() => torch.load(path));
        Assert.That(error!.Message, Does.Contain(expectedMessage));
        Assert.That(error.Message, Does.Contain(path), "the message names the file");
        Assert.That(torch.LiveTensorCount, Is.EqualTo(handles), "no tensor is left behind");
    }

    [Test]
    public void AFailedSaveLeavesTheOldFileIntactAndNoTemporaryFile()
    {
        using var folder = new TemporaryDirectory();
        string path = folder.File("weights.pt");
        using (Tensor original = torch.ones([3]))
        {
            torch.save([new KeyValuePair<string, Tensor>("w", original)], path);
        }

        byte[] before = File.ReadAllBytes(path);
        Tensor disposed = torch.zeros([3]);
        disposed.Dispose();
        using Tensor good = torch.zeros([2]);
        Assert.Throws<ObjectDisposedException>(() => torch.save([new("good", good), new("bad", disposed)], path));
        Assert.Throws<ArgumentException>(() => torch.save([new("good", good), new("good", good)], path));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { path }));
    }

    // Tensors other tests leaked may be finalized at any moment; collecting them first keeps the count steady.
    private static long LiveTensorsAfterCollection()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return torch.LiveTensorCount;
    }

    private static byte[] SaveToBytes(Tensor tensor)
    {
        using var stream = new MemoryStream();
        torch.save([new KeyValuePair<string, Tensor>("w", tensor)], stream);
        return stream.ToArray();
    }

    /// <summary>The archive with each record passed through <paramref name="change"/> (null drops it).</summary>
    private static byte[] Rewrite(byte[] archive, Func<string, byte[], byte[]?> change)
    {
        using var source = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
        using var output = new MemoryStream();
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (ZipArchiveEntry entry in source.Entries)
            {
                byte[]? data = change(entry.FullName, ReadEntry(source, entry.FullName));
                if (data is not null)
                {
                    using Stream stream = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                    stream.Write(data);
                }
            }
        }

        return output.ToArray();
    }

    private static byte[] ReadEntry(ZipArchive zip, string name)
    {
        using Stream stream = zip.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static int IndexOf(byte[] data, byte[] pattern)
    {
        int index = data.AsSpan().IndexOf(pattern);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), "pattern not found");
        return index;
    }

    private static byte[] Replace(byte[] data, byte[] pattern, byte[] replacement)
    {
        int index = IndexOf(data, pattern);
        return [.. data[..index], .. replacement, .. data[(index + pattern.Length)..]];
    }
}
