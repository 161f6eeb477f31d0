using System.Text.Json;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Onnx;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>Exported ONNX files, read by ONNX Runtime and checked by ONNX's own checker, score as we do.</summary>
public class OnnxExportTests
{
    private static BnInception TrainedLikeModel(BnInceptionOptions options) => TestModels.WithTrainedLikeBatchNorm(options, seed: 21);

    private static void AssertSameScores(Tensor ours, Tensor theirs, string what)
    {
        Assert.That(theirs.shape, Is.EqualTo(ours.shape), what);
        TestModels.AssertCloseToScale(TestModels.Values(theirs), TestModels.Values(ours), what);
    }

    [TestCase(64, 3, 10, true, 13)]
    [TestCase(96, 1, 5, true, 11)]
    [TestCase(128, 3, 1000, true, 17)]
    [TestCase(64, 3, 7, false, 13)]
    [TestCase(96, 1, 3, false, 17)]
    public void OnnxRuntimeScoresTheExportLikeOurScorer(int side, int channels, int classes, bool fold, int opset)
    {
        using var folder = new TemporaryDirectory();
        using BnInception model = TrainedLikeModel(new BnInceptionOptions { InputSize = side, InputChannels = channels, NumClasses = classes });
        model.UseChannelsLast();
        string path = folder.File("model.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { FoldBatchNorm = fold, Opset = opset });

        using var scorer = new BnInceptionScorer(model, new ScorerOptions { FoldBatchNorm = false });
        using var runtime = new OnnxRuntimeReference(path);
        using DisposeScope scope = NewDisposeScope();
        foreach (int batch in new[] { 1, 3 })
        {
            Tensor images = randn([batch, channels, side, side]);
            AssertSameScores(scorer.Logits(images), runtime.Run(images, OnnxExporter.LogitsOutput), $"logits, batch {batch}");
            AssertSameScores(scorer.Probabilities(images), runtime.Run(images, OnnxExporter.ProbabilitiesOutput), $"probabilities, batch {batch}");
        }

        JsonElement checkedModel = JsonDocument.Parse(PythonReference.Run("onnx_check.py", path)).RootElement;
        Assert.That(checkedModel.GetProperty("opset").GetInt32(), Is.EqualTo(opset));
        Assert.That(checkedModel.GetProperty("ops").EnumerateArray().Select(op => op.GetString()),
            fold ? Does.Not.Contain("BatchNormalization") : Does.Contain("BatchNormalization"));
        Assert.That(checkedModel.GetProperty("inputs").GetProperty("input").EnumerateArray().Select(d => d.ToString()),
            Is.EqualTo(new[] { "N", channels.ToString(System.Globalization.CultureInfo.InvariantCulture), $"{side}", $"{side}" }), "a dynamic batch");
    }

    [Test]
    public void TheBaselineWithoutBatchNormExportsToo()
    {
        using var folder = new TemporaryDirectory();
        using var model = new BnInception(new BnInceptionOptions { BatchNorm = false, InputSize = 64, NumClasses = 4, Activation = Activation.Sigmoid });
        model.eval();
        string path = folder.File("baseline.onnx");
        OnnxExporter.Export(model, path);
        using var scorer = new BnInceptionScorer(model);
        using var runtime = new OnnxRuntimeReference(path);
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([2, 3, 64, 64]);
        AssertSameScores(scorer.Logits(images), runtime.Run(images, OnnxExporter.LogitsOutput), "logits");
    }

    [Test]
    public void RealImagesWithNormalisationInTheGraph()
    {
        using var folder = new TemporaryDirectory();
        using BnInception model = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 10 });
        var normalization = new ImageNormalization([0.2860f], [0.3530f]); // Fashion-MNIST's mean and std
        string path = folder.File("normalised.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions
        {
            Normalization = normalization,
            IncludeNormalization = true,
            ClassLabels = FashionMnist.ClassNames,
        });

