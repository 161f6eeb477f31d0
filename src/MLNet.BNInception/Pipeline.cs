using System.Collections;
using System.Text.Json.Nodes;
using MLNet.BNInception.Data;

namespace MLNet.BNInception;

/// <summary>A fitted pipeline step: maps a view to a view, lazily (ML.NET's <c>ITransformer</c>).</summary>
public interface ITransformer
{
    /// <summary>The schema <see cref="Transform"/> would produce for input of <paramref name="inputSchema"/>.</summary>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>A lazy view of <paramref name="input"/> with this step applied; reads nothing.</summary>
    IDataView Transform(IDataView input);
}

/// <summary>A pipeline step before training: learns from data and returns the fitted step (ML.NET's <c>IEstimator</c>).</summary>
public interface IEstimator<out TTransformer>
    where TTransformer : ITransformer
{
    /// <summary>Learns the step from <paramref name="input"/>.</summary>
    TTransformer Fit(IDataView input);
}

/// <summary>A step saved into model files: its kind and settings (and any binary parts, such as weights).</summary>
internal interface IPersistentTransformer : ITransformer
{
    /// <summary>The kind name written to the manifest.</summary>
    string Kind { get; }

    /// <summary>Writes the settings (returned) and any binary entries through <paramref name="context"/>.</summary>
    JsonObject Save(ModelSaveContext context);
}

/// <summary>A transformer made of transformers applied in order.</summary>
public sealed class TransformerChain<TLastTransformer> : ITransformer, IEnumerable<ITransformer>, IDisposable
    where TLastTransformer : class, ITransformer
{
    private readonly ITransformer[] _transformers;

    /// <summary>Chains <paramref name="transformers"/>; the last must be a <typeparamref name="TLastTransformer"/>.</summary>
    public TransformerChain(params ITransformer[] transformers)
    {
        ArgumentNullException.ThrowIfNull(transformers);
        _transformers = [.. transformers];
        LastTransformer = _transformers.Length == 0 ? null! : _transformers[^1] as TLastTransformer ??
            throw new ArgumentException($"the last transformer is {_transformers[^1].GetType().Name}, not {typeof(TLastTransformer).Name}", nameof(transformers));
    }

    /// <summary>The last step.</summary>
    public TLastTransformer LastTransformer { get; }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Transform(new EmptyDataView(inputSchema)).Schema;

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return _transformers.Aggregate(input, (data, transformer) => transformer.Transform(data));
    }

    /// <summary>This chain followed by <paramref name="transformer"/>.</summary>
    public TransformerChain<TNewLast> Append<TNewLast>(TNewLast transformer)
        where TNewLast : class, ITransformer => new([.. _transformers, transformer]);

    /// <inheritdoc/>
    public IEnumerator<ITransformer> GetEnumerator() => ((IEnumerable<ITransformer>)_transformers).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Releases the native weights of the steps that hold any.</summary>
    public void Dispose()
    {
        foreach (IDisposable disposable in _transformers.OfType<IDisposable>())
        {
            disposable.Dispose();
        }
    }
}

/// <summary>Estimators fitted in order, each on the output of the steps before it (ML.NET's <c>EstimatorChain</c>).</summary>
public sealed class EstimatorChain<TLastTransformer> : IEstimator<TransformerChain<TLastTransformer>>
    where TLastTransformer : class, ITransformer
{
    private readonly IEstimator<ITransformer>[] _estimators;
    private readonly CacheCheckpointRequest?[] _cacheAfter;

    /// <summary>An empty chain.</summary>
    public EstimatorChain()
        : this([], [])
    {
    }

    private EstimatorChain(IEstimator<ITransformer>[] estimators, CacheCheckpointRequest?[] cacheAfter)
    {
        _estimators = estimators;
        _cacheAfter = cacheAfter;
    }

    /// <summary>This chain followed by <paramref name="estimator"/>.</summary>
    public EstimatorChain<TNewLast> Append<TNewLast>(IEstimator<TNewLast> estimator)
        where TNewLast : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        return new EstimatorChain<TNewLast>([.. _estimators, estimator], [.. _cacheAfter, null]);
    }

    /// <summary>
    /// Caches the data as it leaves the last step, while later steps are fitted: multi-epoch training
    /// then decodes and resizes each image once. <paramref name="spillDirectory"/>, when given, keeps
    /// fixed-size pixel vectors in a temporary file there instead of memory.
    /// </summary>
    public EstimatorChain<TLastTransformer> AppendCacheCheckpoint(MLContext context, string? spillDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_estimators.Length == 0)
        {
            return this;
        }

        CacheCheckpointRequest?[] cache = [.. _cacheAfter];
        cache[^1] = new CacheCheckpointRequest(spillDirectory);
        return new EstimatorChain<TLastTransformer>(_estimators, cache);
    }

    /// <summary>Fits every step in order; caches are used during fitting and released after.</summary>
    public TransformerChain<TLastTransformer> Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var fitted = new List<ITransformer>();
        var caches = new List<CacheDataView>();
        try
        {
            IDataView current = input;
            for (int i = 0; i < _estimators.Length; i++)
            {
                ITransformer transformer = _estimators[i].Fit(current);
                fitted.Add(transformer);
                if (i < _estimators.Length - 1)
                {
                    current = transformer.Transform(current);
                    if (_cacheAfter[i] is { } request)
                    {
                        var cache = new CacheDataView(current, request.SpillDirectory);
                        caches.Add(cache);
                        current = cache;
                    }
                }
            }

            return new TransformerChain<TLastTransformer>([.. fitted]);
        }
        catch
        {
            foreach (IDisposable disposable in fitted.OfType<IDisposable>())
            {
                disposable.Dispose();
            }

            throw;
        }
        finally
        {
            foreach (CacheDataView cache in caches)
            {
                cache.Dispose();
            }
        }
    }
}

/// <summary>A cache checkpoint after a step of an <see cref="EstimatorChain{T}"/>.</summary>
internal sealed record CacheCheckpointRequest(string? SpillDirectory);

/// <summary>Chaining helpers for single estimators, as in ML.NET.</summary>
public static class EstimatorExtensions
{
    /// <summary>A chain of <paramref name="start"/> then <paramref name="estimator"/>.</summary>
    public static EstimatorChain<TNewLast> Append<TNewLast>(this IEstimator<ITransformer> start, IEstimator<TNewLast> estimator)
        where TNewLast : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        return start is EstimatorChain<ITransformer> chain ? chain.Append(estimator)
            : new EstimatorChain<ITransformer>().Append(start).Append(estimator);
    }

    /// <summary>A chain of <paramref name="start"/> whose output is cached while later steps are fitted.</summary>
    public static EstimatorChain<TTransformer> AppendCacheCheckpoint<TTransformer>(this IEstimator<TTransformer> start, MLContext context, string? spillDirectory = null)
        where TTransformer : class, ITransformer
    {
        ArgumentNullException.ThrowIfNull(start);
        EstimatorChain<TTransformer> chain = start as EstimatorChain<TTransformer> ?? new EstimatorChain<ITransformer>().Append(start);
        return chain.AppendCacheCheckpoint(context, spillDirectory);
    }
}

/// <summary>A view with a schema and no rows, for computing output schemas.</summary>
internal sealed class EmptyDataView(DataViewSchema schema) : IDataView
{
    public DataViewSchema Schema => schema;

    public bool CanShuffle => false;

    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(schema);

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override DataViewSchema Schema => schema;

        public override long Position => -1;

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override bool MoveNext() => false;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            (ref TValue value) => throw new InvalidOperationException("an empty view has no rows");
    }
}
