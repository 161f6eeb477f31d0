using System.Text.Json;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Onnx;
using ProtoBuf;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// An ONNX export for images larger than the network's input (<see cref="OnnxExportOptions.ImageSize"/>):
/// ONNX Runtime scores it as our scorer scores the same larger images, ONNX's checker accepts it,
/// and the importer reads back both the network's side and the images'.
/// </summary>
public class OnnxLargerImageTests
{
    private static BnInception TrainedLikeModel(int channels) =>
        TestModels.WithTrainedLikeBatchNorm(new BnInceptionOptions { InputSize = 64, InputChannels = channels, NumClasses = 5 }, seed: 43);

    private static byte[] Export(BnInception model, OnnxExportOptions options)
    {
        using var stream = new MemoryStream();
        OnnxExporter.Export(model, stream, options);
        return stream.ToArray();
    }

    [TestCase(3, 13, false)]
    [TestCase(1, 11, true)]
    public void OnnxRuntimeScoresLargerImagesLikeOurScorer(int channels, int opset, bool includeNormalization)
    {
        using var folder = new TemporaryDirectory();
        using BnInception model = TrainedLikeModel(channels);
        var normalization = new ImageNormalization(Enumerable.Repeat(0.4f, channels).ToArray(), Enumerable.Repeat(0.25f, channels).ToArray());
        string path = folder.File("larger.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions
        {
            ImageSize = 96, Opset = opset, Normalization = includeNormalization ? normalization : null, IncludeNormalization = includeNormalization,
        });

        using var scorer = new BnInceptionScorer(model);
        using var runtime = new OnnxRuntimeReference(path);
        using DisposeScope scope = NewDisposeScope();
        manual_seed(47);
        Tensor images = rand([3, channels, 96, 96]);
        // With the normalisation in the graph, the file takes raw pixels; the scorer takes them normalised.
        using Scalar mean = 0.4f.ToScalar(), deviation = 0.25f.ToScalar();
        Tensor ours = scorer.Logits(includeNormalization ? images.sub(mean).div(deviation) : images);
        Tensor theirs = runtime.Run(images, OnnxExporter.LogitsOutput);
        Assert.That(theirs.shape, Is.EqualTo(ours.shape));
        TestModels.AssertCloseToScale(TestModels.Values(theirs), TestModels.Values(ours), "ONNX Runtime's logits of 96 x 96 images");

        JsonElement checkedModel = JsonDocument.Parse(PythonReference.Run("onnx_check.py", path)).RootElement;
        Assert.That(checkedModel.GetProperty("inputs").GetProperty("input").EnumerateArray().Select(d => d.ToString()),
            Is.EqualTo(new[] { "N", $"{channels}", "96", "96" }));
        Assert.That(checkedModel.GetProperty("ops").EnumerateArray().Select(op => op.GetString()), Does.Contain("MatMul"));
        Assert.That(checkedModel.GetProperty("metadata").GetProperty("network_input_size").GetString(), Is.EqualTo($"{channels}x64x64"));
    }

    [Test]
    public void TheImporterReadsTheNetworksSideAndTheImagesSide()
    {
        using BnInception original = TrainedLikeModel(3);
        var settings = new OnnxExportOptions { ImageSize = 96, ClassLabels = ["a", "b", "c", "d", "e"], ForMLNetOnnxTransformer = true };
        byte[] onnx = Export(original, settings);

        using ImportedNetwork imported = OnnxImporter.Import(new MemoryStream(onnx), "larger.onnx");
        Assert.That(imported.Model.Options.InputSize, Is.EqualTo(64), "the network's side");
        Assert.That(imported.ImageSize, Is.EqualTo(96), "the side of the images the file takes");
        Assert.That(imported.ExportOptions.ImageSize, Is.EqualTo(96));
        Assert.That(imported.Metadata["input_size"], Is.EqualTo("3x96x96"));
        TestModels.AssertSameBytes(Export(imported.Model, imported.ExportOptions), onnx, "exporting the imported network with the settings read writes the same file");

        using DisposeScope scope = NewDisposeScope();
        using IDisposable noGrad = no_grad();
        Tensor images = rand([2, 3, 64, 64]);
        TestModels.AssertCloseToScale(TestModels.Values(imported.Model.call(images)), TestModels.Values(original.call(images)), "the imported network's logits");

        // Without a resize, the images are the network's side and the setting reads as unset.
        byte[] ownSide = Export(original, new OnnxExportOptions { ImageSize = 64 });
        using ImportedNetwork plain = OnnxImporter.Import(new MemoryStream(ownSide), "plain.onnx");
        Assert.That((plain.ImageSize, plain.ExportOptions.ImageSize), Is.EqualTo((64, (int?)null)));
        TestModels.AssertSameBytes(ownSide, Export(original, new OnnxExportOptions()), "the network's own side writes no resize");
    }

    [Test]
    public void ASmallerImageSizeOrChangedResizeWeightsAreRefused()
    {
        using BnInception model = TrainedLikeModel(3);
        var smaller = Assert.Throws<ArgumentException>(() => Export(model, new OnnxExportOptions { ImageSize = 32 }));
        Assert.That(smaller!.Message, Does.Contain("ImageSize 32").And.Contain("InputSize 64"));

        ModelProto file = Serializer.Deserialize<ModelProto>(new MemoryStream(Export(model, new OnnxExportOptions { ImageSize = 96 })));
        TensorProto rows = file.Graph.Initializer.Single(initializer => initializer.Name == "resize.rows");
        rows.RawData![0] ^= 0x40;
        using var stream = new MemoryStream();
        Serializer.Serialize(stream, file);
        var changed = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(new MemoryStream(stream.ToArray()), "changed.onnx").Dispose());
        Assert.That(changed!.Message, Does.Contain("'resize.rows'").And.Contain("other values"));

        rows.Dims[0] = 32;
        using var reshaped = new MemoryStream();
        Serializer.Serialize(reshaped, file);
        var misShaped = Assert.Throws<InvalidDataException>(() => OnnxImporter.Import(new MemoryStream(reshaped.ToArray()), "reshaped.onnx").Dispose());
        Assert.That(misShaped!.Message, Does.Contain("resize.rows").And.Contain("32 x 96"));
    }
}
