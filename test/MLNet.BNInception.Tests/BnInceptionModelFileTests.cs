using System.IO.Compression;
using System.Text;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The network read out of an ML.NET model file scores as the trained transformer did; files that do
/// not hold exactly one BN-Inception network are refused, naming the file and what was expected.
/// </summary>
[Trains]
public class BnInceptionModelFileTests
{
    private const string Expected = "expected a model file saved (mlContext.Model.Save) from a pipeline holding BN-Inception's trainer";
    private static TemporaryDirectory s_folder = null!;
    private static string s_modelFile = null!;

    // The entry OnnxTransformer writes for the trainer's model in s_modelFile.
    private static string s_onnxEntry = null!;

    private static MLContext Ml => TrainedModel.Shared.Ml;

    private static BnInceptionPredictionTransformer Trained => TrainedModel.Shared.Model;

    private static ITransformer LabelKeys => TrainedModel.Shared.Keys;

    [OneTimeSetUp]
    public static void Save()
    {
        s_folder = new TemporaryDirectory();
        IDataView rows = Ml.Data.LoadFromEnumerable(PipelineData.FashionRows("train", 96));

        // A pipeline as an application saves it: the label's keys, the trainer, the class names back.
        IDataView scored = Trained.Transform(LabelKeys.Transform(rows));
        ITransformer names = Ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(scored);
        s_modelFile = s_folder.File("model.zip");
        Ml.Model.Save(new TransformerChain<ITransformer>(LabelKeys, Trained, names), rows.Schema, s_modelFile);
        using ZipArchive zip = ZipFile.OpenRead(s_modelFile);
        s_onnxEntry = zip.Entries.Single(entry => entry.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal)).FullName;
    }

    [OneTimeTearDown]
    public static void Free() => s_folder.Dispose();

    [Test]
    public void TheNetworkReadFromASavedPipelineGivesTheTransformersScores()
    {
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 12);
        float[][] expected = Trained.Transform(LabelKeys.Transform(Ml.Data.LoadFromEnumerable(rows))).GetColumn<float[]>("Score").ToArray();

        using ImportedNetwork network = BnInceptionModelFile.ReadNetwork(s_modelFile);
        Assert.That(network.ClassLabels, Is.EqualTo(Trained.ClassNames));
        Assert.That(network.Normalization, Is.Null, "the trainer takes the feature column as it is");
        Assert.That((network.Model.Options.InputChannels, network.Model.Options.InputSize, network.Model.Options.NumClasses), Is.EqualTo((1, 64, 10)));
        Assert.That(network.Model.BatchNormalization, Is.EqualTo(BatchNormalization.FoldedIntoConvolutions), "trained with BN, saved with it folded");
        float[] actual;
        using (DisposeScope scope = NewDisposeScope())
        using (no_grad())
        {
            Tensor images = tensor(rows.SelectMany(row => row.Features).ToArray(), [rows.Length, 1, 64, 64]);
            actual = network.Model.call(images).softmax(1).data<float>().ToArray();
        }

        for (int i = 0; i < rows.Length; i++)
        {
            float[] row = actual[(i * 10)..((i + 1) * 10)];
            double scale = expected[i].Max(Math.Abs);
            double worst = row.Zip(expected[i], (a, b) => Math.Abs(a - b)).Max();
            Assert.That(worst, Is.LessThan(1e-5 * scale), $"row {i}: max |difference| {worst:G3} at scale {scale:G3}");
        }
    }

    [Test]
    public void TheStreamMLNetLoadedThePipelineFromGivesTheNetworkAndStaysOpen()
    {
        byte[] stored;
        using (ZipArchive zip = ZipFile.OpenRead(s_modelFile))
        {
            stored = ReadEntry(zip, s_onnxEntry)[sizeof(int)..];
        }

        using var file = new FileStream(s_modelFile, FileMode.Open, FileAccess.Read);
        ITransformer pipeline = BnInceptionModelFile.Load(Ml, file, out _);
        (pipeline as IDisposable)?.Dispose();
        // Compared directly: NUnit's comparison of the model's boxed bytes one by one takes seconds.
        Assert.That(BnInceptionModelFile.ReadOnnxModel(file, "the open model file").AsSpan().SequenceEqual(stored), Is.True, "the entry's bytes after ML.NET's Int32 length");
        Assert.That(file.CanRead, Is.True, "the caller's stream is left open");

        using var notAZip = new MemoryStream("ImagePath,Label\n"u8.ToArray());
        Assert.That(Assert.Throws<InvalidDataException>(() => BnInceptionModelFile.ReadOnnxModel(notAZip, "the stream"))!.Message,
            Is.EqualTo($"the stream is not a zip file, so not an ML.NET model file; {Expected}."));
    }

    [Test]
    public void OnnxRuntimesRefusalOfANetworkNamedLikeAnOrtModelIsLoadedAgainAndNothingElseIs()
    {
        // ML.NET's OnnxTransformer on the saved network under two names. ONNX Runtime reads a file
        // named *.ort as its own format and refuses it, as it refuses ML.NET's temporary copy in
        // Model.Load when that copy's random name ends so; the same bytes named *.onnx load.
        byte[] onnx = BnInceptionModelFile.ReadOnnxModel(s_modelFile);
        string asOrt = s_folder.File("network.ort"), asOnnx = s_folder.File("network.onnx"), damaged = s_folder.File("damaged.onnx");
        File.WriteAllBytes(asOrt, onnx);
        File.WriteAllBytes(asOnnx, onnx);
        File.WriteAllBytes(damaged, onnx[..(onnx.Length / 2)]);
        int loads = 0;
        object Apply(string path)
        {
            loads++;
            return Ml.Transforms.ApplyOnnxModel(path);
        }

        Exception refusal = Assert.Catch(() => Apply(asOrt))!;
        Assert.That(BnInceptionModelFile.IsOrtFormatMisreading(refusal), Is.True, refusal.ToString());
        Assert.That(refusal, Is.InstanceOf<InvalidOperationException>(), "what the load catches");

        loads = 0;
        Assert.That(BnInceptionModelFile.LoadingAgainAfterAnOrtMisreading(() => Apply(loads == 0 ? asOrt : asOnnx), canLoadAgain: true), Is.Not.Null);
        Assert.That(loads, Is.EqualTo(2), "loaded again after the refusal, and then it loads");

        // Loaded once only: when the stream cannot be read again; and no third time.
        loads = 0;
        Assert.That(Assert.Catch(() => BnInceptionModelFile.LoadingAgainAfterAnOrtMisreading(() => Apply(loads == 0 ? asOrt : asOnnx), canLoadAgain: false)),
            Is.TypeOf(refusal.GetType()));
        Assert.That(loads, Is.EqualTo(1));
        loads = 0;
        Assert.That(Assert.Catch(() => BnInceptionModelFile.LoadingAgainAfterAnOrtMisreading(() => Apply(asOrt), canLoadAgain: true)), Is.TypeOf(refusal.GetType()));
        Assert.That(loads, Is.EqualTo(2));

        // ONNX Runtime's refusal of a damaged network comes in the same exception and is not loaded again.
        loads = 0;
        Exception damage = Assert.Catch(() => BnInceptionModelFile.LoadingAgainAfterAnOrtMisreading(() => Apply(damaged), canLoadAgain: true))!;
        Assert.That(damage.GetType(), Is.EqualTo(refusal.GetType()));
        Assert.That(BnInceptionModelFile.IsOrtFormatMisreading(damage), Is.False, damage.ToString());
        Assert.That(loads, Is.EqualTo(1));
    }

    [Test]
    public void AStreamIsReadAgainFromWhereItsModelFileBeginsAfterTheRefusalAndOnceIfItCannotSeek()
    {
        // The model file from position 100 of the stream on, as in a stream that holds more than it.
        const int Start = 100;
        byte[] onnx = BnInceptionModelFile.ReadOnnxModel(s_modelFile);
        string asOrt = s_folder.File("refused.ort");
        File.WriteAllBytes(asOrt, onnx);
        using var stream = new MemoryStream([.. new byte[Start], .. File.ReadAllBytes(s_modelFile)]);
        stream.Position = Start;
        var positions = new List<long>();
        ITransformer FailingFirst(Stream modelZip)
        {
            positions.Add(modelZip.CanSeek ? modelZip.Position : -1);
            if (positions.Count == 1)
            {
                // As ML.NET's load: the file read through, then ONNX Runtime's refusal of its copy.
                modelZip.CopyTo(Stream.Null);
                Ml.Transforms.ApplyOnnxModel(asOrt);
            }

            // ML.NET reads a zip from the start of a stream: the rest of this one, from where it is.
            using var modelFile = new MemoryStream();
            modelZip.CopyTo(modelFile);
            modelFile.Position = 0;
            return Ml.Model.Load(modelFile, out _);
        }

        ITransformer loaded = BnInceptionModelFile.LoadingAgainFromTheStartAfterAnOrtMisreading(stream, FailingFirst);
        (loaded as IDisposable)?.Dispose();
        Assert.That(positions, Is.EqualTo(new long[] { Start, Start }), "loaded again from the model file's first byte, not from where the failed load left the stream");
        Assert.That(loaded, Is.InstanceOf<TransformerChain<ITransformer>>());

        positions.Clear();
        using var unseekable = new UnseekableStream(new MemoryStream(File.ReadAllBytes(s_modelFile)));
        Exception refusal = Assert.Catch(() => BnInceptionModelFile.LoadingAgainFromTheStartAfterAnOrtMisreading(unseekable, FailingFirst))!;
        Assert.That(BnInceptionModelFile.IsOrtFormatMisreading(refusal), Is.True, refusal.ToString());
        Assert.That(positions, Is.EqualTo(new long[] { -1 }), "a stream that cannot seek is loaded once: it cannot be read again");
    }

    /// <summary>A stream that reads and does not seek, as a network stream.</summary>
    private sealed class UnseekableStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    [Test]
    public void OtherOnnxModelsBesideOursAreLeftAlone()
    {
        string path = Edited("with-another-onnx.zip", zip =>
        {
            byte[] foreign = ForeignProducer(ReadEntry(zip, s_onnxEntry));
            WriteEntry(zip, "TransformerChain/Transform_009/OnnxModel", foreign);
        });
        using ImportedNetwork network = BnInceptionModelFile.ReadNetwork(path);
        Assert.That(network.ClassLabels, Is.EqualTo(Trained.ClassNames));
    }

    [Test]
    public void LargeEntriesBesideOurNetworkAreNotReadIntoMemory()
    {
        // Two entries named as ML.NET names ONNX models, 256 MB of zeros each after their length
        // (a few hundred kB in the zip): a file that costs little to send and much to read whole.
        const int JunkBytes = 256 << 20;
        string path = Edited("with-junk.zip", zip =>
        {
            for (int i = 0; i < 2; i++)
            {
                using Stream stream = zip.CreateEntry($"Junk{i}/OnnxModel", CompressionLevel.Optimal).Open();
                stream.Write(BitConverter.GetBytes(JunkBytes));
                byte[] zeros = new byte[1 << 20];
                for (int written = 0; written < JunkBytes; written += zeros.Length)
                {
                    stream.Write(zeros);
                }
            }
        });
        long networkBytes;
        using (ZipArchive model = ZipFile.OpenRead(s_modelFile))
        {
            networkBytes = ReadEntry(model, s_onnxEntry).Length;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        using (ImportedNetwork network = BnInceptionModelFile.ReadNetwork(path))
        {
            Assert.That(network.ClassLabels, Is.EqualTo(Trained.ClassNames));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Reading the network takes a few copies of it (its entry, its ONNX bytes, its parsed tensors: 6 in
        // all, seen here); the junk entries read whole would add 512 MB.
        Assert.That(allocated, Is.LessThan(networkBytes * 8), $"{allocated} bytes allocated to read a network of {networkBytes}: the junk was read");
        Assert.That(networkBytes * 8, Is.LessThan(2L * JunkBytes), "reading the junk entries whole would fail the check");
    }

    [Test]
    public void AFileThatIsNotAZipIsRefused()
    {
        string path = s_folder.File("model.csv");
        File.WriteAllText(path, "ImagePath,Label\nshirt.png,Shirt\n");
        Assert.That(Assert.Throws<InvalidDataException>(() => BnInceptionModelFile.ReadNetwork(path))!.Message,
            Is.EqualTo($"{path} is not a zip file, so not an ML.NET model file; {Expected}."));
    }

    [Test]
    public void AModelFileWithoutAnOnnxModelIsRefused()
    {
        string path = s_folder.File("keys-only.zip");
        Ml.Model.Save(LabelKeys, null, path);
        Assert.That(Refusal(path), Is.EqualTo(
            $"{path} holds no ONNX model (no entry named …/OnnxModel, where ML.NET's OnnxTransformer keeps its model); {Expected}."));
    }

    [Test]
    public void OnnxModelsOfOtherProducersOnlyAreRefused()
    {
        string path = Edited("foreign.zip", zip => Replace(zip, s_onnxEntry, ForeignProducer(ReadEntry(zip, s_onnxEntry))));
        Assert.That(Refusal(path), Is.EqualTo(
            $"{path} holds no ONNX model written by BN-Inception, only '{s_onnxEntry}' (written by 'SomeOne.Elsewhere'); {Expected}."));
    }

    [Test]
    public void TwoBnInceptionNetworksAreRefused()
    {
        string path = Edited("two.zip", zip => WriteEntry(zip, "TransformerChain/Transform_009/OnnxModel", ReadEntry(zip, s_onnxEntry)));
        Assert.That(Refusal(path), Does.StartWith($"{path} holds 2 BN-Inception networks ('{s_onnxEntry}', 'TransformerChain/Transform_009/OnnxModel')")
            .And.EndWith($"{Expected}, with one."));
    }

    [Test]
    public void DamagedOnnxModelsAreRefused()
    {
        string wrongLength = Edited("wrong-length.zip", zip =>
        {
            byte[] content = ReadEntry(zip, s_onnxEntry);
            BitConverter.GetBytes(content.Length - 3).CopyTo(content, 0);
            Replace(zip, s_onnxEntry, content);
        });
        Assert.That(Refusal(wrongLength), Does.StartWith(
            $"{wrongLength}: the entry '{s_onnxEntry}' is not an ONNX model as ML.NET's OnnxTransformer stores it (an Int32 length, then that many bytes): " +
            "it starts with the length").And.EndWith($"{Expected}."));

        string truncated = Edited("truncated.zip", zip =>
        {
            byte[] content = ReadEntry(zip, s_onnxEntry);
            byte[] half = content[..(content.Length / 2)];
            BitConverter.GetBytes(half.Length - 4).CopyTo(half, 0);
            Replace(zip, s_onnxEntry, half);
        });
        Assert.That(Refusal(truncated), Is.EqualTo(
            $"{truncated} holds no ONNX model written by BN-Inception, only '{s_onnxEntry}' (not a readable ONNX model: damaged or truncated); {Expected}."));
    }

    private static string Refusal(string path) => Assert.Throws<InvalidDataException>(() => BnInceptionModelFile.ReadNetwork(path).Dispose())!.Message;

    // A copy of the saved model file, changed by editing its entries.
    private static string Edited(string name, Action<ZipArchive> edit)
    {
        string path = s_folder.File(name);
        File.Copy(s_modelFile, path, overwrite: true);
        using (ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            edit(zip);
        }

        return path;
    }

    private static byte[] ReadEntry(ZipArchive zip, string name)
    {
        using Stream stream = zip.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] content)
    {
        using Stream stream = zip.CreateEntry(name).Open();
        stream.Write(content);
    }

    private static void Replace(ZipArchive zip, string name, byte[] content)
    {
        zip.GetEntry(name)!.Delete();
        WriteEntry(zip, name, content);
    }

    // The same ONNX model under another producer name of the same length, so the protobuf stays valid.
    private static byte[] ForeignProducer(byte[] content)
    {
        byte[] ours = Encoding.UTF8.GetBytes(OnnxExporter.ProducerName), theirs = Encoding.UTF8.GetBytes("SomeOne.Elsewhere");
        Assert.That(theirs, Has.Length.EqualTo(ours.Length));
        int at = content.AsSpan().IndexOf(ours);
        Assert.That(at, Is.InRange(4, 64), "the producer name is among the first fields");
        byte[] changed = (byte[])content.Clone();
        theirs.CopyTo(changed, at);
        return changed;
    }
}
