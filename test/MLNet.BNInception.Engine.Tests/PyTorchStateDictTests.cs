using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text;
using MLNet.BNInception.Engine.Interop;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// <see cref="PyTorchStateDict.Save(IEnumerable{KeyValuePair{string, Tensor}}, string)"/> and
/// <see cref="PyTorchStateDict.Load(string)"/> in PyTorch's own format, checked against Debian's
/// PyTorch both ways (python/torch_save_reference.py), against hand-built archives and byte for byte.
/// Files and tensors it must refuse are in PyTorchStateDictTests.BadInput.cs.
/// </summary>
public partial class PyTorchStateDictTests
{
    private static readonly Dictionary<string, ScalarType> PythonTypes = new()
    {
        ["float32"] = ScalarType.Float32, ["float64"] = ScalarType.Float64, ["int64"] = ScalarType.Int64,
        ["int32"] = ScalarType.Int32, ["uint8"] = ScalarType.Byte, ["bool"] = ScalarType.Bool,
        ["int8"] = ScalarType.Int8, ["int16"] = ScalarType.Int16, ["float16"] = ScalarType.Float16,
        ["bfloat16"] = ScalarType.BFloat16,
    };

    /// <summary>Every element type PyTorch's format has a storage class for that TorchSharp can hold.</summary>
    private static readonly ScalarType[] SavedTypes =
    [
        ScalarType.Float32, ScalarType.Float64, ScalarType.Float16, ScalarType.BFloat16, ScalarType.Int64,
        ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    ];

    // Written by hand, independently of python/torch_save_reference.py's own list: +0, -0, smallest and
    // largest subnormal, 1, largest finite, +inf, -inf, quiet NaN, NaN with a payload, negative NaN, 1/3.
    private static readonly ushort[] Float16Bits = [0x0000, 0x8000, 0x0001, 0x03FF, 0x3C00, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x7D01, 0xFFFF, 0x3555];
    private static readonly ushort[] BFloat16Bits = [0x0000, 0x8000, 0x0001, 0x007F, 0x3F80, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0xFFFF, 0x3EAB];

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

