using System.Globalization;
using MLNet.BNInception.Datasets;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Made Fixtures/MLNet5Model once, under Microsoft.ML 5.0.1: a whole pipeline saved by Model.Save,
/// eight Fashion-MNIST test images, and the scores Model.Load gave for them in that process. The
/// network's large weights are a short repeating pattern (so the zip compresses to little), BN's
/// statistics re-measured on real images (so the scores differ from image to image).
/// </summary>
public class MLNet5FixtureMaker
{
    private sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    [Test]
    public void Make()
    {
        string target = Path.Combine(Environment.GetEnvironmentVariable("FIXTURE_TARGET") ?? Path.GetTempPath(), "MLNet5Model");
        Directory.CreateDirectory(target);
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 64, 0, 8);
        var ml = new MLContext(seed: 1);
        // Absolute paths and no image folder in the saved pipeline, so that it loads anywhere.
        string trainCsv = folder.File("train.csv");
        File.WriteAllLines(trainCsv, File.ReadLines(files.TrainCsv).Select((line, i) => i == 0 ? line : Path.Combine(files.ImageFolder, line)));
        IDataView train = ml.Data.LoadFromTextFile<ImageRow>(trainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var prefix = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", null, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255));
        var pipeline = prefix
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64,
                Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 16, Seed = 3, Augmentation = AugmentationOptions.None },
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        BnInceptionPredictionTransformer trained = model.OfType<BnInceptionPredictionTransformer>().Single();
        float[] features = prefix.Fit(train).Transform(train).GetColumn<float[]>("Features").SelectMany(row => row).ToArray();

        using (no_grad())
        {
            foreach ((string name, Parameter parameter) in trained.Model.named_parameters())
            {
                if (parameter.numel() < 1000)
                {
                    continue;
                }

                float scale = parameter.std().item<float>();
                float[] pattern = Enumerable.Range(0, (int)parameter.numel()).Select(i => scale * ((i % 7) - 3) / 2f).ToArray();
                using Tensor values = tensor(pattern, parameter.shape);
                parameter.copy_(values);
            }

            trained.Model.train();
            using Tensor images = tensor(features, [64, 1, 64, 64]);
            for (int pass = 0; pass < 40; pass++)
            {
                using Tensor logits = trained.Model.call(images);
            }

            trained.Model.eval();
        }

        string modelPath = Path.Combine(target, "model.zip");
        ml.Model.Save(model, train.Schema, modelPath);

        string imageFolder = Path.Combine(target, "images");
        Directory.CreateDirectory(imageFolder);
        var csv = new List<string> { "ImagePath,Label" };
        foreach (string line in File.ReadLines(files.TestCsv).Skip(1))
        {
            string relative = line.Split(',')[0];
            string name = Path.GetFileName(relative);
            File.Copy(Path.Combine(files.ImageFolder, relative), Path.Combine(imageFolder, name), overwrite: true);
            csv.Add($"{name},{line.Split(',')[1]}");
        }

        File.WriteAllLines(Path.Combine(target, "images.csv"), csv);
        string testCsv = folder.File("fixture-test.csv");
        File.WriteAllLines(testCsv, csv.Select((line, i) => i == 0 ? line : Path.Combine(imageFolder, line)));
        using var loaded = (TransformerChain<ITransformer>)ml.Model.Load(modelPath, out _);
        IDataView test = ml.Data.LoadFromTextFile<ImageRow>(testCsv, separatorChar: ',', hasHeader: true);
        IDataView scored = loaded.Transform(test);
        float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
        string[] labels = scored.GetColumn<string>("PredictedLabel").ToArray();
        File.WriteAllLines(Path.Combine(target, "scores.csv"),
            new[] { "PredictedLabel,Score" }.Concat(scores.Select((row, i) =>
                labels[i] + "," + string.Join(' ', row.Select(value => value.ToString("R", CultureInfo.InvariantCulture))))));
        TestContext.Out.WriteLine(string.Join("\n", File.ReadLines(Path.Combine(target, "scores.csv"))));
        trained.Dispose();
    }
}
