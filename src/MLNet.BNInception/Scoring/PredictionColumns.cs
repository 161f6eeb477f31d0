using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;

namespace MLNet.BNInception.Scoring;

/// <summary>
/// The two columns ML.NET's multiclass trainers add, built for a given label: <c>Score</c>, one
/// Single per class with the class names as slot names, and <c>PredictedLabel</c>, of the label's
/// key type with its key values; both carry ML.NET's ScoreColumnKind and ScoreValueKind annotations.
/// </summary>
internal static class PredictionColumns
{
    public const string Score = "Score";
    public const string PredictedLabel = "PredictedLabel";
    private const string ScoreColumnKind = "ScoreColumnKind";
    private const string ScoreValueKind = "ScoreValueKind";
    private const string MulticlassClassification = "MulticlassClassification";

    /// <summary>The input schema with Score and PredictedLabel appended (hiding input columns of the same names, as ML.NET does).</summary>
    public static DataViewSchema Append(DataViewSchema input, LabelKey label)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        builder.AddColumn(Score, new VectorDataViewType(NumberDataViewType.Single, label.Count), ScoreAnnotations(label));
        builder.AddColumn(PredictedLabel, label.Type, PredictedLabelAnnotations(label));
        return builder.ToSchema();
    }

    private static DataViewSchema.Annotations ScoreAnnotations(LabelKey label)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        ReadOnlyMemory<char>[] names = label.ClassNames.Select(name => name.AsMemory()).ToArray();
        builder.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Length),
            (ref VBuffer<ReadOnlyMemory<char>> value) => value = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
        AddKinds(builder, "Score");
        return builder.ToAnnotations();
    }

    private static DataViewSchema.Annotations PredictedLabelAnnotations(LabelKey label)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(label.Annotations, _ => true);
        AddKinds(builder, "PredictedLabel");
        return builder.ToAnnotations();
    }

    private static void AddKinds(DataViewSchema.Annotations.Builder builder, string valueKind)
    {
        builder.Add(ScoreColumnKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = MulticlassClassification.AsMemory());
        builder.Add(ScoreValueKind, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = valueKind.AsMemory());
    }
}
