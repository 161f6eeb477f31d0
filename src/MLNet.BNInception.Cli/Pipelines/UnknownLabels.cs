using System.Globalization;
using Microsoft.ML;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// The rows of an evaluation file whose label is none of the model's classes (or is empty): the model's
/// label mapping gives them no key, and ML.NET's evaluator leaves such rows out without a word, so they
/// are found first, to be refused or reported.
/// </summary>
/// <param name="Labels">Each unknown label, in the order first met, with how many rows hold it and the first few of them.</param>
internal sealed record UnknownLabels(IReadOnlyList<UnknownLabels.Label> Labels)
{
    private const int RowsNamed = 5;

    /// <param name="Text">The label as the file holds it.</param>
    /// <param name="Rows">How many rows hold it.</param>
    /// <param name="FirstRows">The first few of them (counting from 0).</param>
    internal sealed record Label(string Text, long Rows, IReadOnlyList<long> FirstRows);

    public long Rows => Labels.Sum(label => label.Rows);

    /// <summary>
    /// Reads the label of every row twice in step: as the file's text, and as the key <paramref name="mapped"/>
    /// (the model's pipeline over the same rows) gives it, where 0 means the mapping does not know it.
    /// Only label columns are read, so no image is loaded.
    /// </summary>
    public static UnknownLabels Find(IDataView texts, IDataView mapped, string labelColumn)
    {
        using DataViewRowCursor textCursor = texts.GetRowCursor([texts.Schema[labelColumn]]);
        using DataViewRowCursor keyCursor = mapped.GetRowCursor([mapped.Schema[labelColumn]]);
        ValueGetter<ReadOnlyMemory<char>> getText = textCursor.GetGetter<ReadOnlyMemory<char>>(texts.Schema[labelColumn]);
        ValueGetter<uint> getKey = keyCursor.GetGetter<uint>(mapped.Schema[labelColumn]);
        var found = new Dictionary<string, (long Rows, List<long> FirstRows)>();
        var order = new List<string>();
        ReadOnlyMemory<char> text = default;
        uint key = 0;
        for (long row = 0; keyCursor.MoveNext() && textCursor.MoveNext(); row++)
        {
            getKey(ref key);
            if (key != 0)
            {
                continue;
            }

            getText(ref text);
            string label = text.ToString();
            if (!found.TryGetValue(label, out (long Rows, List<long> FirstRows) seen))
            {
                seen = (0, []);
                order.Add(label);
            }

            if (seen.FirstRows.Count < RowsNamed)
            {
                seen.FirstRows.Add(row);
            }

            found[label] = (seen.Rows + 1, seen.FirstRows);
        }

        return new UnknownLabels([.. order.Select(label => new Label(label, found[label].Rows, found[label].FirstRows))]);
    }

    /// <summary>
    /// What tells apart the labels <see cref="Describe"/> names from the classes they print like, or nearly: a label that
    /// is a class in another Unicode normal form ('Cafe' and a combining accent, where the class has 'é') prints the
    /// same; one that is a class in another case differs by a letter. Empty when none is such.
    /// </summary>
    public string LookalikesOf(IReadOnlyList<string> classes)
    {
        var hints = new List<string>();
        foreach (Label label in Labels.Take(LabelsNamed))
        {
            string text = Normalized(label.Text);
            if (classes.FirstOrDefault(name => name != label.Text && Normalized(name) == text) is string sameText)
            {
                hints.Add($"'{BnInceptionCommandLine.OneLine(label.Text)}' is the class '{BnInceptionCommandLine.OneLine(sameText)}' in another Unicode normal form (other code points, printed alike)");
            }
            else if (classes.FirstOrDefault(name => string.Equals(Normalized(name), text, StringComparison.OrdinalIgnoreCase)) is string sameLetters)
            {
                hints.Add($"'{BnInceptionCommandLine.OneLine(label.Text)}' is the class '{BnInceptionCommandLine.OneLine(sameLetters)}' in another case");
            }
        }

        return hints.Count == 0 ? "" : $" ({string.Join("; ", hints)}: labels are compared code point by code point)";
    }

    // NFC, or the text as it is where it cannot be normalized (a lone surrogate).
    private static string Normalized(string text)
    {
        try
        {
            return text.Normalize(System.Text.NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            return text;
        }
    }

    /// <summary>The most labels <see cref="Describe"/> names: a file of new classes must not make a message of megabytes.</summary>
    private const int LabelsNamed = 20;

    /// <summary>"'Mitten' (2 rows: 3, 7), '' (1 row: 8)": each label (the first 20) with its count and first rows, printable.</summary>
    public string Describe() => string.Join(", ", Labels.Take(LabelsNamed).Select(label => string.Create(CultureInfo.InvariantCulture,
        $"'{BnInceptionCommandLine.OneLine(label.Text)}' ({label.Rows} row{(label.Rows == 1 ? "" : "s")}: {string.Join(", ", label.FirstRows)}{(label.Rows > label.FirstRows.Count ? ", …" : "")})")))
        + (Labels.Count > LabelsNamed ? string.Create(CultureInfo.InvariantCulture, $", and {Labels.Count - LabelsNamed} more labels") : "");
}
