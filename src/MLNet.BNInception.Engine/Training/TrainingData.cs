namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// What a run trains and validates on, as the caller that prepares the data knows it: the names of
/// the classes in the order of their indices, and how the validation rows were chosen. The ML.NET
/// trainer gives it (a label key's values, its split); the run keeps it in every checkpoint it
/// writes, so that a resume on data whose classes are named or numbered otherwise, or split
/// otherwise, is refused before any row is read. Label indices alone cannot tell: the same count of
/// classes in another order would train on, each output meaning another class than before.
/// </summary>
/// <param name="ClassNames">The classes, index by index.</param>
/// <param name="Validation">How the validation rows were chosen, in words a message can quote; compared as text.</param>
/// <param name="TrainingRows">The training rows, once counted; compared where both sides have counted them.</param>
internal sealed record TrainingData(IReadOnlyList<string> ClassNames, string Validation, long? TrainingRows = null)
{
    /// <summary>
    /// What differs between the run this described (<paramref name="earlier"/>) and this data, in
    /// words, or null when nothing does.
    /// </summary>
    public string? DifferenceFrom(TrainingData earlier)
    {
        var differences = new List<string>();
        if (!earlier.ClassNames.SequenceEqual(ClassNames, StringComparer.Ordinal))
        {
            differences.Add(earlier.ClassNames.Count != ClassNames.Count
                ? $"it trained {earlier.ClassNames.Count} classes ({Listed(earlier.ClassNames)}), this data has {ClassNames.Count} ({Listed(ClassNames)})"
                : $"its classes were, in the order of their indices, {Listed(earlier.ClassNames)}; this data's are {Listed(ClassNames)} " +
                  "(labels are numbered in the order they first appear in the data, so a list in another order numbers them otherwise)");
        }

        if (!string.Equals(earlier.Validation, Validation, StringComparison.Ordinal))
        {
            differences.Add($"it validated on {earlier.Validation}, this run would validate on {Validation}");
        }

        if (earlier.TrainingRows is long rowsThen && TrainingRows is long rows && rowsThen != rows)
        {
            differences.Add($"it trained on {rowsThen} rows, this data has {rows}");
        }

        return differences.Count == 0 ? null : string.Join("; ", differences);
    }

    // At most 10 names: a message about thousands of classes stays readable.
    private static string Listed(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(10).Select(name => $"'{name}'")) + (names.Count > 10 ? $", … ({names.Count - 10} more)" : "");
}
