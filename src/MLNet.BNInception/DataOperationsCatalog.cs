using MLNet.BNInception.Data;

namespace MLNet.BNInception;

/// <summary>The two parts of a split.</summary>
/// <param name="TrainSet">Rows for training.</param>
/// <param name="TestSet">Rows held out.</param>
public sealed record TrainTestData(IDataView TrainSet, IDataView TestSet);

/// <summary>Loading, splitting and caching data (ML.NET's <c>DataOperationsCatalog</c>).</summary>
public sealed class DataOperationsCatalog
{
    private readonly MLContext _context;

    internal DataOperationsCatalog(MLContext context) => _context = context;

    /// <summary>
    /// A lazy view of a delimited text file whose columns are <typeparamref name="TRow"/>'s
    /// [LoadColumn] members. Defaults are ML.NET's: tab separator, no header, no quoting.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public IDataView LoadFromTextFile<TRow>(string path, char separatorChar = '\t', bool hasHeader = false, bool allowQuoting = false,
        bool trimWhitespace = false) =>
        new TextFileDataView(path, TextLoader.ColumnsOf<TRow>(), separatorChar, hasHeader, allowQuoting, trimWhitespace);

    /// <summary>A lazy view of a delimited text file with the given columns.</summary>
    public IDataView LoadFromTextFile(string path, TextLoader.Column[] columns, char separatorChar = '\t', bool hasHeader = false,
        bool allowQuoting = false, bool trimWhitespace = false) =>
        new TextFileDataView(path, columns, separatorChar, hasHeader, allowQuoting, trimWhitespace);

    /// <summary>A view over objects; each pass enumerates <paramref name="data"/> again.</summary>
    public IDataView LoadFromEnumerable<TRow>(IEnumerable<TRow> data)
        where TRow : class
    {
        ArgumentNullException.ThrowIfNull(data);
        return new EnumerableDataView<TRow>(data);
    }

    /// <summary>Reads a view into objects of <typeparamref name="TRow"/>, lazily; members map to columns by name.</summary>
    public IEnumerable<TRow> CreateEnumerable<TRow>(IDataView data, bool reuseRowObject, bool ignoreMissingColumns = false)
        where TRow : class, new()
    {
        ArgumentNullException.ThrowIfNull(data);
        return RowEnumerable.Create<TRow>(data, reuseRowObject, ignoreMissingColumns);
    }

    /// <summary>Caches <paramref name="input"/>'s columns on first use (see <see cref="EstimatorChain{T}.AppendCacheCheckpoint"/>).</summary>
    public IDataView Cache(IDataView input, string? spillDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new CacheDataView(input, spillDirectory);
    }

    /// <summary>
    /// Splits rows into a train and a test set, lazily and repeatably. Each row goes to the test set
    /// with probability <paramref name="testFraction"/>, decided by a hash of the seed and the row's
    /// position or, with <paramref name="samplingKeyColumnName"/>, of that column's value (so rows
    /// sharing a value stay together). With <paramref name="stratificationColumnName"/>, one pass over
    /// that column puts exactly round(fraction × n) rows of each of its values in the test set.
    /// </summary>
    /// <param name="data">The rows.</param>
    /// <param name="testFraction">The share held out, between 0 and 1 (ML.NET's default 0.1).</param>
    /// <param name="samplingKeyColumnName">Rows with equal values here go to the same side.</param>
    /// <param name="seed">The split's seed; the context's generator when null.</param>
    /// <param name="stratificationColumnName">Keep each value's share equal on both sides (usually the label).</param>
    public TrainTestData TrainTestSplit(IDataView data, double testFraction = 0.1, string? samplingKeyColumnName = null, int? seed = null,
        string? stratificationColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!(testFraction > 0 && testFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "the test fraction must be between 0 and 1, exclusive");
        }

        if (samplingKeyColumnName is not null && stratificationColumnName is not null)
        {
            throw new ArgumentException("choose a sampling key or a stratification column, not both", nameof(stratificationColumnName));
        }

        int splitSeed = seed ?? _context.NextSeed();
        return stratificationColumnName is not null
            ? DataSplitting.Stratified(data, testFraction, stratificationColumnName, splitSeed)
            : DataSplitting.Hashed(data, testFraction, samplingKeyColumnName, splitSeed);
    }
}