    /// <summary>A tensor's type, shape and values in row-major order, whatever its layout.</summary>
    private static Described Describe(string key, Tensor tensor)
    {
        using Tensor compact = tensor.detach().contiguous();
        return new Described(key, tensor.dtype, tensor.shape, compact.bytes.ToArray());
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

    // Per thread and exact: a tensor counts as alive until disposed on this thread, whatever the garbage collector does.
    private static long LiveTensors => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    [TestCase("state_dict", Description = "torch.save(model.state_dict()): an OrderedDict with _metadata")]
    [TestCase("plain", Description = "every element type, a scalar and an empty tensor")]
    [TestCase("views", Description = "tensors sharing one storage: a slice, a transpose, stride 0; and a channels-last tensor")]
    [TestCase("protocol4")]
    [TestCase("wrapped", Description = "an nn.Parameter, and a tensor through _rebuild_from_type_v2")]
    [TestCase("half", Description = "float16 and bfloat16 bit patterns: NaN payloads, signed zeros, subnormals, infinities")]
    public void LoadsWhatPyTorchSaved(string name)
    {
        using DisposeScope scope = NewDisposeScope();
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = PyTorchStateDict.Load(s_python.File(name + ".pt"));
        AssertSame(loaded, ParseDescription(File.ReadAllText(s_python.File(name + ".json"))));
    }

    [Test]
    public void LoadedViewsAreCompactAndDoNotAliasEachOther()
    {
        using DisposeScope scope = NewDisposeScope();
        Dictionary<string, Tensor> loaded = PyTorchStateDict.Load(s_python.File("views.pt")).ToDictionary();
        Assert.That(loaded.Values.All(tensor => tensor.is_contiguous()), Is.True, "row-major, channels-last and stride-0 tensors included");
        float before = loaded["base"][1, 0].item<float>();
        TestTensors.Fill(loaded["row"], 1000);
        TestTensors.Fill(loaded["expanded"], 2000);
        Assert.That(loaded["base"][1, 0].item<float>(), Is.EqualTo(before));
        Assert.That(loaded["expanded"].sum().item<float>(), Is.EqualTo(2000f * 18), "each of the 18 elements is its own");
    }

    [Test]
    public void NestedDictsAreFlattenedWithDots()
    {
        using DisposeScope scope = NewDisposeScope();
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = PyTorchStateDict.Load(s_python.File("nested.pt"));
        Assert.That(loaded.Select(pair => pair.Key), Is.EqualTo(new[] { "model.w", "optimizer.m" }));
    }

    [Test]
    public void PyTorchLoadsWhatWeSaved()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        manual_seed(4);
        var entries = new List<KeyValuePair<string, Tensor>>
        {
            new("float", randn([3, 4])),
            new("double", randn([2], ScalarType.Float64)),
            new("half", randn([5]).to(ScalarType.Float16)),
            new("bfloat16", randn([5]).to(ScalarType.BFloat16)),
            new("long", TestTensors.Range(-5, 5, ScalarType.Int64)),
            new("scalar", tensor(42L)),
            new("byte", tensor(new byte[] { 0, 1, 255 })),
            new("bool", tensor(new[] { true, false })),
            new("int", tensor(new[] { int.MinValue, int.MaxValue })),
            new("short", tensor(new short[] { short.MinValue, short.MaxValue })),
            new("sbyte", tensor(new sbyte[] { sbyte.MinValue, sbyte.MaxValue })),
            new("big", tensor(new[] { long.MinValue, long.MaxValue })),
            new("transposed", randn([2, 3]).transpose(0, 1)),
            new("empty", zeros([0, 2])),
            new("parameter", randn([2]).requires_grad_()),
        };
        string path = folder.File("ours.pt");
        PyTorchStateDict.Save(entries, path);

        List<Described> seenByPython = ParseDescription(PythonReference.Run("torch_save_reference.py", "read", path));
        AssertSame(entries, seenByPython);
    }

    /// <summary>
    /// The file promises row-major strides, so the bytes must be row-major whatever the tensor's own
    /// layout. PyTorch compares what it reads with the same values built on its side.
    /// </summary>
    [Test]
    public void PyTorchReadsChannelsLastTensorsAndViewsAsTheirValues()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        Tensor grid = TestTensors.Range(2 * 3 * 4 * 5, ScalarType.Float32).reshape(2, 3, 4, 5);
        Tensor matrix = TestTensors.Range(4 * 6, ScalarType.Float64).reshape(4, 6);
        var entries = new List<KeyValuePair<string, Tensor>>
        {
            new("channels_last", ChannelsLast.Of(grid)),
            new("channels_last_bfloat16", ChannelsLast.Of(grid.to(ScalarType.BFloat16))),
            new("transposed", matrix.t()),
            new("slice", matrix.slice(0, 1, 3, 1).slice(1, 2, 5, 1)),
            new("every_other_column", matrix.slice(1, 0, 6, 2)),
            new("expanded", TestTensors.Range(3, ScalarType.Int64).expand(2, 3)),
        };
        Assert.That(entries.Where(pair => pair.Value.is_contiguous()).Select(pair => pair.Key), Is.Empty, "every layout differs from row-major");
        Assert.That(ChannelsLast.Is(entries[0].Value) && ChannelsLast.Is(entries[1].Value), Is.True);

        string path = folder.File("layouts.pt");
        PyTorchStateDict.Save(entries, path);
        Dictionary<string, string>? verdicts = JsonSerializer.Deserialize<Dictionary<string, string>>(
            PythonReference.Run("torch_save_reference.py", "check-layouts", path));

