using System.Globalization;
using System.Text;

namespace MLNet.BNInception.Data;

/// <summary>The kinds of values the text loader parses.</summary>
public enum DataKind
{
    /// <summary>8-bit unsigned integer.</summary>
    Byte,

    /// <summary>32-bit signed integer.</summary>
    Int32,

    /// <summary>32-bit unsigned integer.</summary>
    UInt32,

    /// <summary>64-bit signed integer.</summary>
    Int64,

    /// <summary>32-bit float; an empty field is NaN.</summary>
    Single,

    /// <summary>64-bit float; an empty field is NaN.</summary>
    Double,

    /// <summary>true/false, 1/0, yes/no.</summary>
    Boolean,

    /// <summary>Text.</summary>
    String,
}

/// <summary>
/// Reads delimited text files lazily: each cursor streams the file again, one line at a time, so a
/// file of millions of rows is never held in memory. Unlike ML.NET, a field that does not parse, or a
/// row with too few fields, is an error naming the file, line and column rather than a silent
/// missing value.
/// </summary>
public sealed class TextLoader
{
    private TextLoader()
    {
    }

    /// <summary>A column to load: a name, a kind, and the field index (or an inclusive range of them, for a vector).</summary>
    public sealed class Column
    {
        /// <summary>Loads field <paramref name="index"/> (from 0) as <paramref name="dataKind"/>.</summary>
        public Column(string name, DataKind dataKind, int index)
            : this(name, dataKind, index, index)
        {
            IsVector = false;
        }

        /// <summary>Loads fields <paramref name="minIndex"/> to <paramref name="maxIndex"/> inclusive as a vector.</summary>
        public Column(string name, DataKind dataKind, int minIndex, int maxIndex)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            ArgumentOutOfRangeException.ThrowIfNegative(minIndex);
            ArgumentOutOfRangeException.ThrowIfLessThan(maxIndex, minIndex);
            Name = name;
            DataKind = dataKind;
            MinIndex = minIndex;
            MaxIndex = maxIndex;
            IsVector = true;
        }

        /// <summary>The column's name.</summary>
        public string Name { get; }

        /// <summary>What its fields hold.</summary>
        public DataKind DataKind { get; }

        /// <summary>The first field.</summary>
        public int MinIndex { get; }

        /// <summary>The last field.</summary>
        public int MaxIndex { get; }

        /// <summary>True for a vector column.</summary>
        public bool IsVector { get; }

        internal PrimitiveDataViewType ItemType => DataKind switch
        {
            DataKind.Byte => NumberDataViewType.Byte,
            DataKind.Int32 => NumberDataViewType.Int32,
            DataKind.UInt32 => NumberDataViewType.UInt32,
            DataKind.Int64 => NumberDataViewType.Int64,
            DataKind.Single => NumberDataViewType.Single,
            DataKind.Double => NumberDataViewType.Double,
            DataKind.Boolean => BooleanDataViewType.Instance,
            DataKind.String => TextDataViewType.Instance,
            _ => throw new ArgumentOutOfRangeException(nameof(DataKind), DataKind, "unknown data kind"),
        };

