using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Trainers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Scoring;

/// <summary>
/// A trained BN-Inception in an ML.NET pipeline: adds the columns ML.NET's multiclass trainers add,
/// <c>Score</c> (one Single per class, softmax probabilities, the class names as slot names) and
/// <c>PredictedLabel</c> (the label's key type, with its key values), so that
/// <c>MulticlassClassification.Evaluate</c>, <c>MapKeyToValue</c>, <c>CrossValidate</c> and prediction
/// engines work unchanged. <see cref="Transform"/> is lazy and scores in batches (BN folded,
/// channels-last); a prediction engine scores one row at a time. <c>mlContext.Model.Save</c> writes
/// the model as ML.NET's own transformers (see <see cref="Save"/>). Dispose it to free the network.
/// A row whose features hold NaN or an infinity gets NaN scores and a missing <c>PredictedLabel</c>
/// (key 0), as ML.NET's own predictors give it (training refuses such a row, naming it).
/// </summary>
public sealed class BnInceptionPredictionTransformer : ITransformer, IDisposable
{
    private readonly BnInceptionScorer _scorer;

    // Calls in progress (scoring, saving, exporting) and the disposal: a model disposed while threads
    // use it (a prediction engine made with the default OwnsTransformer, disposed beside others that
    // share the model) frees its network only when the last call in progress has left it. Freed under
    // a call, libtorch read freed tensors: "Tensor invalid" errors, and a crash.
    private readonly CallsInProgress _calls;

    internal BnInceptionPredictionTransformer(TrainingResult result, DataViewSchema.Column featureColumn, ImageFeatureLayout layout, LabelKey label,
        ScorerOptions scoring, long? trainingRows = null)
    {
        TrainingRows = trainingRows;
        Model = result.Model;
        History = result.History;
        BestEpoch = result.BestEpoch;
        FeatureColumnName = featureColumn.Name;
        FeatureType = featureColumn.Type;
        Layout = layout;
        Label = label;
        ScoringBatchSize = scoring.BatchSize;
        _scorer = new BnInceptionScorer(Model, scoring);
        _calls = new CallsInProgress(FreeNetwork, DisposedError);
    }

    /// <summary>The trained network (the engine's module); the transformer owns it.</summary>
    public BnInception Model { get; }

    /// <summary>Training and validation loss and accuracy per epoch.</summary>
    public IReadOnlyList<EpochMetrics> History { get; }

    /// <summary>
    /// The rows it was trained on, after any validation hold-out and the rows a safe loader skipped; null for a
    /// model read from a file. For the tool's summary.
    /// </summary>
    internal long? TrainingRows { get; }

    /// <summary>The epoch whose weights the model holds (the best on validation, when validated), counting from 1.</summary>
    public int BestEpoch { get; }

    /// <summary>The features column it reads.</summary>
    public string FeatureColumnName { get; }

    /// <summary>The class names by class index (the label's key values as text), as Score's slot names.</summary>
    public IReadOnlyList<string> ClassNames => Label.ClassNames;

    /// <summary>The side of the square images it takes (the trainer's ImageSize).</summary>
    public int ImageSize => Layout.Side;

    /// <summary>The side of the network's input; images of <see cref="ImageSize"/> larger than it are resized whole to it when scored.</summary>
    public int InputSize => Model.Options.InputSize;

    /// <summary>1 (grayscale) or 3 (colour).</summary>
    public int ImageChannels => Layout.Channels;

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    internal DataViewType FeatureType { get; }

    internal ImageFeatureLayout Layout { get; }

    internal LabelKey Label { get; }

