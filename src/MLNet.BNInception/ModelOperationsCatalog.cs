using MLNet.BNInception.Data;
using MLNet.BNInception.Onnx;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Transforms.Image;

namespace MLNet.BNInception;

/// <summary>Model files, prediction engines and ONNX export (ML.NET's <c>ModelOperationsCatalog</c>).</summary>
public sealed class ModelOperationsCatalog
{
    private readonly MLContext _context;

    internal ModelOperationsCatalog(MLContext context) => _context = context;

    /// <summary>
    /// Writes <paramref name="model"/> as one zip: <c>manifest.json</c> (format version, every step with
    /// its settings, the input schema, class labels, input size) and the weights in PyTorch's format.
    /// The file is written beside <paramref name="filePath"/> and renamed into place, so a crash never
    /// leaves a half-written model under that name.
    /// </summary>
    public void Save(ITransformer model, DataViewSchema? inputSchema, string filePath)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        string fullPath = Path.GetFullPath(filePath);
        string temporary = Path.Combine(Path.GetDirectoryName(fullPath)!, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                Save(model, inputSchema, stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="stream"/> (see <see cref="Save(ITransformer, DataViewSchema?, string)"/>).</summary>
    public void Save(ITransformer model, DataViewSchema? inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        ModelFormat.Save(model, inputSchema, stream);
    }

    /// <summary>Reads a model file; the result scores exactly as the saved model did.</summary>
    /// <exception cref="InvalidDataException">Not a model file, another format version, or a damaged file; the message says which.</exception>
    public ITransformer Load(string filePath, out DataViewSchema? inputSchema)
    {
        ArgumentException.ThrowIfNullOrEmpty(filePath);
        using FileStream stream = File.OpenRead(filePath);
        return ModelFormat.Load(stream, $"'{filePath}'", _context, out inputSchema);
    }

    /// <summary>Reads a model from a stream.</summary>
    public ITransformer Load(Stream stream, out DataViewSchema? inputSchema)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return ModelFormat.Load(stream, "the model stream", _context, out inputSchema);
    }

    /// <summary>A single-row scorer over <paramref name="transformer"/>; not thread-safe, like ML.NET's.</summary>
    public PredictionEngine<TSrc, TDst> CreatePredictionEngine<TSrc, TDst>(ITransformer transformer)
        where TSrc : class
        where TDst : class, new()
    {
        ArgumentNullException.ThrowIfNull(transformer);
        return new PredictionEngine<TSrc, TDst>(_context, transformer);
    }

    /// <summary>
    /// Exports the model's BN-Inception step as ONNX (opset 13, BN folded, logits and probabilities,
    /// class labels and the expected input normalisation in the metadata). The ONNX input is the
    /// trainer's pixel vector as N × C × S × S float32, prepared as the pipeline's ExtractPixels does.
    /// </summary>
    /// <param name="model">A fitted pipeline ending in (or containing) a BN-Inception step.</param>
    /// <param name="inputData">Data of the pipeline's input schema; only its schema is read, to check the pipeline applies.</param>
    /// <param name="stream">Where the ONNX file goes.</param>
    public void ConvertToOnnx(ITransformer model, IDataView inputData, Stream stream) => ConvertToOnnx(model, inputData, stream, new OnnxExportOptions());

    /// <summary>Exports as ONNX with explicit options (opset, folding, outputs, normalisation in the graph).</summary>
    public void ConvertToOnnx(ITransformer model, IDataView inputData, Stream stream, OnnxExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputData);
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(options);
        ITransformer[] steps = model is IEnumerable<ITransformer> chain ? [.. chain] : [model];
        BnInceptionPredictionTransformer network = steps.OfType<BnInceptionPredictionTransformer>().LastOrDefault() ??
            throw new ArgumentException("the model has no BN-Inception step to export", nameof(model));
        _ = model.GetOutputSchema(inputData.Schema);
        ImagePixelExtractingTransformer? pixels = steps.OfType<ImagePixelExtractingTransformer>().LastOrDefault(step => step.OutputColumnName == network.FeatureColumnName);
        OnnxExporter.Export(network.Model, stream, options with
        {
            ClassLabels = options.ClassLabels ?? network.ClassNames,
            Normalization = options.Normalization ?? pixels?.RawPixelNormalization(),
        });
    }
}

/// <summary>Scores one row at a time (ML.NET's <c>PredictionEngine</c>): convenient, not fast; not thread-safe.</summary>
public sealed class PredictionEngine<TSrc, TDst>
    where TSrc : class
    where TDst : class, new()
{
    private readonly MLContext _context;
    private readonly ITransformer _transformer;
    private readonly TSrc[] _row = new TSrc[1];

    internal PredictionEngine(MLContext context, ITransformer transformer)
    {
        _context = context;
        _transformer = transformer;
        DataViewSchema output = transformer.GetOutputSchema(context.Data.LoadFromEnumerable(Array.Empty<TSrc>()).Schema);
        OutputSchema = output;
        _ = context.Data.CreateEnumerable<TDst>(new EmptyDataView(output), reuseRowObject: false, ignoreMissingColumns: true).Any();
    }

    /// <summary>The columns the model produces for a <typeparamref name="TSrc"/> row.</summary>
    public DataViewSchema OutputSchema { get; }

    /// <summary>Scores <paramref name="example"/>.</summary>
    public TDst Predict(TSrc example)
    {
        ArgumentNullException.ThrowIfNull(example);
        _row[0] = example;
        IDataView scored = _transformer.Transform(_context.Data.LoadFromEnumerable(_row));
        return _context.Data.CreateEnumerable<TDst>(scored, reuseRowObject: false, ignoreMissingColumns: true).Single();
    }
}
