using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// Turns an image path into the network's input exactly as the saved pipeline does: the safe image
/// loader in place of the saved <c>LoadImages</c> (same folder and columns, but a file that cannot be
/// loaded is reported with its reason instead of failing the job or turning into an empty image),
/// then the saved resizing and pixel extraction, ML.NET's own transformers run through a prediction
/// engine. A prediction engine serves one thread: each worker asks for its own <see cref="Worker"/>.
/// </summary>
internal sealed class ImagePreparer
{
    private readonly SavedModel _model;
    private readonly ITransformer _chain;
    private readonly SchemaDefinition _input;
    private readonly SchemaDefinition _output;

    public ImagePreparer(SavedModel model, string? imageFolder, string featureColumn, int featureLength, long maximumPixels)
    {
        _model = model;
        FeatureLength = featureLength;
        MLContext context = model.Context;
        _input = SchemaDefinition.Create(typeof(PathRow));
        _input[0].ColumnName = model.PathColumn;
        _output = SchemaDefinition.Create(typeof(FeatureRow));
        _output[0].ColumnName = featureColumn;
        IDataView paths = context.Data.LoadFromEnumerable(Array.Empty<PathRow>(), _input);
        ITransformer loader = context.Transforms.LoadImagesSafely(new SafeImageLoadingOptions
        {
            OutputColumnName = model.ImageColumn,
            InputColumnName = model.PathColumn,
            ImageFolder = imageFolder,
            MaximumPixels = maximumPixels,
        }).Fit(paths);
        _chain = new TransformerChain<ITransformer>([loader, .. model.Preprocessing]);
        DataViewSchema schema;
        try
        {
            schema = _chain.GetOutputSchema(paths.Schema);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            throw CommandLineException.InvalidModel(
                $"'{model.Path}': the steps between image loading and the network ({SavedModel.Describe(model.Preprocessing)}) need more than the image: {BnInceptionCommandLine.OneLine(e.Message)}", e);
        }

        DataViewSchema.Column? features = schema.GetColumnOrNull(featureColumn);
        if (features?.Type is not VectorDataViewType { ItemType: NumberDataViewType, Size: > 0 } vector || vector.ItemType != NumberDataViewType.Single || vector.Size != featureLength)
        {
            throw CommandLineException.InvalidModel(
                $"'{model.Path}': its image steps give '{featureColumn}' as {features?.Type.ToString() ?? "nothing"}, but the network reads {featureLength} Single values");
        }
    }

    /// <summary>The number of values one image becomes.</summary>
    public int FeatureLength { get; }

    /// <summary>A preparer for one thread.</summary>
    public Worker CreateWorker() => new(_model.Context.Model.CreatePredictionEngine<PathRow, FeatureRow>(_chain, ignoreMissingColumns: true, _input, _output), FeatureLength);

    /// <summary>Prepares images on one thread.</summary>
    internal sealed class Worker : IDisposable
    {
        private readonly PredictionEngine<PathRow, FeatureRow> _engine;
        private readonly PathRow _row = new();
        private FeatureRow _features = new();
        private readonly int _length;

        public Worker(PredictionEngine<PathRow, FeatureRow> engine, int length)
        {
            _engine = engine;
            _length = length;
        }

        /// <summary>Writes the input for the image at <paramref name="path"/> to <paramref name="destination"/>; returns null, or why the image cannot be used.</summary>
        public RowError? Prepare(string path, Span<float> destination)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                return RowError.InvalidImage(InvalidImageReason.EmptyPath, "the row has no image path");
            }

            _row.Path = path;
            try
            {
                _engine.Predict(_row, ref _features);
            }
            catch (InvalidImageException e)
            {
                return RowError.InvalidImage(e.Reason, e.Detail);
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
            {
                // An image the loader took but the model's steps cannot process must not stop the
                // job for ever: --resume would fail at the same row again.
                return RowError.Unprocessable($"the model's image steps failed on '{IO.FileNameBytes.Printable(path)}' ({e.GetType().Name}: {BnInceptionCommandLine.OneLine(e.Message)})");
            }

            if (_features.Features.Length != _length)
            {
                throw new InvalidOperationException($"The image steps gave {_features.Features.Length} values for '{IO.FileNameBytes.Printable(path)}', not {_length}.");
            }

            _features.Features.CopyTo(destination);
            return null;
        }

        public void Dispose() => _engine.Dispose();
    }

    /// <summary>The prediction engine's input: the path column, renamed to the model's.</summary>
    internal sealed class PathRow
    {
        public string Path { get; set; } = "";
    }

    /// <summary>The prediction engine's output: the feature column, renamed to the model's.</summary>
    internal sealed class FeatureRow
    {
        public float[] Features { get; set; } = [];
    }
}
