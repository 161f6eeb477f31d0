using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.BNInception.Cli.Tests;

/// <summary><c>train</c>, <c>evaluate</c>, <c>export</c> and <c>info</c>, each against an independent account of what it should say.</summary>
[Trains]
public class ModelCommandTests
{
    [Test]
    public void TrainWritesTheModelFileAProgramWouldSaveWithProgressOnTheWay()
    {
        TrainedTool.Context trained = TrainedTool.Get();

        // ML.NET loads it without this package's help and names the classes in the label's key
        // order: MapValueToKey's, by first occurrence in the training file.
        string[] firstSeen = Csv.Read(trained.Files.TrainCsv).Column("Label").Distinct().ToArray();
        Assert.That(MLNetReference.ClassNames(trained.ModelPath), Is.EqualTo(firstSeen));
        Assert.That(trained.TrainOutput, Does.Contain($"trained on 800 images of 10 classes for {TrainedTool.Epochs} epochs in mixed bfloat16"));
        Assert.That(trained.TrainOutput, Does.Contain($"epoch {TrainedTool.Epochs}/{TrainedTool.Epochs}: train loss").And.Contain("validation loss"));

        // Trained without --threads: BNINCEPTION_NUM_THREADS where it is set (the suite's lanes set 1 on
        // any machine), else one thread per core.
        string? variable = Environment.GetEnvironmentVariable("BNINCEPTION_NUM_THREADS");
        int threads = !string.IsNullOrWhiteSpace(variable)
            ? int.Parse(variable, CultureInfo.InvariantCulture)
            : Environment.ProcessorCount;
        Assert.That(trained.TrainOutput, Does.Contain($"training 10 classes, {TrainedTool.Epochs} epochs of batches of 32: mixed bfloat16 on cpu, {threads} thread{(threads == 1 ? "" : "s")}"));
        Assert.That(trained.TrainOutput, Does.Match($@"training: epoch {TrainedTool.Epochs}/{TrainedTool.Epochs}, step 25/25, loss [0-9.]+, accuracy [0-9.]+ ?%, lr [0-9.E-]+, [0-9.]+ images/s"));
        Assert.That(File.Exists(trained.ModelPath + ".ckpt"), Is.True, "the default checkpoint beside the model");
    }

    [Test]
    public void TrainWithCurvesDrawsThemAndWritesEveryEpochsNumbers()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        string csv = Path.ChangeExtension(trained.CurvesPath, ".csv");
        Assert.That(trained.TrainOutput, Does.Contain($"training curves in {trained.CurvesPath} and {csv}"));

