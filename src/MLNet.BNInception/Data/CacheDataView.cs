using System.Reflection;

namespace MLNet.BNInception.Data;

/// <summary>
/// Caches a view's columns on first use, so that later passes (every training epoch, evaluation)
/// do not decode and resize images again. A column is filled the first time a cursor asks for it,
/// in one pass that reads only the missing columns. Fixed-size numeric vectors can be kept in a
/// temporary file instead of memory (<c>spillDirectory</c>); the file is deleted when the cache is
/// released or the process ends.
/// </summary>
internal sealed class CacheDataView : IDataView, IDisposable
{
    private static readonly MethodInfo CreateStoreMethod = typeof(CacheDataView).GetMethod(nameof(CreateStore), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly IDataView _source;
    private readonly string? _spillDirectory;
    private readonly Dictionary<string, IColumnStore> _stores = new(StringComparer.Ordinal);
    private readonly Lock _fillLock = new();
    private long _rowCount = -1;

    public CacheDataView(IDataView source, string? spillDirectory)
    {
        _source = source;
        _spillDirectory = spillDirectory;
        if (spillDirectory is not null)
        {
            Directory.CreateDirectory(spillDirectory);
        }
    }

    public DataViewSchema Schema => _source.Schema;

    public bool CanShuffle => false;

    public long? GetRowCount()
    {
        lock (_fillLock)
        {
            return _rowCount >= 0 ? _rowCount : _source.GetRowCount();
        }
    }

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        // A column asked for twice must be filled once (the fill keys its stores by name).
        DataViewSchema.Column[] needed = [.. columnsNeeded.DistinctBy(column => column.Name)];
        lock (_fillLock)
        {
            DataViewSchema.Column[] missing = [.. needed.Where(column => !_stores.ContainsKey(column.Name))];
            if (missing.Length > 0 || _rowCount < 0)
            {
                Fill(missing);
            }

            return new Cursor(this, needed.Select(column => column.Name).ToHashSet(StringComparer.Ordinal), _rowCount);
        }
    }

    private void Fill(DataViewSchema.Column[] columns)
    {
        var stores = columns.ToDictionary(column => column.Name,
            column => (IColumnStore)CreateStoreMethod.MakeGenericMethod(column.Type.RawType).Invoke(null, [column, _spillDirectory])!);
        try
        {
            using DataViewRowCursor cursor = _source.GetRowCursor(columns);
            var appenders = columns.Select(column => stores[column.Name].CreateAppender(cursor, column)).ToArray();
            long rows = 0;
            while (cursor.MoveNext())
            {
                foreach (Action append in appenders)
                {
                    append();
                }

                rows++;
            }

            if (_rowCount >= 0 && rows != _rowCount)
            {
                throw new InvalidOperationException($"the cached view changed: {rows} rows now, {_rowCount} before");
            }

            _rowCount = rows;
        }
        catch
        {
            foreach (IColumnStore store in stores.Values)
            {
                store.Dispose();
            }

            throw;
        }

        foreach ((string name, IColumnStore store) in stores)
        {
            _stores[name] = store;
        }
    }

    private static IColumnStore CreateStore<T>(DataViewSchema.Column column, string? spillDirectory) =>
        spillDirectory is not null && column.Type is VectorDataViewType { IsKnownSize: true } vector && FileColumnStore.CanStore(vector.ItemType.RawType)
            ? new FileColumnStore(spillDirectory, vector)
            : new MemoryColumnStore<T>();

    public void Dispose()
    {
        lock (_fillLock)
        {
            foreach (IColumnStore store in _stores.Values)
            {
                store.Dispose();
            }

            _stores.Clear();
            _rowCount = -1;
        }
    }

    private interface IColumnStore : IDisposable
    {
        Action CreateAppender(DataViewRow row, DataViewSchema.Column column);

        Delegate CreateGetter(Func<long> row);
    }

    private sealed class MemoryColumnStore<T> : IColumnStore
    {
        private readonly List<T> _values = [];

        public Action CreateAppender(DataViewRow row, DataViewSchema.Column column)
        {
            ValueGetter<T> getter = row.GetGetter<T>(column);
            return () =>
            {
                T value = default!;
                getter(ref value);
                _values.Add(value);
            };
        }

        public Delegate CreateGetter(Func<long> row) => (ValueGetter<T>)((ref T value) => value = _values[checked((int)row())]);

        public void Dispose() => _values.Clear();
    }

    /// <summary>Fixed-size vectors of unmanaged items in a temporary file, read back by offset.</summary>
    private sealed class FileColumnStore : IColumnStore
    {
        private readonly FileStream _file;
        private readonly VectorDataViewType _type;
        private readonly int _itemSize;

        public FileColumnStore(string directory, VectorDataViewType type)
        {
            _type = type;
            _itemSize = System.Runtime.InteropServices.Marshal.SizeOf(type.ItemType.RawType);
            string path = Path.Combine(directory, $"bninception-cache-{Guid.NewGuid():N}.bin");
            _file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        }

        public static bool CanStore(Type itemType) => itemType == typeof(float) || itemType == typeof(byte) || itemType == typeof(double);

        public Action CreateAppender(DataViewRow row, DataViewSchema.Column column) => _type.ItemType.RawType switch
        {
            Type t when t == typeof(float) => Appender<float>(row, column),
            Type t when t == typeof(double) => Appender<double>(row, column),
            _ => Appender<byte>(row, column),
        };

        private Action Appender<T>(DataViewRow row, DataViewSchema.Column column)
            where T : unmanaged
        {
            ValueGetter<VBuffer<T>> getter = row.GetGetter<VBuffer<T>>(column);
            return () =>
            {
                VBuffer<T> value = default;
                getter(ref value);
                if (value.Length != _type.Size)
                {
                    throw new InvalidDataException($"column '{column.Name}' row {row.Position}: {value.Length} values, expected {_type.Size}");
                }

                _file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(value.GetValues()));
            };
        }

        public Delegate CreateGetter(Func<long> row) => _type.ItemType.RawType switch
        {
            Type t when t == typeof(float) => Getter<float>(row),
            Type t when t == typeof(double) => Getter<double>(row),
            _ => Getter<byte>(row),
        };

        private ValueGetter<VBuffer<T>> Getter<T>(Func<long> row)
            where T : unmanaged
        {
            _file.Flush();
            return (ref VBuffer<T> value) =>
            {
                var items = new T[_type.Size];
                Span<byte> bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(items.AsSpan());
                long offset = row() * bytes.Length;
                int read = 0;
                while (read < bytes.Length)
                {
                    int n = RandomAccess.Read(_file.SafeFileHandle, bytes[read..], offset + read);
                    if (n == 0)
                    {
                        throw new EndOfStreamException("the cache file is shorter than expected");
                    }

                    read += n;
                }

                value = new VBuffer<T>(items);
            };
        }

        public void Dispose() => _file.Dispose();
    }

    private sealed class Cursor(CacheDataView view, HashSet<string> active, long rowCount) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Name);

        public override bool MoveNext()
        {
            if (_position + 1 >= rowCount)
            {
                return false;
            }

            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            RowValues.CheckGetter<TValue>(this, column);
            IColumnStore store;
            lock (view._fillLock)
            {
                store = view._stores[column.Name];
            }

            return (ValueGetter<TValue>)store.CreateGetter(() => _position);
        }
    }
}
