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
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(s_python.File("views.pt"));
        try
        {
            Tensor row = loaded.Single(pair => pair.Key == "row").Value;
            Tensor baseTensor = loaded.Single(pair => pair.Key == "base").Value;
            float before = baseTensor[1, 0].item<float>();
            row.fill_(1000);
            Assert.That(baseTensor[1, 0].item<float>(), Is.EqualTo(before));
        }
        finally
        {
            DisposeAll(loaded);
        }
    }

    [Test]
    public void NestedDictsAreFlattenedWithDots()
    {
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(s_python.File("nested.pt"));
        Assert.That(loaded.Select(pair => pair.Key), Is.EqualTo(new[] { "model.w", "optimizer.m" }));
        DisposeAll(loaded);
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
            new("transposed", torch.randn([2, 3]).transpose(0, 1)),
            new("empty", torch.zeros([0, 2])),
            new("parameter", torch.randn([2]).requires_grad_()),
        };
        string path = folder.File("ours.pt");
        torch.save(entries, path);

        List<Described> seenByPython = ParseDescription(PythonReference.Run("torch_save_reference.py", "read", path));
        Assert.That(seenByPython.Select(d => d.Key), Is.EqualTo(entries.Select(e => e.Key)));
        foreach ((KeyValuePair<string, Tensor> ours, Described theirs) in entries.Zip(seenByPython))
        {
            Described expected = Describe(ours.Key, ours.Value);
            Assert.That(theirs.Type, Is.EqualTo(expected.Type), ours.Key);
            Assert.That(theirs.Shape, Is.EqualTo(expected.Shape), ours.Key);
            Assert.That(theirs.Data, Is.EqualTo(expected.Data), ours.Key);
        }
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
        torch.save(module.state_dict(), path);
        List<Described> loadedByPython = ParseDescription(PythonReference.Run("torch_save_reference.py", "load-module", path));
        Assert.That(loadedByPython.Select(d => d.Key), Is.EqualTo(module.state_dict().Select(pair => pair.Key)));
        foreach ((KeyValuePair<string, Tensor> ours, Described theirs) in module.state_dict().Zip(loadedByPython))
        {
            Assert.That(theirs.Data, Is.EqualTo(Describe(ours.Key, ours.Value.detach()).Data), ours.Key);
        }
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
        }

        string path = folder.File("all.pt");
        torch.save(entries, path);
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(path);
        try
        {
            AssertSame(loaded, entries.Select(pair => Describe(pair.Key, pair.Value)).ToList());
        }
        finally
        {
            DisposeAll(loaded);
        }

        using var stream = new MemoryStream();
        torch.save(entries, stream);
        stream.Position = 0;
        IReadOnlyList<KeyValuePair<string, Tensor>> fromStream = torch.load(stream);
        Assert.That(fromStream, Has.Count.EqualTo(entries.Count));
        DisposeAll(fromStream);
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
        AssertLoadFails(s_python.File("not_only_tensors.pt"), "entry 'epoch' is an int, not a tensor");
        AssertLoadFails(s_python.File("torchscript.pt"), "TorchScript archive");

        using Tensor stillWorking = torch.ones([1]);
        Assert.That(stillWorking.item<float>(), Is.EqualTo(1));
    }

    private static void AssertLoadFails(string path, string expectedMessage)
    {
        long handles = torch.LiveTensorCount;
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

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { path }));
    }
}
