using Microsoft.ML.Data;
using Microsoft.ML;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// The label column's key type: its class count and, when it has them, its key values (the class
/// names, as text), which become the Score column's slot names and PredictedLabel's key values.
/// </summary>
internal sealed class LabelKey
{
    private static readonly System.Reflection.MethodInfo TextsMethod =
        typeof(LabelKey).GetMethod(nameof(Texts), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;

    /// <summary>
    /// The most classes a model can have: a saved model holds its network as one ONNX protobuf message, of at most
    /// 2 GiB, and the classifier takes 4 KiB per class (1,024 float weights); 500,000 leave about 100 MB for the rest.
    /// </summary>
    public const int MaxClasses = 500_000;

    private LabelKey(KeyDataViewType type, DataViewSchema.Annotations annotations, IReadOnlyList<string> names)
    {
        Type = type;
        Annotations = annotations;
        ClassNames = names;
    }

    /// <summary>The label's key type, which PredictedLabel takes.</summary>
    public KeyDataViewType Type { get; }

    /// <summary>The label's KeyValues annotation (or none), which PredictedLabel takes.</summary>
    public DataViewSchema.Annotations Annotations { get; }

    /// <summary>Class names by class index: the key values as text, or "0", "1", … without them.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The item type of the key values, or null without them.</summary>
    public PrimitiveDataViewType? KeyValueType => Annotations.Schema.GetColumnOrNull("KeyValues")?.Type is VectorDataViewType { ItemType: PrimitiveDataViewType item } ? item : null;

    public int Count => (int)Type.Count;

    /// <summary>The label column's key information; the message of a mismatch names the column and says what is expected.</summary>
    public static LabelKey Of(DataViewSchema.Column column)
    {
        if (column.Type is KeyDataViewType { RawType: Type raw } && raw != typeof(uint))
        {
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} is {column.Type}: a key of UInt32, as MapValueToKey makes it, is expected (ML.NET's multiclass trainers predict UInt32 keys). " +
                $"Map the labels with mlContext.Transforms.Conversion.MapValueToKey(\"{column.Name}\").");
        }

        if (column.Type is KeyDataViewType { Count: < 2 } one)
        {
            // MapValueToKey made it, from labels that hold one class (or none): mapping again would not help.
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} is {column.Type}, a key of {one.Count} class{(one.Count == 1 ? "" : "es")}: a classifier needs at least 2 classes. " +
                "The data it was mapped from holds only one label value; train on rows of every class.");
        }

        if (column.Type is not KeyDataViewType key || key.Count > int.MaxValue)
        {
            string count = column.Type is KeyDataViewType single ? $" of {single.Count} class{(single.Count == 1 ? "" : "es")}" : "";
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} is {column.Type}{count}: a key type with at least 2 classes is expected. " +
                $"Map the labels to keys first: mlContext.Transforms.Conversion.MapValueToKey(\"{column.Name}\").");
        }

        if (key.Count > MaxClasses)
        {
            // Refused before the class names are made (50 million of them took 2.5 GB), and before libtorch's allocator,
            // or Model.Save after training, would fail.
            throw new ArgumentOutOfRangeException(null, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{column.Name} is a key of {key.Count:N0} classes; a model has at most {MaxClasses:N0}: a saved model holds its network as one ONNX message, " +
                $"of at most 2 GiB, and the classifier takes 4 KiB per class."));
        }

        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(column.Annotations, name => name == "KeyValues");
        DataViewSchema.Annotations annotations = builder.ToAnnotations();
        return new LabelKey(key, annotations, Names(column, (int)key.Count));
    }

    private static string[] Names(DataViewSchema.Column column, int count)
    {
        DataViewSchema.Column? keyValues = column.Annotations.Schema.GetColumnOrNull("KeyValues");
        if (keyValues is null || keyValues.Value.Type is not VectorDataViewType { ItemType: PrimitiveDataViewType } type || type.Size != count)
        {
            return Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        if (type.ItemType is TextDataViewType)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.GetKeyValues(ref names);
            return names.DenseValues().Select(name => name.ToString()).ToArray();
        }

        // Numeric key values (a label of numbers mapped to keys): their text, for slot names.
        return (string[])TextsMethod.MakeGenericMethod(type.ItemType.RawType).Invoke(null, [column])!;
    }

    private static string[] Texts<T>(DataViewSchema.Column column)
    {
        VBuffer<T> values = default;
        column.GetKeyValues(ref values);
        return values.DenseValues().Select(value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "").ToArray();
    }
}
