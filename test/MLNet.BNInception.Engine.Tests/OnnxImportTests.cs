using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Onnx;
using ProtoBuf;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Files of our ONNX exporter, read back by the importer, give a network that computes what the
/// exported one computes; anything else is refused with a message that says what and why.
/// </summary>
public class OnnxImportTests
{
    private const string Source = "test.onnx";

    private static BnInception TrainedLikeModel(BnInceptionOptions options) => TestModels.WithTrainedLikeBatchNorm(options, seed: 33);

    private static byte[] Export(BnInception model, OnnxExportOptions options)
    {
        using var stream = new MemoryStream();
        OnnxExporter.Export(model, stream, options);
        return stream.ToArray();
    }

    private static ImportedNetwork Import(byte[] onnx) => OnnxImporter.Import(new MemoryStream(onnx), Source);

    // The original network's own logits are the reference: the imported one must compute them.
    private static void AssertSameLogits(BnInception original, BnInception imported, string what, Func<Tensor, Tensor>? prepare = null)
    {
        BnInceptionOptions options = original.Options;
        using DisposeScope scope = NewDisposeScope();
        using IDisposable noGrad = no_grad();
        Tensor images = rand([3, options.InputChannels, options.InputSize, options.InputSize]);
        Tensor input = prepare?.Invoke(images) ?? images;
        TestModels.AssertCloseToScale(TestModels.Values(imported.call(input)), TestModels.Values(original.call(input)), what);
    }

    private static ModelProto Parse(byte[] onnx) => Serializer.Deserialize<ModelProto>(new MemoryStream(onnx));

    private static byte[] Write(ModelProto model)
    {
        using var stream = new MemoryStream();
        Serializer.Serialize(stream, model);
        return stream.ToArray();
    }

    private static string RefusalOf(byte[] onnx) => Assert.Throws<InvalidDataException>(() => Import(onnx).Dispose())!.Message;

    [TestCase(64, 3, 10, true, 13, OnnxOutputs.Both, Activation.Relu)]
    [TestCase(96, 1, 5, false, 11, OnnxOutputs.Logits, Activation.Relu)]
    [TestCase(64, 1, 3, true, 17, OnnxOutputs.Probabilities, Activation.Sigmoid)]
    [TestCase(64, 3, 1000, false, 15, OnnxOutputs.Both, Activation.Sigmoid)]
    public void TheImportedNetworkComputesTheExportedOnesLogits(int side, int channels, int classes, bool fold, int opset, OnnxOutputs outputs, Activation activation)
    {
        var architecture = new BnInceptionOptions { InputSize = side, InputChannels = channels, NumClasses = classes, Activation = activation, BatchNormEpsilon = 1e-3 };
        using BnInception original = TrainedLikeModel(architecture);
        var settings = new OnnxExportOptions { FoldBatchNorm = fold, Opset = opset, Outputs = outputs };
        byte[] onnx = Export(original, settings);

        using ImportedNetwork imported = Import(onnx);
        BnInception model = imported.Model;
        Assert.That(model.training, Is.False, "eval mode");
        // A folded file keeps no ε: the network read from it has no BN, and the default.
        BnInceptionOptions expected = fold ? architecture with { BatchNorm = false, BatchNormEpsilon = 1e-5 } : architecture;
        Assert.That(model.Options, Is.EqualTo(expected), "the architecture, BN's ε included, read from the file");
        Assert.That(model.BatchNormalization, Is.EqualTo(fold ? BatchNormalization.FoldedIntoConvolutions : BatchNormalization.Layers));
        AssertSameLogits(original, model, $"{(fold ? "folded" : "kept")} BN, opset {opset}");
        if (!fold)
        {
            // BN kept: every weight and statistic comes back bit for bit.
            Dictionary<string, Tensor> originals = original.state_dict();
            foreach ((string name, Tensor value) in model.state_dict().Where(entry => !entry.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)))
            {
                Assert.That(TestTensors.SameBytes(value, originals[name]), Is.True, name);
            }
        }

