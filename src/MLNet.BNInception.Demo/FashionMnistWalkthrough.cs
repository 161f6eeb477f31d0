using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Demo;

/// <summary>
/// The README's main job, written as an ML.NET user would write it (docs/walkthrough.md explains
/// each step): Debian's Fashion-MNIST as PNG files listed in CSV files; ML.NET's text loader, key
/// mapping and image transforms, with this package's safe image loader in place of LoadImages;
/// BN-Inception as one more Append; Evaluate with the confusion
/// table; Model.Save and Model.Load; predictions for a CSV of paths written to a CSV; and the ONNX
/// export checked by ONNX Runtime.
/// </summary>
public static class FashionMnistWalkthrough
{
    /// <summary>A row of the CSV files.</summary>
    public sealed class ImageRow
    {
        /// <summary>The image file, relative to the images folder.</summary>
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        /// <summary>The class name; empty in a list of images to predict.</summary>
        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    /// <summary>A row of predictions.</summary>
    public sealed class Prediction
    {
        /// <summary>The image file.</summary>
        public string ImagePath { get; set; } = "";

        /// <summary>The predicted class name.</summary>
        public string PredictedLabel { get; set; } = "";

        /// <summary>The probability of every class.</summary>
        public float[] Score { get; set; } = [];
    }

    /// <summary>Runs the walk-through, reporting to <paramref name="log"/>.</summary>
    /// <exception cref="ArgumentException">A setting is out of range (<see cref="WalkthroughSettings.Validate"/>); nothing was done.</exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> stopped the run: within a batch of training, which leaves
    /// a valid checkpoint (<see cref="WalkthroughSettings.CheckpointPath"/>), or between the steps
    /// before or after it (at the next image written, or before evaluating, saving, predicting or
    /// exporting). Every file written is whole.
    /// </exception>
    /// <exception cref="CheckpointMismatchException">With <see cref="WalkthroughSettings.Resume"/>, the checkpoint is of a run on other images; nothing was trained.</exception>
    /// <exception cref="IOException">No folder can be made in the temporary folder ($TMPDIR) for ML.NET's files; the message says to set TMPDIR. Nothing was done.</exception>
    public static WalkthroughResult Run(WalkthroughSettings settings, TextWriter log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        settings.Validate();
        // ML.NET's Model.Save writes the model's parts into a folder of its own under the context's
        // temporary folder, and Model.Load copies the network there: in a folder of this process's
        // own, what a process killed meanwhile leaves is removed by the next save or load of a model.
        string temporaryFolder = TemporaryModelFolder.Create();
        try
        {
            return Run(settings, log, temporaryFolder, cancellationToken);
        }
        finally
        {
            TemporaryModelFolder.Delete(temporaryFolder);
        }
    }

