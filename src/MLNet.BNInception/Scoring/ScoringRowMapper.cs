using Microsoft.ML.Data;
using Microsoft.ML;

namespace MLNet.BNInception.Scoring;

/// <summary>
/// Scores one row at a time, for ML.NET's prediction engines (and transformer chains built into
/// one): Score and PredictedLabel are computed when first asked for at a row position, once.
/// </summary>
internal sealed class ScoringRowMapper(DataViewSchema inputSchema, BnInceptionPredictionTransformer model) : IRowToRowMapper
{
    public DataViewSchema InputSchema { get; } = inputSchema;

    public DataViewSchema OutputSchema { get; } = model.GetOutputSchema(inputSchema);

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        ArgumentNullException.ThrowIfNull(dependingColumns);
        int inputCount = InputSchema.Count;
        var needed = new HashSet<int>();
        foreach (DataViewSchema.Column column in dependingColumns)
        {
            needed.Add(column.Index < inputCount ? column.Index : InputSchema[model.FeatureColumnName].Index);
        }

        return needed.Order().Select(index => InputSchema[index]);
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(activeColumns);
        if (input.Schema != InputSchema)
        {
            // The output's columns are numbered from the mapper's input schema: a row of another
            // schema would have its columns read as others (IRowToRowMapper.GetRow's contract).
            throw new ArgumentException(
                $"The row's schema ({string.Join(", ", input.Schema.Select(column => column.Name))}) is not the one this mapper was made for; get a mapper for that schema (GetRowToRowMapper).",
                nameof(input));
        }

        return new ScoredRow(input, OutputSchema, activeColumns.Select(column => column.Index).ToHashSet(), model);
    }

    private sealed class ScoredRow(DataViewRow input, DataViewSchema schema, HashSet<int> active, BnInceptionPredictionTransformer model) : DataViewRow
    {
        private readonly int _inputCount = input.Schema.Count;
        private ValueGetter<VBuffer<float>>? _getFeatures;
        private VBuffer<float> _features;
        private float[] _pixels = [];
        private float[] _probabilities = [];
        private long? _scoredPosition;
        private bool _disposed;

        public override DataViewSchema Schema => schema;

        public override long Position => input.Position;

        public override long Batch => input.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Index);

        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
            {
                throw new InvalidOperationException($"Column {column.Name} was not asked for when this row was made.");
            }

            if (column.Index < _inputCount)
            {
                return input.GetGetter<TValue>(input.Schema[column.Index]);
            }

            _getFeatures ??= input.GetGetter<VBuffer<float>>(input.Schema[model.FeatureColumnName]);
            return PredictionValues.Getter<TValue>(column, _inputCount, Score);
        }

        private ReadOnlySpan<float> Score()
        {
            if (_scoredPosition != input.Position)
            {
                _getFeatures!(ref _features);
                if (_pixels.Length == 0)
                {
                    _pixels = new float[model.Layout.Size];
                    _probabilities = new float[model.Label.Count];
                }

                // No row's scores until the network has answered: if it throws, the next call tries again.
                _scoredPosition = null;
                // No row number: a prediction engine's rows are one at a time, and its position only counts its calls.
                model.CheckFeatureLength(_features.Length, row: null);
                _features.CopyTo(_pixels);
                model.Probabilities(_pixels, 1, _probabilities);
                _scoredPosition = input.Position;
            }

            return _probabilities;
        }

        // The row disposes the row it maps (IRowToRowMapper.GetRow's contract): a transformer chain's
        // rows are each the next one's input.
        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                input.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