        internal DataViewType Type => IsVector ? new VectorDataViewType(ItemType, MaxIndex - MinIndex + 1) : ItemType;
    }

    /// <summary>The columns of <typeparamref name="TRow"/>'s [LoadColumn] members.</summary>
    internal static Column[] ColumnsOf<TRow>()
    {
        var columns = new List<Column>();
        foreach (RowClassMapping.Member member in RowClassMapping.For(typeof(TRow)).Members)
        {
            if (member.Load is null)
            {
                throw new ArgumentException($"{typeof(TRow).Name}.{member.Info.Name} has no [LoadColumn] attribute; mark it [NoColumn] if it is not in the file");
            }

            (PrimitiveDataViewType item, bool vector) = member.Type switch
            {
                VectorDataViewType v => (v.ItemType, true),
                KeyDataViewType => throw new ArgumentException(
                    $"{typeof(TRow).Name}.{member.Info.Name}: load the raw value and use MapValueToKey rather than a [KeyType] member"),
                PrimitiveDataViewType p => (p, false),
                _ => throw new ArgumentException($"{typeof(TRow).Name}.{member.Info.Name}: {member.Type} cannot be loaded from text"),
            };
            DataKind kind = KindOf(item);
            columns.Add(vector ? new Column(member.Name, kind, member.Load.Start, member.Load.End) : new Column(member.Name, kind, member.Load.Start));
        }

        return [.. columns];
    }

    private static DataKind KindOf(PrimitiveDataViewType type) =>
        type == TextDataViewType.Instance ? DataKind.String
        : type == BooleanDataViewType.Instance ? DataKind.Boolean
        : type == NumberDataViewType.Single ? DataKind.Single
        : type == NumberDataViewType.Double ? DataKind.Double
        : type == NumberDataViewType.Int32 ? DataKind.Int32
        : type == NumberDataViewType.Int64 ? DataKind.Int64
        : type == NumberDataViewType.UInt32 ? DataKind.UInt32
        : DataKind.Byte;

    /// <summary>Splits one line into fields, honouring double quotes ("" inside quotes is a quote) when asked.</summary>
    internal static List<string> SplitLine(string line, char separator, bool allowQuoting, bool trimWhitespace, Func<string> where)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        int i = 0;
        while (true)
        {
            field.Clear();
            if (allowQuoting && i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new InvalidDataException($"{where()}, field {fields.Count}: a quoted field is not closed (a field cannot span lines)");
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            field.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    field.Append(line[i++]);
                }

                if (i < line.Length && line[i] != separator)
                {
                    throw new InvalidDataException($"{where()}: text after a closing quote in field {fields.Count}");
                }
            }
            else
            {
                int end = line.IndexOf(separator, i);
                if (end < 0)
                {
                    end = line.Length;
                }

                field.Append(line, i, end - i);
                i = end;
            }

            fields.Add(trimWhitespace ? field.ToString().Trim() : field.ToString());
            if (i >= line.Length)
            {
                return fields;
            }

            i++;
        }
    }

    internal static object Parse(string field, PrimitiveDataViewType type, Func<string> where)
    {
        CultureInfo invariant = CultureInfo.InvariantCulture;
        string text = field.Trim();
        object? value = type switch
        {
            TextDataViewType => field.AsMemory(),
            BooleanDataViewType => text.ToUpperInvariant() switch
            {
                "TRUE" or "1" or "YES" => true,
                "FALSE" or "0" or "NO" => false,
                _ => null,
            },
            _ when type == NumberDataViewType.Single => text.Length == 0 ? float.NaN : float.TryParse(text, NumberStyles.Float, invariant, out float f) ? f : null,
            _ when type == NumberDataViewType.Double => text.Length == 0 ? double.NaN : double.TryParse(text, NumberStyles.Float, invariant, out double d) ? d : null,
            _ when type == NumberDataViewType.Int32 => int.TryParse(text, NumberStyles.Integer, invariant, out int n) ? n : null,
            _ when type == NumberDataViewType.Int64 => long.TryParse(text, NumberStyles.Integer, invariant, out long n) ? n : null,
            _ when type == NumberDataViewType.UInt32 => uint.TryParse(text, NumberStyles.Integer, invariant, out uint n) ? n : null,
            _ when type == NumberDataViewType.Byte => byte.TryParse(text, NumberStyles.Integer, invariant, out byte n) ? n : null,
            _ => null,
        };
        return value ?? throw new InvalidDataException($"{where()}: cannot read '{field}' as {type}");
    }
}

/// <summary>The view a text file is loaded into.</summary>
internal sealed class TextFileDataView : IDataView
{
    private readonly string _path;
    private readonly TextLoader.Column[] _columns;
    private readonly char _separator;
    private readonly bool _hasHeader;
    private readonly bool _allowQuoting;
    private readonly bool _trimWhitespace;

    public TextFileDataView(string path, TextLoader.Column[] columns, char separator, bool hasHeader, bool allowQuoting, bool trimWhitespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Length == 0)
        {
            throw new ArgumentException("no columns to load", nameof(columns));
        }

