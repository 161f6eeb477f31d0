using System.Globalization;
using System.Text.Json.Nodes;
using MLNet.BNInception.Data;

namespace MLNet.BNInception.Transforms;

/// <summary>In what order <see cref="ValueToKeyMappingEstimator"/> numbers the values it finds.</summary>
public enum KeyOrdinality
{
    /// <summary>In the order values first occur in the data (ML.NET's default).</summary>
    ByOccurrence,

    /// <summary>Sorted: ordinal order for text, numeric order for numbers.</summary>
    ByValue,
}

/// <summary>
/// Learns the distinct values of a column and maps them to keys 1…n (ML.NET's <c>MapValueToKey</c>).
/// Empty text and NaN are missing values and map to key 0.
/// </summary>
public sealed class ValueToKeyMappingEstimator : IEstimator<ValueToKeyMappingTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;
    private readonly int _maximumNumberOfKeys;
    private readonly KeyOrdinality _keyOrdinality;
    private readonly IReadOnlyList<string>? _keyData;

    internal ValueToKeyMappingEstimator(string outputColumnName, string? inputColumnName, int maximumNumberOfKeys, KeyOrdinality keyOrdinality,
        IReadOnlyList<string>? keyData)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maximumNumberOfKeys, 1);
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
        _maximumNumberOfKeys = maximumNumberOfKeys;
        _keyOrdinality = keyOrdinality;
        _keyData = keyData;
    }

    /// <summary>Reads the input column once and numbers its values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The column does not exist.</exception>
    /// <exception cref="InvalidOperationException">More distinct values than allowed, or none at all.</exception>
    public ValueToKeyMappingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        DataViewSchema.Column column = input.Schema[_inputColumnName];
        ValueToKeyMappingTransformer.CheckInputType(column);
        if (_keyData is not null)
        {
            return new ValueToKeyMappingTransformer(_outputColumnName, _inputColumnName, _keyData);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var values = new List<(string Text, object? Raw)>();
        using (DataViewRowCursor cursor = input.GetRowCursor([column]))
        {
            Func<object?> getter = RowValues.BoxedGetter(cursor, column);
            while (cursor.MoveNext())
            {
                object? raw = getter();
                if (ValueToKeyMappingTransformer.AsText(raw) is { } text && seen.Add(text))
                {
                    if (seen.Count > _maximumNumberOfKeys)
                    {
                        throw new InvalidOperationException(
                            $"column '{_inputColumnName}' has more than {_maximumNumberOfKeys} distinct values (row {cursor.Position}: '{text}'); raise maximumNumberOfKeys if that is intended");
                    }

                    values.Add((text, raw));
                }
            }
        }

        if (values.Count == 0)
        {
            throw new InvalidOperationException($"column '{_inputColumnName}' has no values to map to keys (the data is empty or every value is missing)");
        }

        if (_keyOrdinality == KeyOrdinality.ByValue)
        {
            values.Sort((a, b) => a.Raw is string || a.Raw is ReadOnlyMemory<char> || b.Raw is ReadOnlyMemory<char>
                ? string.CompareOrdinal(a.Text, b.Text)
                : Comparer<double>.Default.Compare(Convert.ToDouble(a.Raw, CultureInfo.InvariantCulture), Convert.ToDouble(b.Raw, CultureInfo.InvariantCulture)));
        }

        return new ValueToKeyMappingTransformer(_outputColumnName, _inputColumnName, [.. values.Select(value => value.Text)]);
    }
}

/// <summary>Maps values to the keys learned by <see cref="ValueToKeyMappingEstimator"/>.</summary>
public sealed class ValueToKeyMappingTransformer : OneToOneColumnTransformer
{
    internal const string KindName = "MapValueToKey";
    private readonly Dictionary<string, uint> _keys;

    internal ValueToKeyMappingTransformer(string outputColumnName, string inputColumnName, IReadOnlyList<string> keyValues)
        : base(outputColumnName, inputColumnName)
    {
        KeyValues = keyValues;
        _keys = new Dictionary<string, uint>(StringComparer.Ordinal);
        for (int i = 0; i < keyValues.Count; i++)
        {
            if (!_keys.TryAdd(keyValues[i], (uint)i + 1))
            {
                throw new ArgumentException($"the key values repeat '{keyValues[i]}'", nameof(keyValues));
            }
        }
    }

    /// <summary>The value of each key: key k stands for <c>KeyValues[k - 1]</c>.</summary>
    public IReadOnlyList<string> KeyValues { get; }

    private protected override string Kind => KindName;

