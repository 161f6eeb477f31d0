namespace MLNet.BNInception.Data;

/// <summary>A column a one-to-one transform adds: its type and how to compute it from the input row.</summary>
/// <param name="Name">The output column's name; an input column of the same name is hidden.</param>
/// <param name="Type">Its type.</param>
/// <param name="KeyValues">Key values for a key column, else null.</param>
/// <param name="Inputs">The input columns the getter reads.</param>
/// <param name="CreateGetter">Given the input row (with <paramref name="Inputs"/> active), a <see cref="ValueGetter{TValue}"/> of the column's raw type.</param>
internal sealed record AddedColumn(string Name, DataViewType Type, IReadOnlyList<string>? KeyValues, IReadOnlyList<string> Inputs,
    Func<DataViewRow, Delegate> CreateGetter);

/// <summary>
/// The lazy view behind every one-to-one transform: the input's columns plus added ones, computed
/// row by row only for the columns a cursor asks for.
/// </summary>
internal sealed class MappedDataView : IDataView
{
    private readonly IDataView _source;
    private readonly Dictionary<string, AddedColumn> _added;

    public MappedDataView(IDataView source, IReadOnlyList<AddedColumn> added)
    {
        _source = source;
        _added = added.ToDictionary(column => column.Name, StringComparer.Ordinal);
        foreach (AddedColumn column in added)
        {
            foreach (string input in column.Inputs)
            {
                _ = source.Schema[input];
            }
        }

        Schema = source.Schema.With([.. added.Select(column => (column.Name, column.Type, column.KeyValues))]);
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(column => column.Name).ToHashSet(StringComparer.Ordinal);
        var sourceNeeded = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in needed)
        {
            if (_added.TryGetValue(name, out AddedColumn? added))
            {
                sourceNeeded.UnionWith(added.Inputs);
            }
            else
            {
                sourceNeeded.Add(name);
            }
        }

        DataViewRowCursor sourceCursor = _source.GetRowCursor(sourceNeeded.Select(name => _source.Schema[name]));
        return new Cursor(this, sourceCursor, needed);
    }

    private sealed class Cursor(MappedDataView view, DataViewRowCursor source, HashSet<string> active) : DataViewRowCursor
    {
        private readonly Dictionary<string, Delegate> _getters = new(StringComparer.Ordinal);

        public override DataViewSchema Schema => view.Schema;

        public override long Position => source.Position;

        public override bool MoveNext() => source.MoveNext();

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Name);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            RowValues.CheckGetter<TValue>(this, column);
            if (!view._added.TryGetValue(column.Name, out AddedColumn? added))
            {
                return source.GetGetter<TValue>(source.Schema[column.Name]);
            }

            if (!_getters.TryGetValue(column.Name, out Delegate? getter))
            {
                getter = added.CreateGetter(source);
                _getters[column.Name] = getter;
            }

            return (ValueGetter<TValue>)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                source.Dispose();
            }
        }
    }
}
