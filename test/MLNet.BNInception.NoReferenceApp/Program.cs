using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

// usage: NoReferenceApp MODEL.zip DATA.csv OUTPUT.json
// Loads an ML.NET model file, scores a CSV with the columns ImagePath and Label through it, and
// writes every row's Score and PredictedLabel, ML.NET's metrics, and the scoring rate as JSON.
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: NoReferenceApp MODEL.zip DATA.csv OUTPUT.json");
    return 2;
}

var ml = new MLContext(seed: 1);
// Disposed at the end: the loaded OnnxTransformer keeps a copy of the network in the temporary folder until then.
using var model = (TransformerChain<ITransformer>)ml.Model.Load(args[0], out DataViewSchema inputSchema);
IDataView data = ml.Data.LoadFromTextFile<Row>(args[1], separatorChar: ',', hasHeader: true, allowQuoting: true);
IDataView scored = model.Transform(data);

var clock = Stopwatch.StartNew();
float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
double seconds = clock.Elapsed.TotalSeconds;
DataViewSchema.Column predicted = scored.Schema["PredictedLabel"];
string[] labels = predicted.Type is KeyDataViewType
    ? KeyNames(scored, predicted)
    : scored.GetColumn<string>(predicted).ToArray();
MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(scored, topKPredictionCount: 3);

var engine = ml.Model.CreatePredictionEngine<Row, EngineOutput>(model, inputSchemaDefinition: null);
Row first = ml.Data.CreateEnumerable<Row>(data, reuseRowObject: false).First();
EngineOutput single = engine.Predict(first);

string json = JsonSerializer.Serialize(new
{
    transformers = model is IEnumerable<ITransformer> chain ? Describe(chain) : [model.GetType().Name],
    assemblies = AppDomain.CurrentDomain.GetAssemblies().Select(assembly => assembly.GetName().Name).Order().ToArray(),
    predictedLabelType = predicted.Type.ToString(),
    scores,
    labels,
    engineScore = single.Score,
    metrics = new { metrics.MicroAccuracy, metrics.MacroAccuracy, metrics.LogLoss, metrics.TopKAccuracy },
    rowsPerSecond = scores.Length / seconds,
});
File.WriteAllText(args[2], json);
return 0;

static string[] KeyNames(IDataView scored, DataViewSchema.Column column)
{
    VBuffer<ReadOnlyMemory<char>> names = default;
    column.GetKeyValues(ref names);
    ReadOnlyMemory<char>[] values = names.DenseValues().ToArray();
    return scored.GetColumn<uint>(column).Select(key => key == 0 ? "" : values[key - 1].ToString()).ToArray();
}

static string[] Describe(IEnumerable<ITransformer> chain) =>
    chain.SelectMany(transformer => transformer is IEnumerable<ITransformer> inner ? Describe(inner).Select(name => "  " + name) : [transformer.GetType().Name]).ToArray();

/// <summary>A row of the CSV.</summary>
public sealed class Row
{
    /// <summary>The image file.</summary>
    [LoadColumn(0)]
    public string ImagePath { get; set; } = "";

    /// <summary>The class name.</summary>
    [LoadColumn(1)]
    public string Label { get; set; } = "";
}

/// <summary>What the prediction engine gives.</summary>
public sealed class EngineOutput
{
    /// <summary>The probabilities.</summary>
    public float[] Score { get; set; } = [];
}
