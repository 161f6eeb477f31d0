using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>bninception train --size 96 --input-size 64</c>: a network of side 64 trained on images kept at
/// 96 (its crops cut from them, its validation images resized whole), saved as a model that takes 96 × 96
/// images, which <c>info</c> describes and <c>score</c> scores through both of its networks.
/// </summary>
[Trains]
public class LargerImageTrainingTests
{
    [Test]
    public void ANetworkOf64TrainedOn96ImagesSavesAModelOf96ImagesThatScores()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 16, 0, 12);
        string model = work.File("model.zip");
        ExternalProcess.Result trained = InstalledTool.Succeed(work.Path, "train", "--train", files.TrainCsv, "--image-folder", files.ImageFolder,
            "--size", "96", "--input-size", "64", "--channels", "gray", "--epochs", "1", "--batch", "4", "--valid-fraction", "0.25", "--out", model);
        Assert.That(trained.Output, Does.Contain("validation loss"), "the held-out 96 x 96 images were validated");

        ExternalProcess.Result info = InstalledTool.Succeed(work.Path, "info", "--model", model);
        Assert.That(info.Output, Does.Contain("1×96×96 resized whole to 64×64 inside"));

        // ML.NET's own reading of the file, one row at a time through its OnnxTransformer, is the reference.
        MLNetReference.Prediction[] expected = MLNetReference.Predict(model, files.TestCsv);
        Assert.That(expected.Select(p => p.Features.Length), Has.All.EqualTo(96 * 96), "the saved pipeline makes 96 x 96 features");
        // Every class's probability (a top-k of all of them), against ML.NET's: ONNX Runtime's own to
        // float32's rounding in float32; the engine's, which resizes the 96 x 96 images to its side,
        // within bfloat16's error in bfloat16.
        string[] classes = MLNetReference.ClassNames(model);
        float[][] reference = [.. expected.Select(p => p.Score)];
        foreach ((string precision, double tolerance) in new[] { ("float32", 1e-4), ("bfloat16", ScoredProbabilities.BFloat16Tolerance) })
        {
            string output = work.File($"scores-{precision}.csv");
            InstalledTool.Succeed(work.Path, "score", "--model", model, "--input", files.TestCsv, "--image-folder", files.ImageFolder,
                "--output", output, "--precision", precision, "--top-k", classes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Csv scores = Csv.Read(output);
            Assert.That(scores.Column("Error"), Has.Length.EqualTo(12).And.All.Empty, $"{precision}: every image scored");
            double largest = ScoredProbabilities.AssertDistributionsClose(ScoredProbabilities.ByClass(scores, classes), reference, tolerance, $"{precision} against ML.NET");
            TestContext.Out.WriteLine($"{precision}: the probabilities differ from ML.NET's by {largest:G3} at most");
            if (precision == "float32")
            {
                Assert.That(scores.Column("PredictedLabel"), Is.EqualTo(expected.Select(p => p.PredictedLabel)));
            }
        }
    }
}
