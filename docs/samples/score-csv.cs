// Scores a CSV list of image paths with a model.zip that train-and-evaluate.cs saved, and writes the
// predictions as a CSV: ImagePath,PredictedLabel,Probability,Error, one row per row of the list, in
// its order. It streams: a row is read, scored and written before the next is read, so memory stays
// flat however long the list. An image that cannot be read (missing, empty, damaged, not an image)
// gets its reason in Error, and the job goes on.
//
//   bash build/pack.sh        # once, in the repository: packs MLNet.BNInception into artifacts/packages
//   cd docs/samples
//   dotnet run score-csv.cs -- MODEL.zip LIST.csv OUTPUT.csv [--image-folder DIR]
//
// LIST.csv: a header, then the image path in the first column (further columns are ignored).
//   Relative paths are read from the folder the model was trained with, or from DIR.
// OUTPUT.csv: written under another name and renamed when complete.
// After a new pack, `dotnet run --no-cache --property:RestoreForceEvaluate=true score-csv.cs -- …`
// builds against it (train-and-evaluate.cs says why).
//
// The network runs in ONNX Runtime one image at a time, as ML.NET runs a loaded model. For lists of
// millions of images, `bninception score` (docs/batch-scoring.md) does this job in batches with
// images decoded on other threads, resumes after a crash without losing or repeating a row, and
// splits a list across machines.
#:package MLNet.BNInception@*-*
// ML.NET and TorchSharp need the JIT: not the Native AOT that file-based apps publish with by default.
#:property PublishAot=false
// ONNX Runtime's and SkiaSharp's packages hold every platform's native libraries, hundreds of MB:
// linked into the build output rather than copied, where the disk allows.
#:property CreateHardLinksForCopyLocalIfPossible=true

using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception;
using MLNet.BNInception.Images;
using MLNet.BNInception.ModelFiles;

string? imageFolder = args.Length == 5 && args[3] == "--image-folder" ? args[4] : null;
if (args.Length != 3 && imageFolder is null)
{
    Console.Error.WriteLine("usage: dotnet run score-csv.cs -- MODEL.zip LIST.csv OUTPUT.csv [--image-folder DIR]");
    return 2;
}

(string modelPath, string listCsv, string outputCsv) = (args[0], args[1], args[2]);
var ml = new MLContext();
// ML.NET's Model.Load, loaded once more if ONNX Runtime misread the name of ML.NET's temporary
// copy of the network (docs/walkthrough.md, section 4).
var saved = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, modelPath, out _);
IDataView list = ml.Data.LoadFromTextFile<ListRow>(listCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);

// The saved pipeline loads its images with ML.NET's LoadImages, which ends the whole run at a missing
// file and loads a truncated one as a partly black image. This package's LoadImagesSafely takes its
// place, with the columns train-and-evaluate.cs uses: it throws, for that row alone, an
// InvalidImageException saying why.
ITransformer[] steps = [.. saved];
int loaderIndex = Array.FindIndex(steps, step => step is ImageLoadingTransformer);
var savedLoader = (ImageLoadingTransformer)steps[loaderIndex];
steps[loaderIndex] = ml.Transforms.LoadImagesSafely("Image", imageFolder ?? savedLoader.ImageFolder, "ImagePath").Fit(list);
// The engine owns the model and disposes it with itself, and with it the copy of the network that
// ML.NET's OnnxTransformer keeps in the temporary folder while the model is loaded.
using PredictionEngine<ModelInput, Prediction> engine = ml.Model.CreatePredictionEngine<ModelInput, Prediction>(new TransformerChain<ITransformer>(steps));

string partial = outputCsv + ".partial";
int rows = 0, errors = 0;
using (var output = new StreamWriter(partial))
{
    output.WriteLine("ImagePath,PredictedLabel,Probability,Error");
    // CreateEnumerable reads the list lazily, a row at a time.
    var input = new ModelInput();
    foreach (ListRow row in ml.Data.CreateEnumerable<ListRow>(list, reuseRowObject: true))
    {
        input.ImagePath = row.ImagePath;
        string predicted = "", probability = "", error = "";
        try
        {
            Prediction prediction = engine.Predict(input);
            predicted = prediction.PredictedLabel;
            probability = prediction.Score.Max().ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (InvalidImageException.FindIn(e) is { } invalid)
        {
            error = $"{invalid.Reason}: {invalid.Detail}";
            errors++;
        }

        output.WriteLine(string.Join(',', new[] { row.ImagePath, predicted, probability, error }.Select(Csv)));
        rows++;
    }
}

File.Move(partial, outputCsv, overwrite: true);
Console.WriteLine($"scored {rows} rows ({errors} without an image) into {Path.GetFullPath(outputCsv)}");
return 0;

// A CSV field, quoted when it holds a separator, a quote or a line break.
static string Csv(string field) =>
    field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

/// <summary>A row of the list.</summary>
public sealed class ListRow
{
    /// <summary>The image file.</summary>
    [LoadColumn(0)]
    public string ImagePath { get; set; } = "";
}

/// <summary>What the model reads: the columns of the lists it was trained on.</summary>
public sealed class ModelInput
{
    /// <summary>The image file.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>
    /// Not read from the list: the saved pipeline starts by mapping the training labels to keys, so it
    /// needs the column; an empty label maps to a missing key, which scoring ignores.
    /// </summary>
    public string Label { get; set; } = "";
}

/// <summary>What the model gives for a row.</summary>
public sealed class Prediction
{
    /// <summary>The most probable class.</summary>
    public string PredictedLabel { get; set; } = "";

    /// <summary>Every class's probability.</summary>
    public float[] Score { get; set; } = [];
}