        Assert.That(verdicts!.Keys, Is.EqualTo(entries.Select(pair => pair.Key)), "PyTorch read every entry");
        Assert.That(verdicts.Where(verdict => verdict.Value != "equal").Select(verdict => $"{verdict.Key}: {verdict.Value}"), Is.Empty);
    }

    [Test]
    public void HalfPrecisionBitsSurviveARoundTripThroughPyTorch()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        byte[] float16 = MemoryMarshal.AsBytes(Float16Bits.AsSpan()).ToArray();
        byte[] bfloat16 = MemoryMarshal.AsBytes(BFloat16Bits.AsSpan()).ToArray();
        Tensor FromBits(byte[] bits, ScalarType type)
        {
            Tensor result = empty([bits.Length / 2], type);
            result.bytes = bits;
            return result;
        }

        string ours = folder.File("ours.pt"), theirs = folder.File("theirs.pt");
        PyTorchStateDict.Save([new("float16", FromBits(float16, ScalarType.Float16)), new("bfloat16", FromBits(bfloat16, ScalarType.BFloat16))], ours);
        List<Described> expected =
        [
            new("float16", ScalarType.Float16, [Float16Bits.Length], float16),
            new("bfloat16", ScalarType.BFloat16, [BFloat16Bits.Length], bfloat16),
        ];

        List<Described> seenByPython = ParseDescription(PythonReference.Run("torch_save_reference.py", "resave", ours, theirs));
        Assert.That(seenByPython, Has.Count.EqualTo(2));
        foreach ((Described got, Described want) in seenByPython.Zip(expected))
        {
            Assert.That(got.Key, Is.EqualTo(want.Key));
            Assert.That(got.Type, Is.EqualTo(want.Type), got.Key);
            Assert.That(got.Shape, Is.EqualTo(want.Shape), got.Key);
            Assert.That(got.Data, Is.EqualTo(want.Data), $"{got.Key} as PyTorch read it");
        }

        AssertSame(PyTorchStateDict.Load(theirs), expected);
    }

    [Test]
    public void PyTorchLoadsOurModuleStateDictStrictly()
    {
        using var folder = new TemporaryDirectory();
        manual_seed(5);
        // Frees what TorchSharp's Conv2d constructor leaves behind.
        using DisposeScope leftovers = NewDisposeScope();
        using var module = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2));
        using (DisposeScope scope = NewDisposeScope())
        {
            module.call(randn([4, 1, 5, 5])); // non-default running statistics and a batch count
        }

        string path = folder.File("module.pt");
        List<KeyValuePair<string, Tensor>> state = module.state_dict().ToList();
        Assert.That(state.Select(pair => pair.Key), Is.EqualTo(new[]
        {
            "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
        }));
        PyTorchStateDict.Save(state, path);
        AssertSame(state, ParseDescription(PythonReference.Run("torch_save_reference.py", "load-module", path)));
    }

    [Test]
    public void WritesTheLayoutTorchSaveWrites()
    {
        using var stream = new MemoryStream();
        using (Tensor a = ones([2]))
        using (Tensor b = zeros([3], ScalarType.Int64))
        {
            PyTorchStateDict.Save([new("a", a), new("b", b)], stream);
        }

        stream.Position = 0;
        using var zip = new ZipArchive(stream, ZipArchiveMode.Read);
        Assert.That(zip.Entries.Select(entry => entry.FullName),
            Is.EqualTo(new[] { "archive/data.pkl", "archive/data/0", "archive/data/1", "archive/version" }));
        Assert.That(zip.Entries.Select(entry => entry.CompressedLength), Is.EqualTo(zip.Entries.Select(entry => entry.Length)), "stored, not deflated");
        Assert.That(Encoding.ASCII.GetString(TorchArchiveEditing.ReadRecord(zip, "archive/version")), Is.EqualTo("3\n"));
        Assert.That(TorchArchiveEditing.ReadRecord(zip, "archive/data/0"), Is.EqualTo(BitConverter.GetBytes(1f).Concat(BitConverter.GetBytes(1f))));
        Assert.That(TorchArchiveEditing.ReadRecord(zip, "archive/data/1"), Is.EqualTo(new byte[24]));
    }

    [Test]
    public void EveryTypeRoundTripsThroughOurOwnReaderAndWriter()
    {
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (ScalarType type in SavedTypes)
        {
            Tensor source = TestTensors.Range(6, ScalarType.Float64).reshape(2, 3);
            entries.Add(new(type.ToString(), source.to(type)));
            entries.Add(new(type + ".scalar", ones([], type)));
            entries.Add(new(type + ".empty", zeros([0], type)));
            entries.Add(new(type + ".empty2d", zeros([2, 0], type)));
        }

        string path = folder.File("all.pt");
        PyTorchStateDict.Save(entries, path);
        List<Described> expected = entries.Select(pair => Describe(pair.Key, pair.Value)).ToList();
        AssertSame(PyTorchStateDict.Load(path), expected);

        using var stream = new MemoryStream();
        PyTorchStateDict.Save(entries, stream);
        stream.Position = 0;
        AssertSame(PyTorchStateDict.Load(stream), expected);
    }

    [Test]
    public void LoadedTensorsBelongToTheCallersScopeAndNothingElseIsLeftBehind()
    {
        long before = LiveTensors;
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded;
        using (DisposeScope scope = NewDisposeScope())
        {
            loaded = PyTorchStateDict.Load(s_python.File("views.pt"));
            Assert.That(LiveTensors, Is.EqualTo(before + loaded.Count), "only the results are alive");
        }

        Assert.That(loaded.All(pair => pair.Value.IsInvalid), Is.True, "disposed with the scope");
        Assert.That(LiveTensors, Is.EqualTo(before));

        loaded = PyTorchStateDict.Load(s_python.File("views.pt"));
        Assert.That(loaded.Any(pair => pair.Value.IsInvalid), Is.False, "without a scope the caller owns them");
        foreach (KeyValuePair<string, Tensor> pair in loaded)
        {
            pair.Value.Dispose();
        }

        Assert.That(LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void SavingLeavesNoTensorBehind()
    {
        using var folder = new TemporaryDirectory();
        using Tensor values = randn([2, 3, 4, 5]);
        using Tensor channelsLast = ChannelsLast.Of(values);
        using Tensor parameter = randn([3]).requires_grad_();
        long before = LiveTensors;
        PyTorchStateDict.Save([new("channels_last", channelsLast), new("parameter", parameter)], folder.File("weights.pt"));
        using (var stream = new MemoryStream())
        {
            PyTorchStateDict.Save([new("channels_last", channelsLast), new("parameter", parameter)], stream);
        }

        Assert.That(LiveTensors, Is.EqualTo(before));
    }

    [Test]
    public void TensorsSavedOnAnotherDeviceLoadOnTheCpu()
    {
        using var folder = new TemporaryDirectory();
        using Tensor original = randn([2, 3]);
        byte[] cpu = [(byte)'X', 3, 0, 0, 0, .. "cpu"u8];
        byte[] cuda = [(byte)'X', 6, 0, 0, 0, .. "cuda:0"u8];
        string path = folder.File("cuda.pt");
        File.WriteAllBytes(path, TorchArchiveEditing.Rewrite(SaveToBytes(original), (name, data) => name.EndsWith("data.pkl", StringComparison.Ordinal) ? TorchArchiveEditing.Replace(data, cpu, cuda) : data));

        using DisposeScope scope = NewDisposeScope();
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = PyTorchStateDict.Load(path);
        AssertSame(loaded, [Describe("w", original)]);
        Assert.That(loaded[0].Value.device_type, Is.EqualTo(DeviceType.CPU));
    }

    private static byte[] SaveToBytes(Tensor tensor)
    {
        using var stream = new MemoryStream();
        PyTorchStateDict.Save([new KeyValuePair<string, Tensor>("w", tensor)], stream);
        return stream.ToArray();
    }
}
