using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// The values of one input column for the rows of a batch that a cursor has read ahead, so that the
/// cursor can go on serving them row by row after the input cursor has moved past. Vectors are
/// copied out when served. A disposable value (an image) belongs to whoever it is served to, as an
/// image from ML.NET's loader does; one never served is disposed when the batch is replaced.
/// </summary>
internal abstract class ColumnBuffer : IDisposable
{
    private static readonly MethodInfo ValueFactory = typeof(ColumnBuffer).GetMethod(nameof(CreateValue), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo VectorFactory = typeof(ColumnBuffer).GetMethod(nameof(CreateVector), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Reads the input cursor's current value into <paramref name="slot"/>.</summary>
    public abstract void Capture(int slot);

    /// <summary>A getter of the value in the slot <paramref name="currentSlot"/> gives.</summary>
    public abstract Delegate Getter(Func<int> currentSlot);

    /// <summary>Lets go of the batch's values (disposing those that are disposable).</summary>
    public abstract void Clear();

    public void Dispose() => Clear();

    /// <summary>A buffer of <paramref name="capacity"/> values of <paramref name="column"/>, read from <paramref name="input"/>.</summary>
    public static ColumnBuffer Create(DataViewRowCursor input, DataViewSchema.Column column, int capacity)
    {
        // The column's .NET type is known only at run time; the generic factories are this class's own.
        MethodInfo factory = column.Type is VectorDataViewType vector
            ? VectorFactory.MakeGenericMethod(vector.ItemType.RawType)
            : ValueFactory.MakeGenericMethod(column.Type.RawType);
        return (ColumnBuffer)factory.Invoke(null, [input, column, capacity])!;
    }

    /// <summary>A buffer of float vectors captured from <paramref name="current"/>: for the features column, which the cursor reads anyway.</summary>
    public static ColumnBuffer Captured(Func<VBuffer<float>> current, int capacity) => new CapturedVectorBuffer(current, capacity);

    private static ColumnBuffer CreateValue<T>(DataViewRowCursor input, DataViewSchema.Column column, int capacity) =>
        new ValueBuffer<T>(input.GetGetter<T>(column), capacity);

    private static ColumnBuffer CreateVector<T>(DataViewRowCursor input, DataViewSchema.Column column, int capacity) =>
        new VectorBuffer<T>(input.GetGetter<VBuffer<T>>(column), capacity);

    private sealed class ValueBuffer<T>(ValueGetter<T> source, int capacity) : ColumnBuffer
    {
        private readonly T[] _values = new T[capacity];
        private readonly bool[] _served = new bool[capacity];

        public override void Capture(int slot)
        {
            // A fresh value each time: a getter may dispose or overwrite what it is handed (ML.NET's
            // image loader disposes the previous image), and earlier rows of the batch must survive.
            T value = default!;
            source(ref value);
            _values[slot] = value;
            _served[slot] = false;
        }

        public override Delegate Getter(Func<int> currentSlot) => (ValueGetter<T>)((ref T value) =>
        {
            int slot = currentSlot();
            value = _values[slot];
            _served[slot] = true;
        });

        public override void Clear()
        {
            for (int i = 0; i < _values.Length; i++)
            {
                if (!_served[i])
                {
                    (_values[i] as IDisposable)?.Dispose();
                }

                _values[i] = default!;
                _served[i] = false;
            }
        }
    }

    // The features are read once per row for scoring; passing them through too must not run the
    // image pipeline a second time.
    private sealed class CapturedVectorBuffer(Func<VBuffer<float>> current, int capacity) : ColumnBuffer
    {
        private readonly VBuffer<float>[] _values = new VBuffer<float>[capacity];

        public override void Capture(int slot) => current().CopyTo(ref _values[slot]);

        public override Delegate Getter(Func<int> currentSlot) => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) => _values[currentSlot()].CopyTo(ref value));

        public override void Clear()
        {
        }
    }

    private sealed class VectorBuffer<T>(ValueGetter<VBuffer<T>> source, int capacity) : ColumnBuffer
    {
        private readonly VBuffer<T>[] _values = new VBuffer<T>[capacity];

        // Each slot keeps its arrays from batch to batch; the values are copied out when served.
        public override void Capture(int slot) => source(ref _values[slot]);

        public override Delegate Getter(Func<int> currentSlot) => (ValueGetter<VBuffer<T>>)((ref VBuffer<T> value) => _values[currentSlot()].CopyTo(ref value));

        public override void Clear()
        {
        }
    }
}
