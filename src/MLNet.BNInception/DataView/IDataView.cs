namespace MLNet.BNInception.Data;

/// <summary>Reads a column value of the current row into <paramref name="value"/>.</summary>
public delegate void ValueGetter<TValue>(ref TValue value);

/// <summary>
/// A lazy, schema-typed table, as ML.NET's <c>IDataView</c>: nothing is read until a cursor moves,
/// and transforms compose views without materialising data.
/// </summary>
public interface IDataView
{
    /// <summary>The columns.</summary>
    DataViewSchema Schema { get; }

    /// <summary>False: cursors always read rows in order (training shuffles inside the trainer).</summary>
    bool CanShuffle { get; }

    /// <summary>The number of rows when known without reading them, else null.</summary>
    long? GetRowCount();

    /// <summary>
    /// A cursor over the rows that computes only <paramref name="columnsNeeded"/> (and what they
    /// depend on). <paramref name="rand"/> is accepted for ML.NET's shape and ignored.
    /// </summary>
    DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null);
}

/// <summary>A row: typed getters over its active columns.</summary>
public abstract class DataViewRow : IDisposable
{
    /// <summary>The columns.</summary>
    public abstract DataViewSchema Schema { get; }

    /// <summary>The row's index in the view, from 0; −1 before the first row.</summary>
    public abstract long Position { get; }

    /// <summary>True when <paramref name="column"/> can be read on this row.</summary>
    public abstract bool IsColumnActive(DataViewSchema.Column column);

    /// <summary>A getter for <paramref name="column"/>, whose raw type must be <typeparamref name="TValue"/>.</summary>
    public abstract ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column);

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases files and upstream cursors.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}

/// <summary>A forward-only cursor over the rows of a view.</summary>
public abstract class DataViewRowCursor : DataViewRow
{
    /// <summary>Moves to the next row; false after the last.</summary>
    public abstract bool MoveNext();
}