        // Getters find their column by schema index, which a repeated name would shift.
        if (columns.GroupBy(column => column.Name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1) is { } repeated)
        {
            throw new ArgumentException($"the column name '{repeated.Key}' is used twice", nameof(columns));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"the data file '{path}' does not exist", path);
        }

        if (allowQuoting && separator == '"')
        {
            throw new ArgumentException("the separator cannot be a quote when quoting is allowed", nameof(separator));
        }

        _path = path;
        _columns = columns;
        _separator = separator;
        _hasHeader = hasHeader;
        _allowQuoting = allowQuoting;
        _trimWhitespace = trimWhitespace;
        Schema = new DataViewSchema(columns.Select(column => (column.Name, column.Type, (IReadOnlyList<string>?)null)));
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(column => column.Name).ToHashSet(StringComparer.Ordinal));

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly TextFileDataView _view;
        private readonly HashSet<string> _active;
        private readonly StreamReader _reader;
        private readonly string _fileName;
        private List<string>? _fields;
        private long _position = -1;
        private long _lineNumber;

        public Cursor(TextFileDataView view, HashSet<string> active)
        {
            _view = view;
            _active = active;
            _fileName = Path.GetFileName(view._path);
            _reader = new StreamReader(view._path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            if (view._hasHeader)
            {
                _reader.ReadLine();
                _lineNumber = 1;
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Name);

        public override bool MoveNext()
        {
            string? line;
            do
            {
                line = _reader.ReadLine();
                _lineNumber++;
                if (line is null)
                {
                    _fields = null;
                    return false;
                }
            }
            while (line.Trim().Length == 0);

            _fields = TextLoader.SplitLine(line, _view._separator, _view._allowQuoting, _view._trimWhitespace, Where);
            _position++;
            return true;
        }

        private string Where() => $"{_fileName} line {_lineNumber}";

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            RowValues.CheckGetter<TValue>(this, column);
            TextLoader.Column source = _view._columns[column.Index];
            string Describe() => $"{Where()}, column '{source.Name}'";
            string Field(int index)
            {
                List<string> fields = _fields ?? throw new InvalidOperationException("the cursor is not on a row");
                return index < fields.Count ? fields[index]
                    : throw new InvalidDataException($"{Describe()}: the line has {fields.Count} fields, so field {index} is missing");
            }

            if (!source.IsVector)
            {
                return (ref TValue value) => value = (TValue)TextLoader.Parse(Field(source.MinIndex), source.ItemType, Describe);
            }

            return source.ItemType.RawType switch
            {
                Type t when t == typeof(float) => (ValueGetter<TValue>)(object)VectorGetter<float>(source, Field, Describe),
                Type t when t == typeof(double) => (ValueGetter<TValue>)(object)VectorGetter<double>(source, Field, Describe),
                Type t when t == typeof(int) => (ValueGetter<TValue>)(object)VectorGetter<int>(source, Field, Describe),
                Type t when t == typeof(long) => (ValueGetter<TValue>)(object)VectorGetter<long>(source, Field, Describe),
                Type t when t == typeof(uint) => (ValueGetter<TValue>)(object)VectorGetter<uint>(source, Field, Describe),
                Type t when t == typeof(byte) => (ValueGetter<TValue>)(object)VectorGetter<byte>(source, Field, Describe),
                Type t when t == typeof(bool) => (ValueGetter<TValue>)(object)VectorGetter<bool>(source, Field, Describe),
                _ => (ValueGetter<TValue>)(object)VectorGetter<ReadOnlyMemory<char>>(source, Field, Describe),
            };
        }

        private static ValueGetter<VBuffer<T>> VectorGetter<T>(TextLoader.Column source, Func<int, string> field, Func<string> describe) =>
            (ref VBuffer<T> value) =>
            {
                var items = new T[source.MaxIndex - source.MinIndex + 1];
                for (int i = 0; i < items.Length; i++)
                {
                    items[i] = (T)TextLoader.Parse(field(source.MinIndex + i), source.ItemType, describe);
                }

                value = new VBuffer<T>(items);
            };

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _reader.Dispose();
            }
        }
    }
}
