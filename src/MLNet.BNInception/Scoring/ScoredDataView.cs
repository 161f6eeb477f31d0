using Microsoft.ML;

namespace MLNet.BNInception.Scoring;

/// <summary>
/// What <see cref="BnInceptionPredictionTransformer.Transform"/> returns: the input view with Score
/// and PredictedLabel added, computed lazily, a batch of rows at a time. ML.NET's own ONNX and
/// TensorFlow transformers score row by row; a batch keeps the CPU's matrix kernels busy.
/// </summary>
internal sealed class ScoredDataView(IDataView input, BnInceptionPredictionTransformer model) : IDataView
{
    public DataViewSchema Schema { get; } = model.GetOutputSchema(input.Schema);

    public bool CanShuffle => input.CanShuffle;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        int inputCount = input.Schema.Count;
        var active = columnsNeeded.Select(column => column.Index).ToHashSet();
        bool scores = active.Contains(inputCount) || active.Contains(inputCount + 1);
        var inputIndices = active.Where(index => index < inputCount).ToHashSet();
        if (scores)
        {
            inputIndices.Add(input.Schema[model.FeatureColumnName].Index);
        }

        var inputColumns = inputIndices.Select(index => input.Schema[index]).ToList();

        DataViewRowCursor source = input.GetRowCursor(inputColumns, rand);
        // A batch no larger than the rows there are, when the input knows them: its arrays are sized by it.
        int batchSize = input.GetRowCount() is long rows && rows < model.ScoringBatchSize ? (int)Math.Max(rows, 1) : model.ScoringBatchSize;
        return new ScoringCursor(source, Schema, active, scores, model, batchSize);
    }

    // One cursor: the scoring batches are what parallelise the work, and their order is the input's.
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];
}
