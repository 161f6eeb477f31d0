using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// A cursor over <see cref="ScoredDataView"/>. When Score or PredictedLabel is asked for, it reads
/// up to a batch of input rows ahead, keeps the values of the other columns asked for, scores the
/// batch in one forward pass, then serves the rows one by one. Otherwise it passes the input through.
/// </summary>
internal sealed class ScoringCursor : DataViewRowCursor
{
    private readonly DataViewRowCursor _input;
    private readonly HashSet<int> _active;
    private readonly bool _scores;
    private readonly BnInceptionPredictionTransformer _model;
    private readonly int _inputCount;
    private readonly int _batchSize;
    private readonly Dictionary<int, ColumnBuffer> _buffers = [];
    private readonly ValueGetter<VBuffer<float>>? _getFeatures;
    private readonly ValueGetter<DataViewRowId> _getId;
    private readonly DataViewRowId[] _ids;
    private readonly float[] _pixels;
    private float[] _probabilities = [];
    private VBuffer<float> _featureValues;
    private int _rows;
    private int _slot = -1;
    private long _position = -1;
    private bool _disposed;

    public ScoringCursor(DataViewRowCursor input, DataViewSchema schema, HashSet<int> active, bool scores, BnInceptionPredictionTransformer model)
    {
        _input = input;
        Schema = schema;
        _active = active;
        _scores = scores;
        _model = model;
        _inputCount = input.Schema.Count;
        _batchSize = scores ? model.ScoringBatchSize : 1;
        _getId = input.GetIdGetter();
        _ids = new DataViewRowId[_batchSize];
        _pixels = scores ? new float[(long)_batchSize * model.Layout.Size] : [];
        if (scores)
        {
            _getFeatures = input.GetGetter<VBuffer<float>>(input.Schema[model.FeatureColumnName]);
            foreach (int index in active.Where(index => index < _inputCount))
            {
                _buffers[index] = ColumnBuffer.Create(input, input.Schema[index], _batchSize);
            }
        }
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => _input.Batch;

    public override bool MoveNext()
    {
        if (_disposed)
        {
            return false;
        }

        if (!_scores)
        {
            bool moved = _input.MoveNext();
            _position = moved ? _position + 1 : _position;
            return moved;
        }

        if (_slot + 1 >= _rows && !ReadBatch())
        {
            return false;
        }

        _slot++;
        _position++;
        return true;
    }

    public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (!IsColumnActive(column))
        {
            throw new InvalidOperationException($"Column {column.Name} was not asked for when this cursor was opened.");
        }

        if (column.Index < _inputCount)
        {
            return _scores ? (ValueGetter<TValue>)_buffers[column.Index].Getter(() => _slot) : _input.GetGetter<TValue>(column);
        }

        int classes = _model.Label.Count;
        if (column.Index == _inputCount)
        {
            ValueGetter<VBuffer<float>> score = (ref VBuffer<float> value) =>
            {
                VBufferEditor<float> editor = VBufferEditor.Create(ref value, classes);
                _probabilities.AsSpan(_slot * classes, classes).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return score as ValueGetter<TValue> ?? throw TypeMismatch<TValue>(column);
        }

        ValueGetter<uint> predicted = (ref uint value) => value = (uint)ArgMax(_probabilities.AsSpan(_slot * classes, classes)) + 1;
        return predicted as ValueGetter<TValue> ?? throw TypeMismatch<TValue>(column);
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() =>
        _scores ? (ref DataViewRowId value) => value = _ids[_slot] : _input.GetIdGetter();

    protected override void Dispose(bool disposing)
    {
        if (!_disposed && disposing)
        {
            _disposed = true;
            foreach (ColumnBuffer buffer in _buffers.Values)
            {
                buffer.Dispose();
            }

            _input.Dispose();
        }

        base.Dispose(disposing);
    }

    // The highest probability's class, the first of equals, as ML.NET's multiclass scorers pick it.
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private bool ReadBatch()
    {
        foreach (ColumnBuffer buffer in _buffers.Values)
        {
            buffer.Clear();
        }

        int size = _model.Layout.Size;
        _rows = 0;
        _slot = -1;
        while (_rows < _batchSize && _input.MoveNext())
        {
            _getId(ref _ids[_rows]);
            _getFeatures!(ref _featureValues);
            _featureValues.CopyTo(_pixels.AsSpan(_rows * size, size));
            foreach (ColumnBuffer buffer in _buffers.Values)
            {
                buffer.Capture(_rows);
            }

            _rows++;
        }

        if (_rows == 0)
        {
            return false;
        }

        _probabilities = _model.Probabilities(_pixels, _rows);
        return true;
    }

    private static InvalidOperationException TypeMismatch<TValue>(DataViewSchema.Column column) =>
        new($"Column {column.Name} is {column.Type}; it cannot be read as {typeof(TValue).Name}.");
}