    private static WalkthroughResult Run(WalkthroughSettings settings, TextWriter log, string temporaryFolder, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        string output = Path.GetFullPath(settings.OutputFolder);
        Directory.CreateDirectory(output);

        // 1. The data: image files and CSV lists, as most image data reaches a pipeline.
        FashionMnistFiles.Files files = FashionMnistFiles.Write(Path.Combine(output, "data"), settings.TrainImages, 0, settings.TestImages,
            cancellationToken: cancellationToken);
        log.WriteLine($"Fashion-MNIST as files: {settings.TrainImages} training and {settings.TestImages} test PNG images under {files.ImageFolder}");

        var ml = new MLContext(seed: 1) { TempFilePath = temporaryFolder };
        ml.Log += (_, e) =>
        {
            if (e.Kind >= Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Source.StartsWith("BnInception", StringComparison.Ordinal))
            {
                log.WriteLine(e.Message);
            }
        };
        IDataView train = ml.Data.LoadFromTextFile<ImageRow>(files.TrainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView test = ml.Data.LoadFromTextFile<ImageRow>(files.TestCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);

        // 2. The pipeline: ML.NET's own transforms, then BN-Inception, then back to class names.
        string curvesPath = Path.Combine(output, "training-curves.png");
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX30 with
            {
                Epochs = settings.Epochs,
                BatchSize = 32,
                Seed = 1,
                // One short epoch: the paper's slow exponential decay would barely move, so the
                // rate anneals over the run instead.
                Schedule = new CosineSchedule(),
                // The images are small and centred: a gentle crop keeps what there is to see.
                Augmentation = new AugmentationOptions { CropScale = (0.7, 1.0) },
                ValidationFraction = 0.08,
                CheckpointPath = settings.CheckpointPath,
            },
            ResumeFromCheckpoint = settings.Resume,
            // Loss and accuracy per epoch, drawn when training ends, with the numbers beside them.
            CurvesPath = curvesPath,
            MLContext = ml,
            LogEverySteps = 64,
            CancellationToken = cancellationToken,
        });
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImagesSafely("Image", files.ImageFolder, "ImagePath", log: ml))
            .Append(ml.Transforms.ResizeImages("Image", imageWidth: 64, imageHeight: 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Red,
                scaleImage: 1f / 255))
            .AppendCacheCheckpoint(ml)
            .Append(trainer)
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        TransformerChain<Microsoft.ML.Transforms.KeyToValueMappingTransformer> model = pipeline.Fit(train);
        BnInceptionPredictionTransformer network = model.OfType<BnInceptionPredictionTransformer>().Single();
        try
        {
            // 3. Evaluate on the test images. From here on a stop comes between the steps: ML.NET's
            // Evaluate, Save and Load take no token.
            cancellationToken.ThrowIfCancellationRequested();
            MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(model.Transform(test), topKPredictionCount: 5);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"test: micro accuracy {metrics.MicroAccuracy:P2}, macro accuracy {metrics.MacroAccuracy:P2}, top-5 {metrics.TopKAccuracy:P2}, log-loss {metrics.LogLoss:F4}"));
            log.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

            // 4. Save the whole pipeline, load it back, and check it scores the same. BnInceptionModelFile.Load
            // is ML.NET's Model.Load, tried again when ONNX Runtime misread the name of ML.NET's copy.
            // Model.Save writes as it goes: through a temporary file renamed at the end, no damaged
            // model.zip is left if anything fails on the way.
            string modelPath = Path.Combine(output, "model.zip");
            AtomicFile.Write(modelPath, file => ml.Model.Save(model, train.Schema, file), flushToDisk: false, cancellationToken);
            // Disposed at the end: the loaded OnnxTransformer keeps a copy of the network in the
            // temporary folder until then, and a process that ends without disposing it leaves it.
            using var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, modelPath, out _);
            MulticlassClassificationMetrics reloaded = ml.MulticlassClassification.Evaluate(loaded.Transform(test), topKPredictionCount: 5);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"saved {modelPath} ({new FileInfo(modelPath).Length / 1024.0 / 1024:F1} MB) and loaded it: micro accuracy {reloaded.MicroAccuracy:P2}, log-loss {reloaded.LogLoss:F4}"));

            // 5. Predictions for a list of image paths, written whole to a CSV.
            string predictionsPath = Path.Combine(output, "predictions.csv");
            long predictions = WritePredictions(ml, loaded, test, files, predictionsPath, cancellationToken);
            log.WriteLine($"wrote {predictions} predictions to {predictionsPath}");

            // 6. The ONNX export, scored by ONNX Runtime.
            string onnxPath = Path.Combine(output, "bn_inception.onnx");
            cancellationToken.ThrowIfCancellationRequested();
            network.ExportOnnx(onnxPath);
            cancellationToken.ThrowIfCancellationRequested();
            int onnxChecked = Math.Min(settings.OnnxCheckImages, settings.TestImages);
            int agreement = OnnxRuntimeAgreement(ml, model, network, test, onnxPath, onnxChecked);
            log.WriteLine($"exported {onnxPath}; ONNX Runtime agrees with the pipeline's top class on {agreement} of {onnxChecked} test images");
            log.WriteLine($"done in {clock.Elapsed:m\\:ss}");
            return new WalkthroughResult(metrics, reloaded, predictions, agreement, onnxChecked, modelPath, predictionsPath, curvesPath);
        }
        finally
        {
            network.Dispose();
        }
    }

    // A path-only list, as a scoring job gets it: the label column is empty, which the key mapping
    // passes as a missing key. The paths are the test list's, read by ML.NET's text loader (quoting
    // and all). Rows go to a temporary file renamed at the end, so no half file is left.
    private static long WritePredictions(MLContext ml, ITransformer model, IDataView test, FashionMnistFiles.Files files, string path, CancellationToken cancellationToken)
    {
        string paths = Path.Combine(Path.GetDirectoryName(files.TestCsv)!, "paths.csv");
        AtomicFile.WriteAllLines(paths,
            ["ImagePath", .. ml.Data.CreateEnumerable<ImageRow>(test, reuseRowObject: false).Select(row => CsvText.Field(row.ImagePath))], flushToDisk: false);
        cancellationToken.ThrowIfCancellationRequested();
        IDataView toScore = ml.Data.LoadFromTextFile<ImageRow>(paths, separatorChar: ',', hasHeader: true, allowQuoting: true);
        long count = 0;
        AtomicFile.Write(path, file =>
        {
            using var writer = new StreamWriter(file, leaveOpen: true);
            writer.WriteLine("ImagePath,PredictedLabel,Probability");
            foreach (Prediction prediction in ml.Data.CreateEnumerable<Prediction>(model.Transform(toScore), reuseRowObject: true))
            {
                cancellationToken.ThrowIfCancellationRequested();
                writer.WriteLine(CsvText.Record([prediction.ImagePath, prediction.PredictedLabel,
                    prediction.Score.Max().ToString("F4", CultureInfo.InvariantCulture)]));
                count++;
            }
        }, flushToDisk: false, cancellationToken);
        return count;
    }

    private static int OnnxRuntimeAgreement(MLContext ml, ITransformer model, BnInceptionPredictionTransformer network, IDataView test, string onnxPath, int count)
    {
        IDataView scored = model.Transform(ml.Data.TakeRows(test, count));
        float[][] features = scored.GetColumn<float[]>("Features").ToArray();
        float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
        using var session = new InferenceSession(onnxPath);
        int side = network.ImageSize, channels = network.ImageChannels;
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(features.SelectMany(f => f).ToArray(), [features.Length, channels, side, side]);
        using var options = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(options, [session.InputNames[0]], [input], ["probabilities"]);
        ReadOnlySpan<float> probabilities = outputs[0].GetTensorDataAsSpan<float>();
        int classes = network.ClassNames.Count, agree = 0;
        for (int i = 0; i < features.Length; i++)
        {
            int theirs = ArgMax(probabilities.Slice(i * classes, classes));
            agree += theirs == ArgMax(scores[i]) ? 1 : 0;
        }

        return agree;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }
}
