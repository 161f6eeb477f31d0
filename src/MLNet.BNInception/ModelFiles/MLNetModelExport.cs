using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.ModelFiles;

/// <summary>
/// How a fitted BN-Inception goes into an ML.NET model file through public API only. ML.NET keeps
/// the members of <see cref="ModelSaveContext"/> and its loader registry internal
/// (dotnet/machinelearning #4911, #6839), so a third-party transformer cannot write itself; instead
/// its <c>Save</c> writes an equivalent chain of ML.NET's own transformers, which any application
/// with Microsoft.ML, Microsoft.ML.OnnxTransformer and ONNX Runtime loads, without this package or
/// libtorch:
/// <list type="number">
/// <item>an <c>OnnxTransformer</c> running the network's ONNX export (BN folded, softmax at the end),
/// with the class names as slot names, giving the probabilities;</item>
/// <item>a K-means model whose K centroids are the one-hot class vectors, so that the nearest
/// centroid is the most probable class (for probabilities p, |p − e_j|² = |p|² − 2p_j + 1). It is
/// ML.NET's only public way to turn a vector into a scalar key column: ONNX outputs reach ML.NET
/// only as vectors;</item>
/// <item>a value mapping from K-means' cluster to the class's value and a key mapping with the
/// classes as key data, giving PredictedLabel the label's key type and key values (for a label
/// without key values, the class numbers become its key values), and a copy of the probabilities to
/// Score.</item>
/// </list>
/// The loaded chain gives the same Score (ONNX Runtime's float arithmetic, within 1e-4 of the scale),
/// the same PredictedLabel except where two classes' probabilities tie to the last bit, and works
/// with Evaluate and prediction engines. It scores one row at a time, as OnnxTransformer does.
/// </summary>
internal static class MLNetModelExport
{
    private const string Probabilities = "BnInception.Probabilities";
    private const string Cluster = "BnInception.Cluster";
    private const string ClassValue = "BnInception.Class";

    /// <summary>The columns the saved chain makes and drops: an input column of one of these names would be dropped with them.</summary>
    internal static readonly IReadOnlySet<string> OwnColumnNames = new HashSet<string>([Probabilities, Cluster, ClassValue], StringComparer.Ordinal);
    private static readonly MethodInfo PredictedLabelMethod = typeof(MLNetModelExport).GetMethod(nameof(PredictedLabel), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Writes, into <paramref name="ctx"/>, the chain of ML.NET transformers that computes what <paramref name="model"/> computes.</summary>
    public static void Save(BnInceptionPredictionTransformer model, ModelSaveContext ctx)
    {
        // OnnxTransformer copies a model given as a stream to a temporary file it never deletes, so
        // the export goes to a file of ours, removed once the chain has been written. It lives in a
        // folder named after this process, so that a process killed while saving leaves a folder
        // the next save or load of a model removes, not a file nothing would ever remove.
        string folder = TemporaryModelFolder.Create();
        string onnxPath = Path.Combine(folder, "network.onnx");
        try
        {
            try
            {
                OnnxExporter.Export(model.Model, onnxPath, new OnnxExportOptions
                {
                    InputName = model.FeatureColumnName,
                    ProbabilitiesName = Probabilities,
                    Outputs = OnnxOutputs.Probabilities,
                    ClassLabels = model.Label.ClassNames,
                    ForMLNetOnnxTransformer = true,
                    // The features column's images; the graph resizes them when they are larger than the network's input.
                    ImageSize = model.ImageSize,
                });
            }
            catch (OnnxNameTakenException error)
            {
                // The graph's input takes the features column's name, as OnnxTransformer needs it:
                // one of the graph's own constants' names (fc.weight, say) cannot be it.
                throw new InvalidOperationException(
                    $"The model cannot be saved with its features column named '{model.FeatureColumnName}': {error.Message} " +
                    "Give the features column another name in the pipeline (mlContext.Transforms.CopyColumns, say) and train again.", error);
            }

            using TransformerChain<ITransformer> chain = Build(model, onnxPath, folder);
            ((ICanSaveModel)chain).Save(ctx);
        }
        finally
        {
            TemporaryModelFolder.Delete(folder);
        }
    }

    private static TransformerChain<ITransformer> Build(BnInceptionPredictionTransformer model, string onnxPath, string temporaryFolder)
    {
        // Whatever ML.NET writes while the chain is built goes to the same folder, and goes with it.
        var ml = new MLContext(seed: 0) { TempFilePath = temporaryFolder };
        int classes = model.Label.Count;
        var featureSchema = new DataViewSchema.Builder();
        featureSchema.AddColumn(model.FeatureColumnName, model.FeatureType);
        IDataView schemaOnly = new SchemaOnlyDataView(featureSchema.ToSchema());
        ITransformer network = ml.Transforms.ApplyOnnxModel(Probabilities, model.FeatureColumnName, onnxPath).Fit(schemaOnly);
        IDataView afterNetwork = network.Transform(schemaOnly);
        (ITransformer argMax, uint[] clusterOfClass) = FitArgMax(ml, classes);
        IDataView afterArgMax = argMax.Transform(afterNetwork);

        // Score is the probabilities; PredictedLabel is K-means' cluster turned into the class's
        // value (a key value of the label, or its number when the label has none), then mapped to
        // a key with the classes' values, in class order, as the key data: the label's key type.
        Type valueType = model.Label.KeyValueType?.RawType == typeof(ReadOnlyMemory<char>) ? typeof(string) : model.Label.KeyValueType?.RawType ?? typeof(uint);
        IEstimator<ITransformer> tail = ml.Transforms.CopyColumns(PredictionColumns.Score, Probabilities)
            .Append(ml.Transforms.Conversion.ConvertType(Cluster, PredictionColumns.PredictedLabel, DataKind.UInt32))
            .Append((IEstimator<ITransformer>)PredictedLabelMethod.MakeGenericMethod(valueType).Invoke(null, [ml, model, clusterOfClass])!)
            .Append(ml.Transforms.DropColumns(Probabilities, Cluster, ClassValue));
        ITransformer fittedTail = tail.Fit(afterArgMax);
        return new TransformerChain<ITransformer>(network, argMax, fittedTail);
    }

    // K-means on the one-hot class vectors: k-means++ picks K distinct points (a point already
    // chosen is at distance 0, so never again), each its own cluster, and they are the centroids.
    // The vectors are sparse, one value each: k-means++ measures every point against every centre
    // chosen, K² distances, each over the point's values, so dense vectors made it K³ (27.6 s for
    // 1,000 classes against 4.2 s sparse, the same clusters; 2026-12-07).
    private static (ITransformer Model, uint[] ClusterOfClass) FitArgMax(MLContext ml, int classes)
    {
        var definition = SchemaDefinition.Create(typeof(OneHotRow));
        SchemaDefinition.Column values = definition[nameof(OneHotRow.Values)];
        values.ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes);
        values.ColumnName = Probabilities;
        OneHotRow[] rows = Enumerable.Range(0, classes).Select(j => new OneHotRow(classes, j)).ToArray();
        IDataView oneHot = ml.Data.LoadFromEnumerable(rows, definition);
        ITransformer kmeans = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
        {
            FeatureColumnName = Probabilities,
            NumberOfClusters = classes,
            InitializationAlgorithm = KMeansTrainer.InitializationAlgorithm.KMeansPlusPlus,
            NumberOfThreads = 1,
        }).Fit(oneHot);