        using DisposeScope scope = NewDisposeScope();
        (Tensor images, _) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "t10k", 0, 8, 64);
        using Scalar mean = 0.2860.ToScalar(), deviation = 0.3530.ToScalar();
        Tensor normalised = images.sub(mean).div(deviation);
        using var scorer = new BnInceptionScorer(model);
        using var runtime = new OnnxRuntimeReference(path);
        AssertSameScores(scorer.Logits(normalised), runtime.Run(images, OnnxExporter.LogitsOutput), "logits from raw pixels");

        JsonElement declared = JsonDocument.Parse(PythonReference.Run("onnx_check.py", path)).RootElement;
        Assert.That(declared.GetProperty("inputs").GetProperty("input").EnumerateArray().Select(d => d.ToString()), Is.EqualTo(new[] { "N", "1", "64", "64" }));
        Assert.That(declared.GetProperty("outputs").GetProperty("probabilities").EnumerateArray().Select(d => d.ToString()), Is.EqualTo(new[] { "N", "10" }));
        JsonElement metadata = declared.GetProperty("metadata");
        Assert.That(JsonSerializer.Deserialize<string[]>(metadata.GetProperty("class_labels").GetString()!), Is.EqualTo(FashionMnist.ClassNames));
        Assert.That(metadata.GetProperty("input_normalization").GetString(), Does.Contain("the graph normalises"));
    }

    [Test]
    public void OnlyTheRequestedOutputsAreWritten()
    {
        using var folder = new TemporaryDirectory();
        using BnInception model = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        string path = folder.File("logits.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions { Outputs = OnnxOutputs.Logits });
        using var runtime = new OnnxRuntimeReference(path);
        Assert.That(runtime.OutputNames, Is.EqualTo(new[] { "logits" }));
        JsonElement declared = JsonDocument.Parse(PythonReference.Run("onnx_check.py", path)).RootElement;
        Assert.That(declared.GetProperty("outputs").EnumerateObject().Select(o => o.Name), Is.EqualTo(new[] { "logits" }));
    }

    // 'pool1', 'flatten', 'global_pool', 'fc_output', 'softmax_output' and 'flat_shape' name values
    // inside the graph; given to the input or an output, each stays that value's name, and the value
    // inside moves aside (ONNX names each value once: its checker and ONNX Runtime refuse a file that
    // names one twice).
    [TestCase("pool1", "flatten", "fc_output", false)]
    [TestCase("softmax_output", "global_pool", "flat_shape", true)]
    public void NamesTheGraphUsesInsideCanNameItsInputAndOutputs(string input, string logits, string probabilities, bool forMLNet)
    {
        using var folder = new TemporaryDirectory();
        using BnInception model = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        string path = folder.File("renamed.onnx");
        OnnxExporter.Export(model, path, new OnnxExportOptions
        {
            InputName = input, LogitsName = logits, ProbabilitiesName = probabilities,
            ForMLNetOnnxTransformer = forMLNet, ClassLabels = ["a", "b", "c"],
        });

        JsonElement declared = JsonDocument.Parse(PythonReference.Run("onnx_check.py", path)).RootElement;
        Assert.That(declared.GetProperty("inputs").EnumerateObject().Select(i => i.Name), Is.EqualTo(new[] { input }));
        Assert.That(declared.GetProperty("outputs").EnumerateObject().Select(o => o.Name), Is.SupersetOf(new[] { logits, probabilities }));
        using var scorer = new BnInceptionScorer(model);
        using var runtime = new OnnxRuntimeReference(path);
        using ImportedNetwork imported = OnnxImporter.Import(path);
        using var importedScorer = new BnInceptionScorer(imported.Model);
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([1, 3, 64, 64]);
        Tensor expected = scorer.Logits(images);
        Tensor fromRuntime = runtime.Run(images, logits);
        AssertSameScores(expected, forMLNet ? fromRuntime.reshape(1, -1) : fromRuntime, "ONNX Runtime's logits");
        AssertSameScores(expected, importedScorer.Logits(images), "the imported network's logits");
    }

    [Test]
    public void AnInputOrOutputNamedAsOneOfTheWeightsIsRefused()
    {
        using BnInception model = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        using var stream = new MemoryStream();
        Assert.That(Assert.Throws<OnnxNameTakenException>(() => OnnxExporter.Export(model, stream, new OnnxExportOptions { InputName = "fc.weight" }))!.Message,
            Does.StartWith("The input name 'fc.weight' is the name of one of the graph's constants (the network's weights"));
        Assert.That(Assert.Throws<OnnxNameTakenException>(() => OnnxExporter.Export(model, stream, new OnnxExportOptions { LogitsName = "conv1.conv.weight" }))!.Message,
            Does.StartWith("The logits name 'conv1.conv.weight' is the name of one of the graph's constants"));
        Assert.That(stream.Length, Is.Zero, "nothing is written when a name is refused");
    }

    [Test]
    public void SettingsThatCannotBeExportedAreClearErrors()
    {
        using BnInception model = TrainedLikeModel(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        using var stream = new MemoryStream();
        Assert.That(Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, stream, new OnnxExportOptions { Opset = 10 }))!.Message,
            Does.Contain("Opset 10 is not supported").And.Contain("11 to 17"));
        Assert.That(Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, stream, new OnnxExportOptions { ClassLabels = ["a", "b"] }))!.Message,
            Does.Contain("2 class labels were given for a model of 3 classes"));
        Assert.That(Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, stream, new OnnxExportOptions { IncludeNormalization = true }))!.Message,
            Does.Contain("needs Normalization"));
        Assert.That(Assert.Throws<ArgumentException>(() => OnnxExporter.Export(model, stream, new OnnxExportOptions { Normalization = new ImageNormalization([0.5f], [0.5f]) }))!.Message,
            Does.Contain("1 means").And.Contain("3 input channels"));
        Assert.That(stream.Length, Is.Zero, "nothing is written when a setting is refused");
    }
}
