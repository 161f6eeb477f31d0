using System.Globalization;
using System.Text;
using MLNet.BNInception.Data;
using MLNet.BNInception.Datasets;
using MLNet.BNInception.Models;
using MLNet.BNInception.Onnx;
using MLNet.BNInception.Torch;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Training;
using MLNet.BNInception.Transforms;
using MLNet.BNInception.Transforms.Image;

namespace MLNet.BNInception.Demo;

/// <summary>The sample's settings; the defaults are the README's main job.</summary>
public sealed record SampleSettings
{
    /// <summary>Where data, checkpoint, model, predictions and ONNX file go.</summary>
    public string OutputFolder { get; init; } = "artifacts/demo";

    /// <summary>Training images (before the validation split).</summary>
    public int TrainImages { get; init; } = 13_288;

    /// <summary>Training images the trainer holds out for validation after every epoch.</summary>
    public int ValidationImages { get; init; } = 1_000;

    /// <summary>Test images (evaluated, then scored from score.csv).</summary>
    public int TestImages { get; init; } = 2_000;

    /// <summary>Side the images are resized to.</summary>
    public int ImageSize { get; init; } = 64;

    /// <summary>Passes over the training data.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Continue from the checkpoint of an interrupted run.</summary>
    public bool Resume { get; init; }
}

/// <summary>What the sample measured.</summary>
/// <param name="Metrics">Test metrics of the trained model.</param>
/// <param name="ReloadedMetrics">Test metrics of the model read back from its file.</param>
/// <param name="ScoredRows">Rows written to predictions.csv.</param>
/// <param name="OnnxAgreement">Images on which OpenCV's reading of the ONNX file agrees with our top-1.</param>
/// <param name="OnnxChecked">Images compared.</param>
public sealed record SampleResult(MulticlassClassificationMetrics Metrics, MulticlassClassificationMetrics ReloadedMetrics, int ScoredRows,
    int OnnxAgreement, int OnnxChecked);

