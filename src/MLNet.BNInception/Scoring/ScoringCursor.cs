using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;

namespace MLNet.BNInception.Scoring;

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
    private readonly float[] _probabilities;
    private VBuffer<float> _featureValues;
    private int _rows;
    private int _slot = -1;
    private long _position = -1;
    private bool _disposed;

    public ScoringCursor(DataViewRowCursor input, DataViewSchema schema, HashSet<int> active, bool scores, BnInceptionPredictionTransformer model, int batchSize)
    {
        _input = input;
        Schema = schema;
        _active = active;
        _scores = scores;
        _model = model;
        _inputCount = input.Schema.Count;
        _batchSize = scores ? batchSize : 1;
        _getId = input.GetIdGetter();
        _ids = new DataViewRowId[_batchSize];
        _pixels = scores ? new float[(long)_batchSize * model.Layout.Size] : [];
        _probabilities = scores ? new float[(long)_batchSize * model.Label.Count] : [];
        if (scores)
        {
            DataViewSchema.Column features = input.Schema[model.FeatureColumnName];
            _getFeatures = input.GetGetter<VBuffer<float>>(features);
            foreach (int index in active.Where(index => index < _inputCount))
            {
                _buffers[index] = index == features.Index
                    ? ColumnBuffer.Captured(() => _featureValues, _batchSize)
                    : ColumnBuffer.Create(input, input.Schema[index], _batchSize);
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
            _position = -1;
            return false;
        }

        bool moved = _scores ? (_slot + 1 < _rows || ReadBatch()) : _input.MoveNext();
        if (!moved)
        {
            // Past the end, as ML.NET's own cursors: no current row.
            _position = -1;
            _slot = -1;
            _rows = 0;
            return false;
        }

        _slot = _scores ? _slot + 1 : _slot;
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
            // ML.NET's cursors refuse a getter of the wrong type with an InvalidOperationException, as the
            // input's own cursor does when this one does not score.
            return !_scores ? _input.GetGetter<TValue>(column)
                : _buffers[column.Index].Getter(CurrentSlot) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column {column.Name} holds {column.Type} values; a getter of {GetterTypeName.Of(typeof(TValue))} cannot read it.");
        }

        int classes = _model.Label.Count;
        return PredictionValues.Getter<TValue>(column, _inputCount, () => _probabilities.AsSpan(CurrentSlot() * classes, classes));
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() =>
        _scores ? (ref DataViewRowId value) => value = _ids[CurrentSlot()] : _input.GetIdGetter();

    private int CurrentSlot() => _slot >= 0
        ? _slot
        : throw new InvalidOperationException("The cursor has no current row: call MoveNext first (or it has moved past the last row).");

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

    private bool ReadBatch()
    {
        foreach (ColumnBuffer buffer in _buffers.Values)
        {
            buffer.Clear();
        }

        // Nothing of a batch is served until all of it is read and scored: if a row's getter or the
        // network fails, the cursor has no current row rather than a half-filled batch.
        int size = _model.Layout.Size, rows = 0;
        _rows = 0;
        _slot = -1;
        while (rows < _batchSize && _input.MoveNext())
        {
            _getId(ref _ids[rows]);
            _getFeatures!(ref _featureValues);
            _model.CheckFeatureLength(_featureValues.Length, _input.Position);
            _featureValues.CopyTo(_pixels.AsSpan(rows * size, size));
            foreach (ColumnBuffer buffer in _buffers.Values)
            {
                buffer.Capture(rows);
            }

            rows++;
        }

        if (rows == 0)
        {
            return false;
        }

        _model.Probabilities(_pixels, rows, _probabilities);
        _rows = rows;
        return true;
    }
}