    internal int ScoringBatchSize { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException">The features column is missing or of another type; the message says which.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        DataViewSchema.Column features = inputSchema.GetColumnOrNull(FeatureColumnName) ?? throw new ArgumentOutOfRangeException(nameof(inputSchema),
            $"The input has no column {FeatureColumnName}: the model reads its images from there ({Layout.Channels}×{Layout.Side}×{Layout.Side} Single values).");
        if (features.Type is not VectorDataViewType { ItemType: NumberDataViewType } vector || vector.ItemType != NumberDataViewType.Single || vector.Size != Layout.Size)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"{FeatureColumnName} is {features.Type}: the model was trained on {FeatureType}, {Layout.Channels}×{Layout.Side}×{Layout.Side} pixels.");
        }

        // The right number of values can still be another layout: ExtractPixels' interleaved pixels
        // (height × width × channels) would be scored as scrambled images. The trainer's check, again.
        try
        {
            ImageFeatureLayout.Of(features, Layout.Side);
        }
        catch (ArgumentOutOfRangeException error)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{error.Message} (The model was trained on {FeatureType}.)");
        }

        return PredictionColumns.Append(inputSchema, Label);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ThrowIfDisposed();
        return new ScoringRowMapper(inputSchema, this);
    }

    /// <summary>Adds Score and PredictedLabel, computed lazily in batches as the rows are read.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ThrowIfDisposed();
        return new ScoredDataView(input, this);
    }

    /// <summary>
    /// Writes the model into an ML.NET model file as ML.NET's own transformers: an
    /// <c>OnnxTransformer</c> running the network's ONNX export, and the standard transforms that
    /// turn its probabilities into Score and PredictedLabel (MLNet.BNInception's docs/walkthrough.md
    /// says how). <c>mlContext.Model.Load</c> then gives that chain back, in any application with
    /// Microsoft.ML, Microsoft.ML.OnnxTransformer and ONNX Runtime, scoring as this transformer does
    /// (within float rounding), one row at a time. To train further, keep the weights too
    /// (<see cref="SaveWeights"/>).
    /// </summary>
    public void Save(ModelSaveContext ctx) => WhileInUse(() => MLNetModelExport.Save(this, ctx));

    /// <summary>Saves the network's weights in PyTorch's format, to train further from (the trainer's <c>InitialWeightsPath</c>) or to load in Python.</summary>
    public void SaveWeights(string path) => WhileInUse(() => PyTorchStateDict.Save(Model.state_dict(), path));

    /// <summary>
    /// Exports the network to ONNX (BN folded, dynamic batch), with the class names in the file's
    /// metadata and an input of <see cref="ImageSize"/> (resized in the graph to the network's side)
    /// unless the options say otherwise.
    /// </summary>
    public void ExportOnnx(string path, OnnxExportOptions? options = null) =>
        WhileInUse(() => OnnxExporter.Export(Model, path, options ?? new OnnxExportOptions { ClassLabels = ClassNames, ImageSize = ImageSize }));

    /// <summary>
    /// Writes <see cref="History"/> as training curves: a PNG of loss and accuracy per epoch, and a CSV
    /// of the same name beside it (see <see cref="TrainingCurves"/>).
    /// </summary>
    public void SaveTrainingCurves(string pngPath) => TrainingCurves.Save(pngPath, History, BestEpoch);

    /// <summary>Frees the network, once the calls under way on other threads have ended.</summary>
    public void Dispose() => _calls.Dispose();

    private void FreeNetwork()
    {
        _scorer.Dispose();
        Model.Dispose();
    }

    /// <summary>
    /// Throws when <paramref name="length"/>, the values a row's features vector holds, is not the
    /// model's image size: ML.NET does not check a vector against its declared size (an array given to
    /// LoadFromEnumerable, a custom data view), and a short row would be scored with the rest of an
    /// earlier row's pixels.
    /// </summary>
    /// <param name="length">The values the row's vector holds.</param>
    /// <param name="row">The row's position in the scored view, 0-based.</param>
    internal void CheckFeatureLength(int length, long? row)
    {
        if (length != Layout.Size)
        {
            throw new InvalidDataException(
                $"{(row is null ? "The row" : $"Row {row} (0-based)")} has {length} values in {FeatureColumnName}, not the {Layout.Size} of its type ({Layout.Channels}×{Layout.Side}×{Layout.Side}): " +
                "each row must hold one whole image.");
        }
    }

    private void ThrowIfDisposed() => _calls.ThrowIfDisposed();

    // ML.NET's prediction engines own the transformer they are made from unless told otherwise
    // (PredictionEngineOptions.OwnsTransformer, true by default), and dispose it with themselves.
    private static ObjectDisposedException DisposedError() => new(nameof(BnInceptionPredictionTransformer),
        "The BN-Inception model has been disposed. A prediction engine disposes the model it was made from when it is disposed, " +
        "unless it was made with new PredictionEngineOptions { OwnsTransformer = false } (ML.NET's default is true): make it so to keep using the model.");

    /// <summary>
    /// Writes the softmax probabilities of the first <paramref name="count"/> images laid out one after the other in
    /// <paramref name="pixels"/> to the start of <paramref name="probabilities"/>, <paramref name="count"/> × classes values.
    /// The caller keeps the array from batch to batch: the network's output is copied once, into it.
    /// </summary>
    internal void Probabilities(float[] pixels, int count, float[] probabilities) => WhileInUse(() => Score(pixels, count, probabilities));

    // Runs a call that reads the network, which a Dispose meanwhile leaves to it to free.
    private void WhileInUse(Action call) => _calls.Run(call);

    private void Score(float[] pixels, int count, float[] probabilities)
    {
        using DisposeScope scope = NewDisposeScope();
        int size = Layout.Size;
        Tensor images = tensor(count * size == pixels.Length ? pixels : pixels[..(count * size)], [count, Layout.Channels, Layout.Side, Layout.Side]);
        Tensor result = _scorer.Probabilities(images);

        // TorchSharp's CopyTo stops quietly where the array ends: a short array would leave rows unscored.
        if (result.numel() > probabilities.Length)
        {
            throw new ArgumentException($"{count} images have {result.numel()} probabilities; the array holds {probabilities.Length}.", nameof(probabilities));
        }

        result.data<float>().CopyTo(probabilities, 0);
    }
}
