using MLNet.BNInception.Data;

namespace MLNet.BNInception;

/// <summary>How important a log message is.</summary>
public enum ChannelMessageKind
{
    /// <summary>Detail for debugging.</summary>
    Trace,

    /// <summary>Progress and results.</summary>
    Info,

    /// <summary>Something the user should look at.</summary>
    Warning,

    /// <summary>A failure.</summary>
    Error,
}

/// <summary>A message of the context's log.</summary>
/// <param name="Message">The text, with its source as prefix.</param>
/// <param name="Kind">How important it is.</param>
/// <param name="Source">The component that wrote it.</param>
public sealed record LoggingEventArgs(string Message, ChannelMessageKind Kind, string Source);

/// <summary>
/// The starting point of every pipeline, as ML.NET's <c>MLContext</c>: catalogs of data
/// operations, transforms, the BN-Inception trainer and evaluation, model files, a seed, a log,
/// and cancellation.
/// </summary>
public sealed class MLContext
{
    private readonly Lock _randomLock = new();
    private readonly Random _random;
    private CancellationTokenSource _cancellation = new();

    /// <summary>Creates a context; with a seed, splits and training are repeatable.</summary>
    public MLContext(int? seed = null)
    {
        Seed = seed;
        _random = seed is { } value ? new Random(value) : new Random();
        Data = new DataOperationsCatalog(this);
        Transforms = new TransformsCatalog(this);
        MulticlassClassification = new MulticlassClassificationCatalog(this);
        Model = new ModelOperationsCatalog(this);
    }

    /// <summary>The seed given at construction, or null.</summary>
    public int? Seed { get; }

    /// <summary>Loading, splitting, caching and inspecting data.</summary>
    public DataOperationsCatalog Data { get; }

    /// <summary>Data transforms: key mapping, image loading and preparation.</summary>
    public TransformsCatalog Transforms { get; }

    /// <summary>The BN-Inception trainer and multiclass evaluation.</summary>
    public MulticlassClassificationCatalog MulticlassClassification { get; }

    /// <summary>Saving and loading models, prediction engines, ONNX export.</summary>
    public ModelOperationsCatalog Model { get; }

    /// <summary>Progress, warnings and results from every component.</summary>
    public event EventHandler<LoggingEventArgs>? Log;

    /// <summary>Stops running training within one batch; it ends with <see cref="OperationCanceledException"/>.</summary>
    public void CancelExecution() => _cancellation.Cancel();

    /// <summary>The token that <see cref="CancelExecution"/> cancels; a cancelled context gets a fresh one for the next run.</summary>
    internal CancellationToken StartOperation()
    {
        if (_cancellation.IsCancellationRequested)
        {
            _cancellation = new CancellationTokenSource();
        }

        return _cancellation.Token;
    }

    internal CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The next seed drawn from the context's generator (for components given no seed).</summary>
    internal int NextSeed()
    {
        lock (_randomLock)
        {
            return _random.Next();
        }
    }

    internal void WriteLog(string source, ChannelMessageKind kind, string message) =>
        Log?.Invoke(this, new LoggingEventArgs($"[Source={source}, Kind={kind}] {message}", kind, source));
}