        uint[] clusterOfClass = ml.Data.CreateEnumerable<ClusterRow>(kmeans.Transform(oneHot), reuseRowObject: false)
            .Select(row => row.PredictedLabel).ToArray();
        if (clusterOfClass.Length != classes || clusterOfClass.Distinct().Count() != classes || clusterOfClass.Any(c => c < 1 || c > classes))
        {
            throw new InvalidOperationException(
                $"K-means did not give each of the {classes} classes a cluster of its own ({string.Join(", ", clusterOfClass)}); the model cannot be saved this way.");
        }

        return (kmeans, clusterOfClass);
    }

    private static IEstimator<ITransformer> PredictedLabel<TValue>(MLContext ml, BnInceptionPredictionTransformer model, uint[] clusterOfClass)
    {
        TValue[] classValues = ClassValues<TValue>(model);
        KeyValuePair<uint, TValue>[] pairs = Enumerable.Range(0, clusterOfClass.Length).Select(j => new KeyValuePair<uint, TValue>(clusterOfClass[j], classValues[j])).ToArray();
        IDataView keyData = ml.Data.LoadFromEnumerable(classValues.Select(value => new ValueRow<TValue> { Value = value }));
        return ml.Transforms.Conversion.MapValue(ClassValue, pairs, Cluster)
            .Append(ml.Transforms.Conversion.MapValueToKey(PredictionColumns.PredictedLabel, ClassValue, keyData: keyData));
    }

    // The label's key values as TValue (text as string), or the class numbers 1..K without them.
    private static TValue[] ClassValues<TValue>(BnInceptionPredictionTransformer model)
    {
        if (model.Label.KeyValueType is null)
        {
            return Enumerable.Range(1, model.Label.Count).Select(i => (TValue)(object)(uint)i).ToArray();
        }

        if (typeof(TValue) == typeof(string))
        {
            return model.Label.ClassNames.Select(name => (TValue)(object)name).ToArray();
        }

        VBuffer<TValue> keyValues = default;
        model.Label.Annotations.GetValue("KeyValues", ref keyValues);
        return keyValues.DenseValues().ToArray();
    }

    private sealed class ValueRow<T>
    {
        public T Value { get; set; } = default!;
    }

    private sealed class OneHotRow
    {
        public OneHotRow()
        {
        }

        public OneHotRow(int classes, int hot) => Values = new VBuffer<float>(classes, 1, [1f], [hot]);

        public VBuffer<float> Values { get; set; }
    }

    private sealed class ClusterRow
    {
        public uint PredictedLabel { get; set; }
    }
}
