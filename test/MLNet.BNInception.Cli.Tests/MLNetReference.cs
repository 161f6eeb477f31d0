using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// What ML.NET itself makes of a model file the tool wrote: <c>Model.Load</c> and <c>Transform</c>,
/// the saved chain scoring one row at a time through its OnnxTransformer. The independent reference
/// for the tool's batched scoring.
/// </summary>
internal static class MLNetReference
{
    public sealed record Prediction(string ImagePath, string PredictedLabel, float[] Score, float[] Features);

    /// <summary>The loaded model's predictions for a CSV file of ImagePath,Label rows.</summary>
    public static Prediction[] Predict(string modelPath, string csvPath)
    {
        var ml = new MLContext(seed: 0);
        using var model = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, modelPath, out _);
        IDataView rows = ml.Data.LoadFromTextFile(csvPath,
            [new TextLoader.Column("ImagePath", DataKind.String, 0), new TextLoader.Column("Label", DataKind.String, 1)],
            separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView scored = model.Transform(rows);
        string[] paths = scored.GetColumn<ReadOnlyMemory<char>>("ImagePath").Select(p => p.ToString()).ToArray();
        string[] labels = scored.GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(p => p.ToString()).ToArray();
        float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
        float[][] features = scored.GetColumn<float[]>("Features").ToArray();
        return paths.Select((path, i) => new Prediction(path, labels[i], scores[i], features[i])).ToArray();
    }

    /// <summary>The class names of the model's Score slots, in order.</summary>
    public static string[] ClassNames(string modelPath)
    {
        var ml = new MLContext(seed: 0);
        using var model = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, modelPath, out DataViewSchema input);
        DataViewSchema.Column score = model.GetOutputSchema(input)["Score"];
        VBuffer<ReadOnlyMemory<char>> names = default;
        score.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }
}
