using MLNet.BNInception.Data;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception;

/// <summary>The BN-Inception trainer and multiclass evaluation (ML.NET's <c>MulticlassClassificationCatalog</c>).</summary>
public sealed class MulticlassClassificationCatalog
{
    private readonly MLContext _context;

    internal MulticlassClassificationCatalog(MLContext context)
    {
        _context = context;
        Trainers = new MulticlassClassificationTrainers(context);
    }

    /// <summary>The trainers.</summary>
    public MulticlassClassificationTrainers Trainers { get; }

    /// <summary>
    /// Scores predictions against labels with ML.NET's definitions (see <see cref="MulticlassClassificationMetrics"/>).
    /// The label must be a key column with the same classes as the score vector; a missing label is
    /// an error naming the row.
    /// </summary>
    /// <param name="data">Scored data (the output of a trained model's Transform).</param>
    /// <param name="labelColumnName">The key column of true classes.</param>
    /// <param name="scoreColumnName">The probability vector.</param>
    /// <param name="predictedLabelColumnName">The predicted key; when it is absent or not a key (mapped back to text), the highest score is the prediction.</param>
    /// <param name="topKPredictionCount">k for <see cref="MulticlassClassificationMetrics.TopKAccuracy"/>; 0 for none.</param>
    public MulticlassClassificationMetrics Evaluate(IDataView data, string labelColumnName = "Label", string scoreColumnName = "Score",
        string predictedLabelColumnName = "PredictedLabel", int topKPredictionCount = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(topKPredictionCount);
        DataViewSchema.Column label = Require(data.Schema, labelColumnName, "label");
        DataViewSchema.Column score = Require(data.Schema, scoreColumnName, "score");
        DataViewSchema.Column? predicted = data.Schema.GetColumnOrNull(predictedLabelColumnName);
        if (label.Type is not KeyDataViewType labelKey)
        {
            throw new ArgumentException($"the label column '{labelColumnName}' is {label.Type}; evaluation needs the key column the model was trained on (MapValueToKey)");
        }

        if (score.Type is not VectorDataViewType { ItemType: NumberDataViewType scoreItem } scoreVector || scoreItem != NumberDataViewType.Single || !scoreVector.IsKnownSize)
        {
            throw new ArgumentException($"the score column '{scoreColumnName}' is {score.Type}, not a fixed-size vector of Single");
        }

        if ((ulong)scoreVector.Size != labelKey.Count)
        {
            throw new ArgumentException($"the label '{labelColumnName}' has {labelKey.Count} classes but '{scoreColumnName}' has {scoreVector.Size} scores");
        }

        // After MapKeyToValue("PredictedLabel") the prediction is text; like ML.NET, the predicted class
        // is then the highest score (ties to the lower class).
        bool predictedIsKey = predicted?.Type is KeyDataViewType predictedKey && predictedKey.Count == labelKey.Count;

        IReadOnlyList<string> classNames = label.KeyValues ?? [.. Enumerable.Range(0, scoreVector.Size).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        if (predictedIsKey && label.KeyValues is not null && predicted!.KeyValues is not null && !label.KeyValues.SequenceEqual(predicted.KeyValues))
        {
            throw new ArgumentException($"the classes of '{labelColumnName}' and '{predictedLabelColumnName}' differ: the data was not mapped with the model's key mapping");
        }

        var accumulator = new MulticlassMetricsAccumulator(scoreVector.Size, topKPredictionCount, classNames);
        using DataViewRowCursor cursor = data.GetRowCursor(predictedIsKey ? [label, score, predicted!] : [label, score]);
        ValueGetter<uint> labelGetter = cursor.GetGetter<uint>(label);
        ValueGetter<VBuffer<float>> scoreGetter = cursor.GetGetter<VBuffer<float>>(score);
        ValueGetter<uint>? predictedGetter = predictedIsKey ? cursor.GetGetter<uint>(predicted!) : null;
        CancellationToken token = _context.CancellationToken;
        while (cursor.MoveNext())
        {
            token.ThrowIfCancellationRequested();
            uint key = 0, predictedKeyValue = 0;
            VBuffer<float> scores = default;
            labelGetter(ref key);
            CheckKey(key, labelKey.Count, labelColumnName, cursor.Position);
            scoreGetter(ref scores);
            ReadOnlySpan<float> values = scores.GetValues();
            if (predictedGetter is not null)
            {
                predictedGetter(ref predictedKeyValue);
                CheckKey(predictedKeyValue, labelKey.Count, predictedLabelColumnName, cursor.Position);
            }
            else
            {
                predictedKeyValue = (uint)ArgMax(values) + 1;
            }

            try
            {
                accumulator.Add((int)key - 1, values, (int)predictedKeyValue - 1);
            }
            catch (ArgumentException e)
            {
                // The keys are checked above, so the accumulator can only object to the scores.
                throw new InvalidDataException($"row {cursor.Position}: the score '{scoreColumnName}': {e.Message}", e);
            }
        }

        return accumulator.Finish();
    }

    /// <summary>The index of the highest score; ties go to the lower index (ML.NET's rule for the predicted class).</summary>
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

    private static void CheckKey(uint key, ulong count, string columnName, long row)
    {
        if (key == 0)
        {
            throw new InvalidDataException($"row {row}: the key '{columnName}' is missing (key 0)");
        }

        if (key > count)
        {
            throw new InvalidDataException($"row {row}: the key '{columnName}' is {key}, outside its type's 1-{count}");
        }
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, string role) =>
        schema.GetColumnOrNull(name) ?? throw new ArgumentException($"there is no {role} column '{name}'; the columns are {schema.Describe()}");

    /// <summary>The multiclass trainers.</summary>
    public sealed class MulticlassClassificationTrainers
    {
        private readonly MLContext _context;

        internal MulticlassClassificationTrainers(MLContext context) => _context = context;

        /// <summary>BN-Inception with the given options (column names included).</summary>
        public BnInceptionMulticlassTrainer BnInception(BnInceptionMulticlassTrainer.Options options) => new(_context, options);

        /// <summary>BN-Inception with default options on the given columns.</summary>
        public BnInceptionMulticlassTrainer BnInception(string labelColumnName = "Label", string featureColumnName = "Features",
            BnInceptionMulticlassTrainer.Options? options = null)
        {
            options ??= new BnInceptionMulticlassTrainer.Options();
            options.LabelColumnName = labelColumnName;
            options.FeatureColumnName = featureColumnName;
            return new BnInceptionMulticlassTrainer(_context, options);
        }
    }
}
