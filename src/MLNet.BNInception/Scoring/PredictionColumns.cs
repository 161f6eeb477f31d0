using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;

namespace MLNet.BNInception.Scoring;

/// <summary>
/// The two columns ML.NET's multiclass trainers add, built for a given label, with the annotations
/// those trainers' estimators promise (the estimator borrows that promise, and
/// <c>EstimatorSchemaTests</c> holds the two together): <c>Score</c>, one Single per class, with the
/// class names as slot names when the label's key values are text and those values as
/// TrainingLabelValues when it has any; <c>PredictedLabel</c>, of the label's key type with its key
/// values. Both carry ScoreColumnKind, ScoreValueKind and a ScoreColumnSetId one above any in the
/// input, which is how ML.NET tells the columns of one scoring apart from an earlier one's.
/// </summary>
internal static class PredictionColumns
{
    public const string Score = "Score";
    public const string PredictedLabel = "PredictedLabel";
    private const string ScoreColumnKind = "ScoreColumnKind";
    private const string ScoreValueKind = "ScoreValueKind";
    private const string ScoreColumnSetId = "ScoreColumnSetId";
    private const string MulticlassClassification = "MulticlassClassification";

    // ML.NET's type for ScoreColumnSetId: a UInt32 key whose count is int.MaxValue.
    private static readonly KeyDataViewType ScoreColumnSetIdType = new(typeof(uint), int.MaxValue);

    /// <summary>The input schema with Score and PredictedLabel appended (hiding input columns of the same names, as ML.NET does).</summary>
    public static DataViewSchema Append(DataViewSchema input, LabelKey label)
    {
        uint setId = LargestScoreColumnSetId(input) + 1;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        builder.AddColumn(Score, new VectorDataViewType(NumberDataViewType.Single, label.Count), ScoreAnnotations(label, setId));
        builder.AddColumn(PredictedLabel, label.Type, PredictedLabelAnnotations(label, setId));
        return builder.ToSchema();
    }

    private static DataViewSchema.Annotations ScoreAnnotations(LabelKey label, uint setId)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        if (label.KeyValueType is TextDataViewType)
        {
            ReadOnlyMemory<char>[] names = label.ClassNames.Select(name => name.AsMemory()).ToArray();
            builder.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Length),
                (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
        }

        if (label.KeyValueType is { } keyValueType)
        {
            AddTrainingLabelValuesMethod.MakeGenericMethod(keyValueType.RawType).Invoke(null, [builder, label.Annotations]);
        }

        AddKinds(builder, "Score", setId);
        return builder.ToAnnotations();
    }

    private static DataViewSchema.Annotations PredictedLabelAnnotations(LabelKey label, uint setId)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(label.Annotations, _ => true);
        AddKinds(builder, "PredictedLabel", setId);
        return builder.ToAnnotations();
    }

    private static void AddKinds(DataViewSchema.Annotations.Builder builder, string valueKind, uint setId)
    {
        builder.Add(ScoreColumnSetId, ScoreColumnSetIdType, (ref uint value) => value = setId);
        builder.Add(ScoreColumnKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = MulticlassClassification.AsMemory());
        builder.Add(ScoreValueKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = valueKind.AsMemory());
    }

    private static readonly System.Reflection.MethodInfo AddTrainingLabelValuesMethod =
        typeof(PredictionColumns).GetMethod(nameof(AddTrainingLabelValues), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

    // The label's key values again, under the name ML.NET's scorers give them on a score column.
    private static void AddTrainingLabelValues<T>(DataViewSchema.Annotations.Builder builder, DataViewSchema.Annotations label)
    {
        DataViewSchema.Column keyValues = label.Schema["KeyValues"];
        builder.Add("TrainingLabelValues", keyValues.Type, label.GetGetter<VBuffer<T>>(keyValues));
    }

    private static uint LargestScoreColumnSetId(DataViewSchema input)
    {
        uint largest = 0;
        foreach (DataViewSchema.Column column in input)
        {
            if (column.Annotations.Schema.GetColumnOrNull(ScoreColumnSetId) is { Type: KeyDataViewType { RawType: Type raw } } setId && raw == typeof(uint))
            {
                uint value = 0;
                column.Annotations.GetValue(ScoreColumnSetId, ref value);
                largest = Math.Max(largest, value);
            }
        }

        return largest;
    }
}
