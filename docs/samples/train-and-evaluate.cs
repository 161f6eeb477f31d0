// Trains BN-Inception on a CSV list of labelled images with ML.NET, prints ML.NET's metrics on a
// second list, and saves the fitted pipeline as model.zip, which score-csv.cs and
// load-without-package.cs read.
//
//   bash build/pack.sh        # once, in the repository: packs MLNet.BNInception into artifacts/packages
//   cd docs/samples
//   dotnet run train-and-evaluate.cs -- TRAIN.csv TEST.csv IMAGE_FOLDER OUTPUT_FOLDER [--size N] [--epochs N] [--batch N] [--learning-rate R]
//
// TRAIN.csv, TEST.csv: a header, then ImagePath,Label per image: a path relative to IMAGE_FOLDER (or
//   absolute) and the class name.
// OUTPUT_FOLDER: where model.zip goes (created if missing).
// --size: the side the images are resized to, a multiple of 32 and at least 64; --epochs, --batch,
//   --learning-rate: passes over TRAIN.csv, images per step, the base rate. Each defaults to the
//   trainer's (224, and the paper's BN-x30 recipe). For a few hundred images, more epochs of smaller
//   batches at a lower rate learn more (README.md, "Using the trainer").
// After a new pack, `dotnet run --no-cache --property:RestoreForceEvaluate=true train-and-evaluate.cs -- …`
// builds against it: otherwise an unchanged script runs its last build, and NuGet keeps the version
// it found first for *-*.
#:package MLNet.BNInception@*-*
#:package libtorch-cpu-linux-x64@2.10.0
// ML.NET and TorchSharp need the JIT: not the Native AOT that file-based apps publish with by default.
#:property PublishAot=false
#:property RuntimeIdentifier=linux-x64
// libtorch is over 500 MB: linked into the build output rather than copied, where the disk allows.
#:property CreateHardLinksForCopyLocalIfPossible=true

using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNet.BNInception;
using MLNet.BNInception.Trainers;

if (args.Length < 4 || args.Length % 2 != 0)
{
    Console.Error.WriteLine("usage: dotnet run train-and-evaluate.cs -- TRAIN.csv TEST.csv IMAGE_FOLDER OUTPUT_FOLDER [--size N] [--epochs N] [--batch N] [--learning-rate R]");
    return 2;
}

(string trainCsv, string testCsv, string outputFolder) = (args[0], args[1], args[3]);
// Saved in model.zip: scoring reads relative paths from this folder unless told another.
string imageFolder = Path.GetFullPath(args[2]);
var ml = new MLContext(seed: 1);
var trainer = new BnInceptionMulticlassTrainer.Options { MLContext = ml };
for (int i = 4; i < args.Length; i += 2)
{
    string value = args[i + 1];
    switch (args[i])
    {
        case "--size": trainer.ImageSize = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--epochs": trainer.Epochs = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--batch": trainer.BatchSize = int.Parse(value, CultureInfo.InvariantCulture); break;
        case "--learning-rate": trainer.LearningRate = double.Parse(value, CultureInfo.InvariantCulture); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}

// Training progress: a line every 50 steps and every epoch.
ml.Log += (_, e) =>
{
    if (e.Kind >= ChannelMessageKind.Info && e.Source.StartsWith("BnInception", StringComparison.Ordinal))
    {
        Console.WriteLine(e.Message);
    }
};

IDataView train = ml.Data.LoadFromTextFile<ImageRow>(trainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
IDataView test = ml.Data.LoadFromTextFile<ImageRow>(testCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
    // ML.NET's LoadImages, except that a missing or damaged file is an error naming its row and path.
    .Append(ml.Transforms.LoadImagesSafely("Image", imageFolder, "ImagePath", log: ml))
    .Append(ml.Transforms.ResizeImages("Image", trainer.ImageSize, trainer.ImageSize))
    .Append(ml.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255))
    .AppendCacheCheckpoint(ml)
    .Append(ml.MulticlassClassification.Trainers.BnInception(trainer))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

using var model = pipeline.Fit(train);
MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    micro-accuracy: {metrics.MicroAccuracy:F4}
    macro-accuracy: {metrics.MacroAccuracy:F4}
    log-loss: {metrics.LogLoss:F4}
    log-loss reduction: {metrics.LogLossReduction:F4}
    """));
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

// ML.NET's Model.Save opens its file before it writes anything: saved under another name and then
// renamed, an interrupted save never leaves a damaged model.zip.
Directory.CreateDirectory(outputFolder);
string modelPath = Path.Combine(outputFolder, "model.zip");
ml.Model.Save(model, train.Schema, modelPath + ".partial");
File.Move(modelPath + ".partial", modelPath, overwrite: true);
Console.WriteLine($"saved {Path.GetFullPath(modelPath)}");
return 0;

/// <summary>A row of the CSV lists.</summary>
public sealed class ImageRow
{
    /// <summary>The image file, relative to the image folder.</summary>
    [LoadColumn(0)]
    public string ImagePath { get; set; } = "";

    /// <summary>The class name.</summary>
    [LoadColumn(1)]
    public string Label { get; set; } = "";
}