        Assert.That(imported.ClassLabels, Is.Null);
        Assert.That(imported.Normalization, Is.Null);
        Assert.That(imported.Metadata["input_size"], Is.EqualTo($"{channels}x{side}x{side}"));
        Assert.That(imported.ExportOptions with { ClassLabels = null }, Is.EqualTo(settings));
        TestModels.AssertSameBytes(Export(model, imported.ExportOptions), onnx, "exporting the imported network with the settings read writes the same file");
    }

    // Folding and training without BN build the same layers and write the same nodes: each must
    // still read back as what it is, whether the export was asked to fold or not.
    [TestCase(true)]
    [TestCase(false)]
    public void AFileOfANetworkWithoutBatchNormReadsBackAsOneAndNotAsFolded(bool foldRequested)
    {
        using var original = new BnInception(new BnInceptionOptions { BatchNorm = false, InputSize = 64, NumClasses = 4 }, seed: 5);
        original.eval();
        using (no_grad())
        {
            foreach (TorchSharp.Modules.Conv2d conv in original.modules().OfType<TorchSharp.Modules.Conv2d>())
            {
                conv.bias!.normal_(0, 0.1);
            }
        }

        byte[] onnx = Export(original, new OnnxExportOptions { FoldBatchNorm = foldRequested });
        using ImportedNetwork imported = Import(onnx);
        Assert.That(imported.Model.Options.BatchNorm, Is.False);
        Assert.That(imported.Model.BatchNormalization, Is.EqualTo(BatchNormalization.None));
        Assert.That(imported.Metadata["batch_norm"], Does.Not.Contain("folded"));
        AssertSameLogits(original, imported.Model, "no BN");
        TestModels.AssertSameBytes(Export(imported.Model, imported.ExportOptions), onnx, "exported again, it still says it was trained without BN");
    }

    [Test]
    public void ANetworkReadFromAFoldedFileStaysFoldedWhenScoredOrExportedAgain()
    {
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 4 });
        using ImportedNetwork imported = Import(Export(original, new OnnxExportOptions()));
        Assert.That(imported.Model.BatchNormalization, Is.EqualTo(BatchNormalization.FoldedIntoConvolutions));

        using (var scorer = new BnInceptionScorer(imported.Model))
        {
            Assert.That(scorer.IsFolded, Is.True);
        }

        using ImportedNetwork again = Import(Export(imported.Model, new OnnxExportOptions { FoldBatchNorm = false }));
        Assert.That(again.Model.BatchNormalization, Is.EqualTo(BatchNormalization.FoldedIntoConvolutions));
        Assert.That(again.Metadata["batch_norm"], Is.EqualTo(imported.Metadata["batch_norm"]));
        string refusal = Assert.Throws<ArgumentException>(() => BatchNormFolding.Fold(imported.Model).Dispose())!.Message;
        Assert.That(refusal, Does.Contain("batch normalization folded into the convolutions"));
    }

    [Test]
    public void AFileShapedForMLNetReadsBackWithItsNamesAndLabels()
    {
        using var folder = new TemporaryDirectory();
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 4 });
        string[] labels = ["shirt", "coat", "bag", "boot, ankle"];

        // The settings MLNetModelExport saves an ML.NET model with, and the same with both outputs.
        OnnxExportOptions[] variants =
        [
            new() { InputName = "Features", ProbabilitiesName = "BnInception.Probabilities", Outputs = OnnxOutputs.Probabilities, ClassLabels = labels, ForMLNetOnnxTransformer = true },
            new() { InputName = "pixels", LogitsName = "scores", ProbabilitiesName = "logits", ClassLabels = labels, ForMLNetOnnxTransformer = true, FoldBatchNorm = false, Opset = 11 },
        ];
        foreach (OnnxExportOptions settings in variants)
        {
            string path = folder.File("mlnet.onnx");
            OnnxExporter.Export(original, path, settings);
            using ImportedNetwork imported = OnnxImporter.Import(path);
            AssertSameLogits(original, imported.Model, $"input '{settings.InputName}'");
            Assert.That(imported.ClassLabels, Is.EqualTo(labels));
            OnnxExportOptions read = imported.ExportOptions;
            Assert.That((read.InputName, read.Outputs, read.ForMLNetOnnxTransformer, read.FoldBatchNorm, read.Opset),
                Is.EqualTo((settings.InputName, settings.Outputs, true, settings.FoldBatchNorm, settings.Opset)));
            Assert.That(read.ProbabilitiesName, Is.EqualTo(settings.ProbabilitiesName));
            if (settings.Outputs.HasFlag(OnnxOutputs.Logits))
            {
                Assert.That(read.LogitsName, Is.EqualTo(settings.LogitsName));
            }
        }
    }

    [TestCase(1)]
    [TestCase(3)]
    public void TheGraphsNormalisationIsReportedAndMeansWhatTheFileDoes(int channels)
    {
        using var folder = new TemporaryDirectory();
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, InputChannels = channels, NumClasses = 6 });
        ImageNormalization normalization = channels == 1 ? new([0.2860f], [0.3530f]) : ImageNormalization.ImageNet;
        string path = folder.File("normalised.onnx");
        OnnxExporter.Export(original, path, new OnnxExportOptions { Normalization = normalization, IncludeNormalization = true });

        using ImportedNetwork imported = OnnxImporter.Import(path);
        Assert.That(imported.Normalization, Is.Not.Null);
        Assert.That(imported.Normalization!.Mean, Is.EqualTo(normalization.Mean));
        Assert.That(imported.Normalization.Std, Is.EqualTo(normalization.Std));

        // ONNX Runtime on raw pixels is the file's meaning; the imported network on the pixels
        // normalised as reported must agree with it.
        using DisposeScope scope = NewDisposeScope();
        using var runtime = new OnnxRuntimeReference(path);
        Tensor pixels = rand([2, channels, 64, 64]);
        Tensor mean = tensor(imported.Normalization.Mean.ToArray(), [1, channels, 1, 1]);
        Tensor std = tensor(imported.Normalization.Std.ToArray(), [1, channels, 1, 1]);
        using IDisposable noGrad = no_grad();
        TestModels.AssertCloseToScale(TestModels.Values(imported.Model.call((pixels - mean) / std)),
            TestModels.Values(runtime.Run(pixels, OnnxExporter.LogitsOutput)), "logits from raw pixels");
    }

    [Test]
    public void DataThatIsNotAnOnnxModelIsRefused()
    {
        Assert.That(RefusalOf([]), Does.StartWith($"{Source} is not an ONNX model, or it is truncated"));
        Assert.That(RefusalOf("name,label\nshirt.png,shirt\n"u8.ToArray()), Does.StartWith($"{Source} is not an ONNX model, or it is truncated"));

        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        byte[] onnx = Export(original, new OnnxExportOptions());
        foreach (int kept in new[] { onnx.Length / 2, onnx.Length - 1 })
        {
            Assert.That(RefusalOf(onnx[..kept]), Does.StartWith($"{Source} is not an ONNX model, or it is truncated"), $"{kept} of {onnx.Length} bytes");
        }

        using var folder = new TemporaryDirectory();
        string path = folder.File("half.onnx");
        File.WriteAllBytes(path, onnx[..(onnx.Length / 3)]);
        Assert.That(Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(path))!.Message, Does.StartWith($"{path} is not an ONNX model"));
    }

    [Test]
    public void AModelOfAnotherProducerIsRefused()
    {
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        ModelProto model = Parse(Export(original, new OnnxExportOptions()));
        model.ProducerName = "pytorch";
        model.ProducerVersion = "2.5.1";
        Assert.That(RefusalOf(Write(model)),
            Is.EqualTo($"{Source} was written by 'pytorch' 2.5.1, not by MLNet.BNInception's ONNX exporter (producer 'MLNet.BNInception'); only files that exporter writes can be imported."));
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream(Write(model))), Is.EqualTo("pytorch"));
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream(Export(original, new OnnxExportOptions()))), Is.EqualTo(OnnxExporter.ProducerName));
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream("not a model"u8.ToArray())), Is.Null);
        // Bytes that parse as protobuf, a producer name among them (field 2, "hello"), are still no
        // model without the IR version and the graph every ONNX model has.
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream("\x12\x05hello"u8.ToArray())), Is.Null);
        // ir_version 8 (field 1), producer_name "pytorch" (field 2), and no graph (field 7).
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream([0x08, 0x08, 0x12, 0x07, .. "pytorch"u8])), Is.Null, "a model's header without its graph");
    }

    [Test]
    public void TheProducerNameIsReadWithoutHoldingTheModelAndATruncatedModelHasNone()
    {
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        byte[] onnx = Export(original, new OnnxExportOptions());
        // A stream that cannot seek, as a zip entry's: what is skipped is read through, not held.
        Assert.That(OnnxImporter.ReadProducerName(new ForwardOnly(onnx)), Is.EqualTo(OnnxExporter.ProducerName));
        Assert.That(OnnxImporter.ReadProducerName(new ForwardOnly(onnx[..(onnx.Length / 2)])), Is.Null, "cut in half: the graph's length runs past the end");
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream(onnx[..(onnx.Length - 1)])), Is.Null, "one byte short");

        // A producer name that claims 600 MB: not read, so only the end of the stream tells this is no model.
        byte[] claim = [0x08, 0x08, 0x12, 0x80, 0x80, 0x80, 0xAC, 0x02];   // ir_version 8; field 2 of 629,145,600 bytes (a varint, 7 bits a byte)
        using var claimed = new ForwardOnly([.. claim, .. new byte[1 << 20]]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.That(OnnxImporter.ReadProducerName(claimed), Is.Null);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1 << 20), "the 600 MB name was not allocated");

        // A model whose producer name is longer than any producer writes is still a model, its producer described.
        ModelProto longName = Parse(onnx);
        longName.ProducerName = new string('x', 5000);
        Assert.That(OnnxImporter.ReadProducerName(new MemoryStream(Write(longName))), Is.EqualTo("a name of 5000 bytes"));
    }

    // A stream that reads forward only, as a zip entry's does.
    private sealed class ForwardOnly(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    [Test]
    public void AMissingOrMisShapedInitializerIsNamedWithBothShapes()
    {
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 10 });
        byte[] onnx = Export(original, new OnnxExportOptions { FoldBatchNorm = false });

        ModelProto missing = Parse(onnx);
        missing.Graph.Initializer.RemoveAll(initializer => initializer.Name == "inception_4a.branch1x1.bn.running_var");
        Assert.That(RefusalOf(Write(missing)), Does.StartWith($"{Source}: the initializer 'inception_4a.branch1x1.bn.running_var' (224) is missing"));

        ModelProto misShaped = Parse(onnx);
        TensorProto conv1 = misShaped.Graph.Initializer.Single(initializer => initializer.Name == "conv1.conv.weight");
        conv1.Dims.Clear();
        conv1.Dims.AddRange([64, 3, 5, 5]);
        conv1.RawData = new byte[64 * 3 * 5 * 5 * sizeof(float)];
        Assert.That(RefusalOf(Write(misShaped)), Does.StartWith($"{Source}: the initializer 'conv1.conv.weight' is 64 x 3 x 5 x 5, where a BN-Inception")
            .And.Contain("has 64 x 3 x 7 x 7"));

        ModelProto shortData = Parse(onnx);
        TensorProto bias = shortData.Graph.Initializer.Single(initializer => initializer.Name == "fc.bias");
        bias.RawData = bias.RawData![..^4];
        Assert.That(RefusalOf(Write(shortData)), Does.Contain("'fc.bias' holds 36 bytes of raw data, where 10 float32 values take 40"));

        // Shapes declared without their values are refused before a network of their size is built:
        // 2^31 - 1 classes would be 8.8 TB, and a convolution of 2^40 x 2^40 x 7 x 7 more than a long counts.
        ModelProto hollow = Parse(onnx);
        TensorProto declared = hollow.Graph.Initializer.Single(initializer => initializer.Name == "fc.weight");
        declared.Dims[0] = int.MaxValue;
        declared.RawData = [];
        Assert.That(RefusalOf(Write(hollow)), Does.Contain("'fc.weight' holds 0 bytes of raw data, where 2147483647 x 1024 float32 values take 8796093018112"));
        ModelProto huge = Parse(onnx);
        TensorProto convolution = huge.Graph.Initializer.Single(initializer => initializer.Name == "conv1.conv.weight");
        convolution.Dims.Clear();
        convolution.Dims.AddRange([1L << 40, 1L << 40, 7, 7]);
        Assert.That(RefusalOf(Write(huge)), Does.Contain("'conv1.conv.weight' holds 37632 bytes of raw data, where 1099511627776 x 1099511627776 x 7 x 7 float32 values cannot be held"));

        ModelProto classifier = Parse(onnx);
        TensorProto fc = classifier.Graph.Initializer.Single(initializer => initializer.Name == "fc.weight");
        fc.Dims[1] = 512;
        Assert.That(RefusalOf(Write(classifier)), Is.EqualTo($"{Source}: the initializer 'fc.weight' is 10 x 512, where BN-Inception's classifier is classes x 1024 (at least 2 classes)."));
    }

    [Test]
    public void AGraphOurExporterDoesNotWriteIsRefused()
    {
        using BnInception original = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        byte[] onnx = Export(original, new OnnxExportOptions { ClassLabels = ["a", "b", "c"] });
        const string Unknown = "(the file was changed, or written by a version this one does not know)";

        ModelProto strided = Parse(onnx);
        NodeProto conv = strided.Graph.Node.Single(node => node.Name == "inception_3b.branch3x3.conv");
        conv.Attribute.Single(attribute => attribute.Name == "strides").Ints[0] = 2;
        Assert.That(RefusalOf(Write(strided)), Does.StartWith($"{Source}: node ").And.Contain("Conv 'inception_3b.branch3x3.conv' (").And.Contain("strides=[2, 1]")
            .And.Contain("where MLNet.BNInception's ONNX exporter writes").And.Contain("strides=[1, 1]").And.EndWith($"{Unknown}."));

        ModelProto extra = Parse(onnx);
        extra.Graph.Node.Add(new NodeProto { OpType = "Identity", Name = "extra", Input = { "logits" }, Output = { "copy" } });
        Assert.That(RefusalOf(Write(extra)), Does.Contain($"the graph has {extra.Graph.Node.Count} nodes, the first extra one Identity 'extra' (logits -> copy)"));

        ModelProto tanh = Parse(onnx);
        tanh.Graph.Node.Single(node => node.Name == "conv1.act").OpType = "Tanh";
        Assert.That(RefusalOf(Write(tanh)), Does.Contain("the first convolution's nonlinearity 'conv1.act' is Tanh, not Relu or Sigmoid"));

        ModelProto oldOpset = Parse(onnx);
        oldOpset.OpsetImport[0].Version = 9;
        Assert.That(RefusalOf(Write(oldOpset)), Does.Contain("it imports the default ONNX opset as version 9, where the exporter writes one version from 11 to 17"));

        ModelProto labels = Parse(onnx);
        labels.MetadataProps.Single(entry => entry.Key == "class_labels").Value = "[\"a\", \"b\"]";
        Assert.That(RefusalOf(Write(labels)), Is.EqualTo($"{Source}: the metadata class_labels names 2 classes, but the classifier 'fc.weight' has 3."));
        labels.MetadataProps.Single(entry => entry.Key == "class_labels").Value = "[\"a\", \"b\", \"a\"]";
        Assert.That(RefusalOf(Write(labels)), Is.EqualTo($"{Source}: the metadata class_labels names \"a\" more than once."));
        // A name with a line break and a control character stays on the message's one line, escaped.
        labels.MetadataProps.Single(entry => entry.Key == "class_labels").Value = "[\"caf\u00e9\\nx\\u0007\", \"b\", \"caf\u00e9\\nx\\u0007\"]";
        Assert.That(RefusalOf(Write(labels)), Is.EqualTo($"{Source}: the metadata class_labels names \"café\\nx\\u0007\" more than once."));

        // Only the metadata tells a folded graph from one of a network trained without BN.
        ModelProto unrecorded = Parse(onnx);
        unrecorded.MetadataProps.RemoveAll(entry => entry.Key == "batch_norm");
        Assert.That(RefusalOf(Write(unrecorded)), Does.Contain("the metadata batch_norm is missing, where a graph without BatchNormalization nodes records ").And.EndWith($"{Unknown}."));

        ModelProto contradicted = Parse(Export(original, new OnnxExportOptions { FoldBatchNorm = false }));
        contradicted.MetadataProps.Single(entry => entry.Key == "batch_norm").Value = "folded into Conv";
        Assert.That(RefusalOf(Write(contradicted)), Does.Contain("the metadata batch_norm is 'folded into Conv', where a graph with BatchNormalization nodes records 'BatchNormalization nodes'"));

        ModelProto side = Parse(onnx);
        side.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimValue = 96;
        Assert.That(RefusalOf(Write(side)), Does.Contain("the input 'input' is not float32 N x C x S x S with fixed C and S"));
    }
}