/// <summary>
/// The walk-through of docs/walkthrough.md as a program: Fashion-MNIST written to disk as PNG files
/// listed in CSV files, loaded, split, trained through the pipeline, evaluated, saved, reloaded,
/// batch-scored and exported to ONNX.
/// </summary>
public static class FashionMnistSample
{
    /// <summary>The CSV row: a path and a class name.</summary>
    public sealed class ImageRow
    {
        /// <summary>The image's path relative to the data folder.</summary>
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        /// <summary>The class name.</summary>
        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    /// <summary>Runs the sample; progress goes to <paramref name="log"/>.</summary>
    public static SampleResult Run(SampleSettings settings, MLContext context, TextWriter log)
    {
        string output = settings.OutputFolder;
        FashionMnistFiles files = FashionMnistImageFiles.Prepare(Path.Combine(output, "data"), settings.TrainImages, settings.TestImages);
        log.WriteLine($"data: {files.TrainCsv} ({settings.TrainImages} images), {files.TestCsv} ({settings.TestImages} images)");

        // The CSV is read lazily, row by row, each time a pass needs it.
        IDataView data = context.Data.LoadFromTextFile<ImageRow>(files.TrainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        log.WriteLine(data.Preview(3));

        var options = new BnInceptionMulticlassTrainer.Options
        {
            Epochs = settings.Epochs,
            BatchSize = 32,
            LearningRate = TrainerOptions.PaperBnX30.LearningRate,
            Schedule = new CosineSchedule(),
            Augmentation = new AugmentationOptions { CropScale = (0.7, 1.0) },
            CheckpointPath = Path.Combine(output, "training.ckpt"),
            ResumeFromCheckpoint = settings.Resume,
            ValidationFraction = (double)settings.ValidationImages / settings.TrainImages,
            Seed = 1,
            OnStep = p =>
            {
                if (p.StepInEpoch % 32 == 0 || p.StepInEpoch == p.StepsPerEpoch)
                {
                    log.WriteLine($"epoch {p.Epoch} step {p.StepInEpoch}/{p.StepsPerEpoch}: loss {p.Loss:F3}, lr {p.LearningRate:G3}, " +
                                  $"{p.ImagesPerSecond:F0} images/s, {p.Remaining:mm\\:ss} left");
                }
            },
        };

        // The preprocessing shared by training and scoring: decode, resize, pixels in [0, 1].
        var preprocessing = context.Transforms.Conversion.MapValueToKey("Label")
            .Append(context.Transforms.LoadImages("Image", imageFolder: files.Folder, inputColumnName: "ImagePath"))
            .Append(context.Transforms.ResizeImages("Image", imageWidth: settings.ImageSize, imageHeight: settings.ImageSize))
            .Append(context.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255));
        var pipeline = preprocessing
            .AppendCacheCheckpoint(context)
            .Append(context.MulticlassClassification.Trainers.BnInception(options))
            .Append(context.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        using TransformerChain<KeyToValueMappingTransformer> model = pipeline.Fit(data);
        BnInceptionPredictionTransformer network = model.OfType<BnInceptionPredictionTransformer>().Single();
        foreach (EpochMetrics epoch in network.History)
        {
            log.WriteLine($"epoch {epoch.Epoch}: train loss {epoch.TrainLoss:F3}, validation loss {epoch.ValidationLoss:F3}, validation accuracy {epoch.ValidationAccuracy:P1}");
        }

        IDataView testData = context.Data.LoadFromTextFile<ImageRow>(files.TestCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        MulticlassClassificationMetrics metrics = context.MulticlassClassification.Evaluate(model.Transform(testData), topKPredictionCount: 5);
        log.WriteLine($"test: micro accuracy {metrics.MicroAccuracy:P2}, macro accuracy {metrics.MacroAccuracy:P2}, top-5 {metrics.TopKAccuracy:P2}, " +
                      $"log-loss {metrics.LogLoss:F4}, log-loss reduction {metrics.LogLossReduction:F4}");
        log.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

        string modelPath = Path.Combine(output, "model.zip");
        context.Model.Save(model, data.Schema, modelPath);
        log.WriteLine($"saved {modelPath} ({new FileInfo(modelPath).Length / 1024} KiB)");

        ITransformer loaded = context.Model.Load(modelPath, out DataViewSchema? _);
        try
        {
            MulticlassClassificationMetrics reloaded = context.MulticlassClassification.Evaluate(loaded.Transform(testData), topKPredictionCount: 5);
            log.WriteLine($"reloaded model: micro accuracy {reloaded.MicroAccuracy:P2}, log-loss {reloaded.LogLoss:F4}");

            int scored = ScoreCsv(context, loaded, files, Path.Combine(output, "predictions.csv"));
            log.WriteLine($"scored {scored} rows of {files.ScoreCsv} into {Path.Combine(output, "predictions.csv")}");

            (int agree, int compared) = ExportOnnx(context, model, testData, Path.Combine(output, "bn_inception.onnx"), log);
            return new SampleResult(metrics, reloaded, scored, agree, compared);
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    /// <summary>A path-only row, as a batch-scoring job reads it.</summary>
    public sealed class ScoreRow
    {
        /// <summary>The image's path relative to the data folder.</summary>
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";
    }

    /// <summary>The columns a batch-scoring job writes.</summary>
    public sealed class Prediction
    {
        /// <summary>The image.</summary>
        public string ImagePath { get; set; } = "";

        /// <summary>The predicted class name.</summary>
        public string PredictedLabel { get; set; } = "";

        /// <summary>The class probabilities.</summary>
        public float[] Score { get; set; } = [];
    }

    private static int ScoreCsv(MLContext context, ITransformer model, FashionMnistFiles files, string predictionsPath)
    {
        IDataView rows = context.Data.LoadFromTextFile<ScoreRow>(files.ScoreCsv, separatorChar: ',', hasHeader: true);
        string temporary = predictionsPath + ".tmp";
        int count = 0;
        using (var writer = new StreamWriter(temporary, append: false, Encoding.UTF8))
        {
            writer.WriteLine("ImagePath,PredictedLabel,Probability");
            foreach (Prediction prediction in context.Data.CreateEnumerable<Prediction>(model.Transform(rows), reuseRowObject: true))
            {
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{prediction.ImagePath},\"{prediction.PredictedLabel}\",{prediction.Score.Max():F4}"));
                count++;
            }
        }

        // Renamed into place only when complete: a crash leaves the old file or none, never a half-written one.
        File.Move(temporary, predictionsPath, overwrite: true);
        return count;
    }

    private static (int Agree, int Compared) ExportOnnx(MLContext context, TransformerChain<KeyToValueMappingTransformer> model, IDataView testData,
        string onnxPath, TextWriter log)
    {
        using (FileStream stream = File.Create(onnxPath))
        {
            context.Model.ConvertToOnnx(model, testData, stream);
        }

        // OpenCV's DNN module reads the file; compare its top-1 with ours on the pipeline's own pixels.
        using OpenCvOnnxNet onnx = OpenCvOnnxNet.Load(onnxPath);
        IDataView scored = model.Transform(testData);
        var features = context.Data.CreateEnumerable<FeaturesAndScore>(scored, reuseRowObject: false).Take(500).ToList();
        int side = (int)Math.Round(Math.Sqrt(features[0].Features.Length / 3.0));
        int agree = 0;
        foreach (FeaturesAndScore[] batch in features.Chunk(100))
        {
            using DisposeScope scope = torch.NewDisposeScope();
            Tensor input = torch.tensor(batch.SelectMany(row => row.Features).ToArray(), batch.Length, 3, side, side);
            long[] theirs = onnx.Forward(input, OnnxExporter.ProbabilitiesOutput).argmax(1).ToArray<long>();
            agree += batch.Select((row, i) => Array.IndexOf(row.Score, row.Score.Max()) == theirs[i] ? 1 : 0).Sum();
        }

        log.WriteLine($"exported {onnxPath}; OpenCV's DNN module agrees with our top-1 on {agree} of {features.Count} test images");
        return (agree, features.Count);
    }

    private sealed class FeaturesAndScore
    {
        public float[] Features { get; set; } = [];

        public float[] Score { get; set; } = [];
    }
}
