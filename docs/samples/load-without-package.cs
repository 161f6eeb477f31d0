// Loads a model.zip that train-and-evaluate.cs saved with ML.NET alone: Microsoft.ML, its image and
// ONNX transforms and ONNX Runtime, the four packages an application needs to use a saved model; no
// MLNet.BNInception, no TorchSharp, no libtorch. It scores a labelled CSV list and prints each row's
// prediction and class probabilities, then ML.NET's metrics, then the assemblies the process loaded,
// among which none of this package's or TorchSharp's.
//
//   bash build/pack.sh        # once, in the repository: this folder's NuGet.config names its feed
//   cd docs/samples
//   dotnet run load-without-package.cs -- MODEL.zip DATA.csv
//
// DATA.csv: a header, then ImagePath,Label per image, as train-and-evaluate.cs reads them. Relative
//   paths are read from the folder the model was trained with.
// None of its packages comes from that feed; NuGet only needs the feed's folder to exist.
#:package Microsoft.ML@6.0.0
#:package Microsoft.ML.ImageAnalytics@6.0.0
#:package Microsoft.ML.OnnxTransformer@6.0.0
#:package Microsoft.ML.OnnxRuntime@1.32.0
// ML.NET and TorchSharp need the JIT: not the Native AOT that file-based apps publish with by default.
#:property PublishAot=false
// ONNX Runtime's and SkiaSharp's packages hold every platform's native libraries, hundreds of MB:
// linked into the build output rather than copied, where the disk allows.
#:property CreateHardLinksForCopyLocalIfPossible=true

using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: dotnet run load-without-package.cs -- MODEL.zip DATA.csv");
    return 2;
}

var ml = new MLContext();
// Disposed at the end: until then, ML.NET's OnnxTransformer keeps a copy of the network in the temporary folder.
using var model = (TransformerChain<ITransformer>)ml.Model.Load(args[0], out _);
IDataView data = ml.Data.LoadFromTextFile<ImageRow>(args[1], separatorChar: ',', hasHeader: true, allowQuoting: true);
IDataView scored = model.Transform(data);

// The Score column's slot names are the classes, in the order of its probabilities.
VBuffer<ReadOnlyMemory<char>> classes = default;
scored.Schema["Score"].GetSlotNames(ref classes);
Console.WriteLine($"ImagePath\tPredictedLabel\t{string.Join('\t', classes.DenseValues())}");
foreach (Prediction row in ml.Data.CreateEnumerable<Prediction>(scored, reuseRowObject: true))
{
    // Each probability in the shortest text that reads back as the same float.
    Console.WriteLine($"{row.ImagePath}\t{row.PredictedLabel}\t{string.Join('\t', row.Score.Select(p => p.ToString(CultureInfo.InvariantCulture)))}");
}

MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(scored);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
    micro-accuracy: {metrics.MicroAccuracy:F4}
    macro-accuracy: {metrics.MacroAccuracy:F4}
    log-loss: {metrics.LogLoss:F4}
    log-loss reduction: {metrics.LogLossReduction:F4}
    """));
Console.WriteLine($"loaded assemblies: {string.Join(", ", AppDomain.CurrentDomain.GetAssemblies().Select(assembly => assembly.GetName().Name).Order())}");
return 0;

/// <summary>A row of the CSV list.</summary>
public sealed class ImageRow
{
    /// <summary>The image file.</summary>
    [LoadColumn(0)]
    public string ImagePath { get; set; } = "";

    /// <summary>The class name.</summary>
    [LoadColumn(1)]
    public string Label { get; set; } = "";
}

/// <summary>What the model gives for a row, beside its path.</summary>
public sealed class Prediction
{
    /// <summary>The image file.</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The most probable class.</summary>
    public string PredictedLabel { get; set; } = "";

    /// <summary>Every class's probability, in the order of the Score column's slot names.</summary>
    public float[] Score { get; set; } = [];
}
