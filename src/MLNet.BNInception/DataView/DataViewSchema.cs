using System.Collections;

namespace MLNet.BNInception.Data;

/// <summary>The columns of a data view: names, types, and for key columns the key values.</summary>
public sealed class DataViewSchema : IReadOnlyList<DataViewSchema.Column>
{
    private readonly Column[] _columns;
    private readonly Dictionary<string, int> _byName;

    /// <summary>Creates a schema; a later column of the same name replaces (hides) an earlier one.</summary>
    public DataViewSchema(IEnumerable<(string Name, DataViewType Type, IReadOnlyList<string>? KeyValues)> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        var ordered = new List<(string Name, DataViewType Type, IReadOnlyList<string>? KeyValues)>();
        foreach (var column in columns)
        {
            ArgumentException.ThrowIfNullOrEmpty(column.Name, nameof(columns));
            ArgumentNullException.ThrowIfNull(column.Type, nameof(columns));
            if (column.KeyValues is not null && (column.Type is not KeyDataViewType key || (ulong)column.KeyValues.Count != key.Count))
            {
                throw new ArgumentException($"column '{column.Name}': key values need a key type with as many keys", nameof(columns));
            }

            ordered.RemoveAll(existing => existing.Name == column.Name);
            ordered.Add(column);
        }

        _columns = [.. ordered.Select((column, index) => new Column(column.Name, index, column.Type, column.KeyValues))];
        _byName = _columns.ToDictionary(column => column.Name, column => column.Index, StringComparer.Ordinal);
    }

    /// <summary>The number of columns.</summary>
    public int Count => _columns.Length;

    /// <summary>Column <paramref name="index"/>.</summary>
    public Column this[int index] => _columns[index];

    /// <summary>The column named <paramref name="name"/>; an <see cref="ArgumentOutOfRangeException"/> listing the columns when there is none.</summary>
    public Column this[string name] => GetColumnOrNull(name) ??
        throw new ArgumentOutOfRangeException(nameof(name), $"there is no column '{name}'; the columns are {Describe()}");

    /// <summary>The column named <paramref name="name"/>, or null.</summary>
    public Column? GetColumnOrNull(string name) => _byName.TryGetValue(name, out int index) ? _columns[index] : null;

    /// <inheritdoc/>
    public IEnumerator<Column> GetEnumerator() => ((IEnumerable<Column>)_columns).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The columns as "Name: Type" pairs.</summary>
    public override string ToString() => Describe();

    internal string Describe() => string.Join(", ", _columns.Select(column => $"{column.Name} ({column.Type})"));

    internal IEnumerable<(string Name, DataViewType Type, IReadOnlyList<string>? KeyValues)> Definitions() =>
        _columns.Select(column => (column.Name, column.Type, column.KeyValues));

    /// <summary>A schema of these columns followed by <paramref name="added"/> (which replace same-named ones).</summary>
    internal DataViewSchema With(params (string Name, DataViewType Type, IReadOnlyList<string>? KeyValues)[] added) =>
        new(Definitions().Concat(added));

    /// <summary>One column.</summary>
    public sealed class Column
    {
        internal Column(string name, int index, DataViewType type, IReadOnlyList<string>? keyValues)
        {
            Name = name;
            Index = index;
            Type = type;
            KeyValues = keyValues;
        }

        /// <summary>The column's name.</summary>
        public string Name { get; }

        /// <summary>Its position in the schema.</summary>
        public int Index { get; }

        /// <summary>Its type.</summary>
        public DataViewType Type { get; }

        /// <summary>
        /// For a key column, the value each key stands for (key k is <c>KeyValues[k - 1]</c>), as
        /// ML.NET's KeyValues annotation; otherwise null.
        /// </summary>
        public IReadOnlyList<string>? KeyValues { get; }

        /// <summary>Copies the key values into <paramref name="keyValues"/>, as ML.NET's <c>GetKeyValues</c>.</summary>
        public void GetKeyValues(ref VBuffer<ReadOnlyMemory<char>> keyValues)
        {
            if (KeyValues is null)
            {
                throw new InvalidOperationException($"column '{Name}' has no key values");
            }

            keyValues = new VBuffer<ReadOnlyMemory<char>>([.. KeyValues.Select(value => value.AsMemory())]);
        }

        /// <inheritdoc/>
        public override string ToString() => $"{Name} ({Type})";
    }
}