    /// <summary>
    /// Adds the key column. When the input column is absent (scoring data without labels), the view
    /// passes through unchanged, so a model trained with labels scores rows that have none. A value
    /// not seen when fitting is an error naming the value and the row.
    /// </summary>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Schema.GetColumnOrNull(InputColumnName) is not { } column)
        {
            return input;
        }

        CheckInputType(column);
        var type = new KeyDataViewType(typeof(uint), (ulong)KeyValues.Count);
        return new MappedDataView(input, [new AddedColumn(OutputColumnName, type, KeyValues, [InputColumnName], row =>
        {
            Func<object?> getter = RowValues.BoxedGetter(row, row.Schema[InputColumnName]);
            return (ValueGetter<uint>)((ref uint key) =>
            {
                string? text = AsText(getter());
                if (text is null)
                {
                    key = 0;
                }
                else if (!_keys.TryGetValue(text, out key))
                {
                    throw new InvalidDataException(
                        $"column '{InputColumnName}' row {row.Position}: the value '{text}' was not seen when the key mapping was fitted; the known values are {Describe(KeyValues)}");
                }
            });
        })]);
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["inputColumnName"] = InputColumnName,
        ["keyValues"] = new JsonArray([.. KeyValues.Select(value => JsonValue.Create(value))]),
    };

    internal static ValueToKeyMappingTransformer Load(JsonObject settings, ModelLoadContext context) => new(
        context.String(settings, "outputColumnName"), context.String(settings, "inputColumnName"), context.Strings(settings, "keyValues"));

    internal static void CheckInputType(DataViewSchema.Column column)
    {
        if (column.Type is not PrimitiveDataViewType || column.Type is KeyDataViewType)
        {
            throw new ArgumentException($"column '{column.Name}' is {column.Type}; MapValueToKey maps text, numbers or booleans");
        }
    }

    internal static string? AsText(object? raw) => raw switch
    {
        ReadOnlyMemory<char> text => text.Length == 0 ? null : text.ToString(),
        float f when float.IsNaN(f) => null,
        double d when double.IsNaN(d) => null,
        null => null,
        _ => RowValues.Format(raw),
    };

    internal static string Describe(IReadOnlyList<string> values) =>
        string.Join(", ", values.Take(20).Select(value => $"'{value}'")) + (values.Count > 20 ? $" and {values.Count - 20} more" : "");
}

/// <summary>Maps keys back to the values they stand for (ML.NET's <c>MapKeyToValue</c>).</summary>
public sealed class KeyToValueMappingEstimator : IEstimator<KeyToValueMappingTransformer>
{
    private readonly string _outputColumnName;
    private readonly string _inputColumnName;

    internal KeyToValueMappingEstimator(string outputColumnName, string? inputColumnName)
    {
        _outputColumnName = outputColumnName;
        _inputColumnName = inputColumnName ?? outputColumnName;
    }

    /// <summary>Checks that the input is a key column with values; learns nothing.</summary>
    public KeyToValueMappingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var transformer = new KeyToValueMappingTransformer(_outputColumnName, _inputColumnName);
        _ = transformer.Transform(input);
        return transformer;
    }
}

/// <summary>Maps keys to text: key k becomes the column's k-th key value; key 0 (missing) becomes empty text.</summary>
public sealed class KeyToValueMappingTransformer : OneToOneColumnTransformer
{
    internal const string KindName = "MapKeyToValue";

    internal KeyToValueMappingTransformer(string outputColumnName, string inputColumnName)
        : base(outputColumnName, inputColumnName)
    {
    }

    private protected override string Kind => KindName;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        DataViewSchema.Column column = input.Schema[InputColumnName];
        if (column.Type is not KeyDataViewType || column.KeyValues is not { } values)
        {
            throw new ArgumentException($"column '{InputColumnName}' is {column.Type} without key values; MapKeyToValue needs a key column made by MapValueToKey or a trainer");
        }

        ReadOnlyMemory<char>[] texts = [.. values.Select(value => value.AsMemory())];
        return new MappedDataView(input, [new AddedColumn(OutputColumnName, TextDataViewType.Instance, null, [InputColumnName], row =>
        {
            ValueGetter<uint> getter = row.GetGetter<uint>(row.Schema[InputColumnName]);
            return (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> text) =>
            {
                uint key = 0;
                getter(ref key);
                text = key == 0 ? ReadOnlyMemory<char>.Empty
                    : key <= texts.Length ? texts[key - 1]
                    : throw new InvalidDataException($"column '{InputColumnName}' row {row.Position}: key {key} is outside its {texts.Length} values");
            });
        })]);
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["inputColumnName"] = InputColumnName,
    };

    internal static KeyToValueMappingTransformer Load(JsonObject settings, ModelLoadContext context) =>
        new(context.String(settings, "outputColumnName"), context.String(settings, "inputColumnName"));
}
