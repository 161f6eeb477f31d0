using Microsoft.ML;

namespace MLNet.BNInception.Images;

/// <summary>
/// The lazy output of <see cref="SafeImageLoadingTransformer.Transform"/>: the input's columns and the image
/// column. Under <see cref="InvalidImagePolicy.Skip"/> its cursors leave out the rows whose image cannot be
/// loaded, the same rows for every cursor (see <see cref="RowVerdictCache"/>), so it cannot know its row count.
/// </summary>
internal sealed class SafeImageDataView : IDataView
{
    private readonly IDataView _source;

    public SafeImageDataView(SafeImageLoadingTransformer transformer, IDataView source)
    {
        Transformer = transformer;
        _source = source;
        PathColumn = transformer.FindPathColumn(source.Schema);
        Schema = transformer.GetOutputSchema(source.Schema);
        Reporter = new ImageLoadingReporter(transformer.Options);
    }

    public SafeImageLoadingTransformer Transformer { get; }

    public DataViewSchema Schema { get; }

    public DataViewSchema InputSchema => _source.Schema;

    public DataViewSchema.Column PathColumn { get; }

    /// <summary>The index of the image column: the last, after every input column.</summary>
    public int ImageColumnIndex => InputSchema.Count;

    public bool Skips => Transformer.OnInvalidImage == InvalidImagePolicy.Skip;

    public RowVerdictCache Verdicts { get; } = new();

    public ImageLoadingReporter Reporter { get; }

    public bool CanShuffle => _source.CanShuffle;

    public long? GetRowCount() => Skips ? null : _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        (DataViewSchema.Column[] sourceColumns, bool imageActive) = SourceColumns(columnsNeeded);
        DataViewRowCursor source = _source.GetRowCursor(sourceColumns, rand);
        return new SafeImageCursor(this, source, imageActive, Skips ? new ImageLoadingPass(Reporter, 1) : null);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        (DataViewSchema.Column[] sourceColumns, bool imageActive) = SourceColumns(columnsNeeded);
        DataViewRowCursor[] sources = _source.GetRowCursorSet(sourceColumns, n, rand);
        ImageLoadingPass? pass = Skips ? new ImageLoadingPass(Reporter, sources.Length) : null;
        return [.. sources.Select(source => new SafeImageCursor(this, source, imageActive, pass))];
    }

    /// <summary>
    /// The input columns a cursor needs: those asked for, plus the path column when the image is asked for or
    /// when rows may be skipped (the filter reads the path whatever the cursor asked for).
    /// </summary>
    private (DataViewSchema.Column[] Columns, bool ImageActive) SourceColumns(IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        var indices = new SortedSet<int>();
        bool imageActive = false;
        foreach (DataViewSchema.Column column in columnsNeeded)
        {
            if (column.Index < 0 || column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
            {
                throw new ArgumentException(
                    $"Column '{column.Name}' (index {column.Index}) is not a column of this data view; ask for columns of its Schema.",
                    nameof(columnsNeeded));
            }

            if (column.Index == ImageColumnIndex)
            {
                imageActive = true;
            }
            else
            {
                indices.Add(column.Index);
            }
        }

        if (imageActive || Skips)
        {
            indices.Add(PathColumn.Index);
        }

        return ([.. indices.Select(index => InputSchema[index])], imageActive);
    }
}