        string[] lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("epoch,learning_rate,train_loss,train_accuracy,validation_loss,validation_accuracy"));
        Assert.That(lines, Has.Length.EqualTo(1 + TrainedTool.Epochs), "the header and a line an epoch");

        // Each row says what the tool printed for its epoch (printed rounded: loss to 4 places, accuracy to 0.01 %).
        for (int epoch = 1; epoch <= TrainedTool.Epochs; epoch++)
        {
            double[] cells = [.. lines[epoch].Split(',').Select(cell => double.Parse(cell, CultureInfo.InvariantCulture))];
            Assert.That(cells[0], Is.EqualTo(epoch));
            string printed = string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch}/{TrainedTool.Epochs}: train loss {cells[2]:F4}, accuracy {cells[3]:P2}; validation loss {cells[4]:F4}, accuracy {cells[5]:P2}; lr {cells[1]:G4}");
            Assert.That(trained.TrainOutput, Does.Contain(printed));
        }

        // The chart: a PNG that SkiaSharp (ML.NET's) decodes, two panels side by side.
        using SkiaSharp.SKBitmap png = SkiaSharp.SKBitmap.Decode(trained.CurvesPath);
        Assert.That((png.Width, png.Height), Is.EqualTo((1200, 450)));
    }

    [Test]
    public void TrainingStoppedByCtrlCKeepsItsCheckpointAndResumeFinishesIt()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string model = work.File("model.zip");
        // The first 192 training images (all ten classes): six steps an epoch, time enough for the
        // interrupt to land inside the second epoch, and a run a fifth as long as the whole list's.
        string trainCsv = work.File("train192.csv");
        File.WriteAllLines(trainCsv, File.ReadLines(trained.Files.TrainCsv).Take(1 + 192));
        string[] train = ["train", "--train", trainCsv, "--image-folder", trained.Files.ImageFolder, "--size", "64", "--channels", "gray",
            "--epochs", "2", "--batch", "32", "--out", model];
        int exitCode;
        string stdout;
        using (System.Diagnostics.Process run = InstalledTool.Start(work.Path, train))
        {
            Task<string> output = run.StandardOutput.ReadToEndAsync();
            var error = new System.Text.StringBuilder();
            string? line;
            while ((line = run.StandardError.ReadLine()) is not null && !line.StartsWith("epoch 1/2:", StringComparison.Ordinal))
            {
                error.AppendLine(line);
            }

            Assert.That(line, Is.Not.Null, "training ended before its first epoch did: " + error);
            ExternalProcess.Run("kill", ["-INT", run.Id.ToString(CultureInfo.InvariantCulture)]).AssertSucceeded();
            _ = run.StandardError.ReadToEnd();
            Assert.That(run.WaitForExit(TimeSpan.FromMinutes(2)), Is.True);
            exitCode = run.ExitCode;
            stdout = output.Result;
        }

        Assert.That(exitCode, Is.EqualTo(130));
        Assert.That(stdout, Does.Contain("interrupted").And.Contain("--resume"));
        Assert.That(File.Exists(model), Is.False, "no model from an unfinished run");
        Assert.That(File.Exists(model + ".ckpt"), Is.True);
        byte[] checkpoint = File.ReadAllBytes(model + ".ckpt");

        // A forgotten --resume would start afresh over the interrupted run's checkpoint.
        ExternalProcess.Result afresh = InstalledTool.Run(work.Path, train);
        Assert.That(afresh.ExitCode, Is.EqualTo(2), afresh.Error);
        Assert.That(afresh.Error, Does.Contain($"the checkpoint '{model}.ckpt' exists, an earlier run's: pass --resume to continue that run, or --overwrite"));

        // The same rows sorted by label: the same ten labels, numbered in another order.
        string sortedCsv = work.File("sorted.csv");
        string[] lines = File.ReadAllLines(trainCsv);
        File.WriteAllLines(sortedCsv, [lines[0], .. lines.Skip(1).OrderBy(line => line[(line.LastIndexOf(',') + 1)..], StringComparer.Ordinal)]);
        ExternalProcess.Result reordered = InstalledTool.Run(work.Path, [.. train[..2], sortedCsv, .. train[3..], "--resume"]);
        Assert.That(reordered.ExitCode, Is.EqualTo(2), reordered.Error);
        Assert.That(reordered.Error, Does.Contain($"--resume: {model}.ckpt is a run on other data: its classes were, in the order of their indices, "));
        Assert.That(File.ReadAllBytes(model + ".ckpt").AsSpan().SequenceEqual(checkpoint), Is.True, "the refused runs left the checkpoint as it was");

        // The run's own epochs count, whatever --epochs the resuming command gives.
        string[] resume = [.. train.Select(argument => argument == "2" ? "7" : argument), "--resume"];
        ExternalProcess.Result resumed = InstalledTool.Succeed(work.Path, resume);
        Assert.That(resumed.Output, Does.Contain("Saved " + model));
        Assert.That(resumed.Output, Does.Contain(" for 2 epochs (this run trained the last 1 of them, in "),
            "the summary counts the epoch before the interruption too, and says which its time covers");
        Assert.That(resumed.Error, Does.Not.Contain("epoch 1/2:"), "the first epoch is not trained again");
        Assert.That(resumed.Error, Does.Contain("epoch 2/2:").And.Not.Contain("/7"));
        Assert.That(resumed.Error, Does.Contain($"resuming the run in {model}.ckpt with its epochs and batch size: float32 on cpu,"));
        Assert.That(MLNetReference.ClassNames(model), Has.Length.EqualTo(10));
    }

    [Test]
    public void EvaluateReportsTheAccuracyOfTheToolsOwnPredictions()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv, "--output", work.File("p.csv"));
        Csv predictions = Csv.Read(work.File("p.csv"));
        string[] truth = predictions.Column("Label"), predicted = predictions.Column("PredictedLabel");
        double accuracy = truth.Zip(predicted).Count(pair => pair.First == pair.Second) / (double)truth.Length;

        JsonElement metrics = JsonDocument.Parse(InstalledTool.Succeed(work.Path, "evaluate", "--model", trained.ModelPath, "--data", trained.Files.TestCsv, "--json").Output).RootElement;
        Assert.That(metrics.GetProperty("microAccuracy").GetDouble(), Is.EqualTo(accuracy).Within(1e-12));
        Assert.That(metrics.GetProperty("rows").GetInt64(), Is.EqualTo(TrainedTool.TestImages));
        int[][] counts = metrics.GetProperty("confusionMatrix").GetProperty("counts").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(c => (int)c.GetDouble()).ToArray()).ToArray();
        string[] classes = metrics.GetProperty("confusionMatrix").GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToArray();
        for (int i = 0; i < classes.Length; i++)
        {
            for (int j = 0; j < classes.Length; j++)
            {
                int expected = truth.Zip(predicted).Count(pair => pair.First == classes[i] && pair.Second == classes[j]);
                Assert.That(counts[i][j], Is.EqualTo(expected), $"truth {classes[i]}, predicted {classes[j]}");
            }
        }

        string text = InstalledTool.Succeed(work.Path, "evaluate", "--model", trained.ModelPath, "--data", trained.Files.TestCsv).Output;
        Assert.That(text, Does.Contain("micro accuracy  " + accuracy.ToString("P2", CultureInfo.InvariantCulture)).And.Contain("Confusion table"));
    }

    [Test]
    public void ExportWritesAStandardOnnxFileThatOnnxRuntimeScoresAsMLNetDoes()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string onnx = work.File("bn_inception.onnx");
        InstalledTool.Succeed(work.Path, "export", "--model", trained.ModelPath, "--onnx", onnx);

        JsonElement declared = JsonDocument.Parse(PythonReference.Run("onnx_check.py", onnx)).RootElement;
        Assert.That(declared.GetProperty("inputs").GetProperty("input").EnumerateArray().Select(d => d.ToString()), Is.EqualTo(new[] { "N", "1", "64", "64" }));
        Assert.That(declared.GetProperty("outputs").GetProperty("probabilities").EnumerateArray().Select(d => d.ToString()), Is.EqualTo(new[] { "N", "10" }));

        // A batch of the pipeline's own features, scored by ONNX Runtime from the exported file.
        MLNetReference.Prediction[] expected = MLNetReference.Predict(trained.ModelPath, trained.Files.TestCsv).Take(32).ToArray();
        using var session = new InferenceSession(onnx);
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(expected.SelectMany(p => p.Features).ToArray(), [expected.Length, 1, 64, 64]);
        using var options = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(options, ["input"], [input], ["probabilities"]);
        float[] probabilities = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.That(probabilities[(i * 10)..((i + 1) * 10)], Is.EqualTo(expected[i].Score).Within(1e-5), $"image {i}");
        }

        ExternalProcess.Result again = InstalledTool.Run(work.Path, "export", "--model", trained.ModelPath, "--onnx", onnx);
        Assert.That(again.ExitCode, Is.EqualTo(2), "an existing file is not replaced without --overwrite");
    }

    [Test]
    public void ExportSaysWhatItWroteOnOneLineWhateverThePath()
    {
        // A line break in a path is \x0A in what the tool prints, as in its failures: a log reader takes
        // each line for one message.
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string onnx = work.File("two\nlines.onnx");
        ExternalProcess.Result run = InProcessTool.Run("export", "--model", trained.ModelPath, "--onnx", onnx);
        Assert.That(run.ExitCode, Is.Zero, run.Error);
        Assert.That(run.Output.TrimEnd('\n'), Does.StartWith($"wrote {work.File("two")}\\x0Alines.onnx: input 'input'").And.Not.Contain('\n'));
        Assert.That(File.Exists(onnx), Is.True);
    }

    [Test]
    public void InfoDescribesWhatTheModelWasTrainedWith()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        JsonElement info = JsonDocument.Parse(InstalledTool.Succeed(work.Path, "info", "--model", trained.ModelPath, "--json").Output).RootElement;
        Assert.That(info.GetProperty("imageSize").GetInt32(), Is.EqualTo(64));
        Assert.That(info.GetProperty("channels").GetInt32(), Is.EqualTo(1));
        Assert.That(info.GetProperty("pathColumn").GetString(), Is.EqualTo("ImagePath"));
        Assert.That(info.GetProperty("imageFolder").GetString(), Is.EqualTo(trained.Files.ImageFolder));
        Assert.That(info.GetProperty("classLabels").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(MLNetReference.ClassNames(trained.ModelPath)));
        Assert.That(info.GetProperty("inputColumns").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(new[] { "ImagePath (String)", "Label (String)" }));
        // train keeps BN unless told --no-batch-norm, and a model file holds its network with BN folded.
        Assert.That(info.GetProperty("batchNorm").GetString(), Is.EqualTo("batch normalization folded into the convolutions"));

        string text = InstalledTool.Succeed(work.Path, "info", "--model", trained.ModelPath).Output;
        Assert.That(text, Does.Contain("BN-Inception, input 'Features' 1×64×64, 10 classes, Relu, batch normalization folded into the convolutions")
            .And.Contain("ML.NET 6.0.0")
            .And.Contain("classes        " + string.Join(", ", MLNetReference.ClassNames(trained.ModelPath).Select(name => $"'{name}'"))));
    }
}
