using System.Globalization;
using System.Text;
using Microsoft.ML.Data;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// The confusion table of <c>evaluate</c>'s text: ML.NET's own up to <see cref="MostClassesShown"/>
/// classes; beyond, the most frequent confusions instead. ML.NET prints every cell whatever the
/// number of classes: for ImageNet's 1,000 that is a million numbers, some 6 MB no terminal shows.
/// ML.NET's table also prints the class names as they are, so where one holds a character that
/// <see cref="Printable"/> escapes (a line break, an escape sequence, a direction override), every
/// confusion is listed instead, most frequent first, its names quoted and escaped.
/// </summary>
internal static class ConfusionTable
{
    /// <summary>The most classes whose whole table is printed: 20 take about 170 columns already.</summary>
    public const int MostClassesShown = 20;

    /// <summary>How many of the most frequent confusions are listed in place of a larger table.</summary>
    public const int ConfusionsListed = 10;

    /// <summary>The table, or the list of the most frequent confusions, with <paramref name="classes"/> in the table's order.</summary>
    public static string Text(ConfusionMatrix confusion, IReadOnlyList<string> classes)
    {
        int count = confusion.Counts.Count;
        bool namesPlain = classes.All(Printable.IsPlain);
        if (count <= MostClassesShown && namesPlain)
        {
            return confusion.GetFormattedConfusionTable();
        }

        // Largest count first; ties in the table's order, so the list does not depend on the sort.
        var confusions = Enumerable.Range(0, count)
            .SelectMany(label => Enumerable.Range(0, count).Where(predicted => predicted != label).Select(predicted => (label, predicted, rows: confusion.Counts[label][predicted])))
            .Where(cell => cell.rows > 0)
            .OrderByDescending(cell => cell.rows).ThenBy(cell => cell.label).ThenBy(cell => cell.predicted)
            .Take(count > MostClassesShown ? ConfusionsListed : int.MaxValue)
            .ToList();
        var text = new StringBuilder();
        text.AppendLine(count > MostClassesShown
            ? string.Create(CultureInfo.InvariantCulture, $"The confusion table of {count} classes is not printed ({count} x {count} cells; --json writes its counts).")
            : "The confusion table is not printed: a class name holds a control or bidirectional formatting character, which it would print as it is (--json writes its counts).");
        if (confusions.Count == 0)
        {
            text.AppendLine("No row was predicted as a class other than its label.");
            return text.ToString();
        }

        text.AppendLine(count > MostClassesShown
            ? string.Create(CultureInfo.InvariantCulture, $"The {confusions.Count} most frequent confusions, label -> predicted: rows")
            : "Every confusion, the most frequent first, label -> predicted: rows");
        foreach ((int label, int predicted, double rows) in confusions)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {Name(classes, label)} -> {Name(classes, predicted)}: {rows:0.##}");
        }

        return text.ToString();
    }

    private static string Name(IReadOnlyList<string> classes, int index) =>
        index < classes.Count ? Printable.QuotedName(classes[index]) : index.ToString(CultureInfo.InvariantCulture);
}
