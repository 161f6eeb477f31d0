using System.Globalization;
using System.Text;

namespace MLNet.BNInception.Data;

/// <summary>Writes a <see cref="ConfusionMatrix"/> in the text layout ML.NET prints for a multiclass evaluation.</summary>
internal static class ConfusionTableFormatter
{
    // The row-label column is at least as wide as "PREDICTED" (and "Precision").
    private const int MinLabelColumnWidth = 9;

    public static string Format(ConfusionMatrix matrix)
    {
        int n = matrix.NumberOfClasses;
        IReadOnlyList<string> names = matrix.ClassNames;
        int cellWidth = n == 2 ? 8 : 5;
        int longestName = names.Max(name => name.Length);

        // Names too long for a header cell are replaced by class indices there; the rows then show
        // "index. name" so the reader can match them up.
        bool indexHeader = longestName > cellWidth;
        int indexWidth = indexHeader ? (n - 1).ToString(CultureInfo.InvariantCulture).Length : 0;
        int labelWidth = Math.Max(MinLabelColumnWidth, indexHeader ? longestName + indexWidth + 2 : longestName);
        string labelPad = new(' ', labelWidth - MinLabelColumnWidth);
        // Each cell is " value |", so a rule spans cellWidth + 3 characters per class.
        string rule = new('=', n * (cellWidth + 3));

        var text = new StringBuilder();
        // ML.NET's binary table puts a ratio line here; the multiclass one leaves it empty.
        text.AppendLine();
        text.AppendLine("Confusion table");
        text.Append("          ").Append(labelPad).Append("||").AppendLine(rule);

        text.Append("PREDICTED ").Append(labelPad).Append("||");
        for (int c = 0; c < n; c++)
        {
            string header = indexHeader ? c.ToString(CultureInfo.InvariantCulture) : names[c];
            text.Append(' ').Append(header.PadLeft(cellWidth)).Append(" |");
        }

        text.AppendLine(" Recall");
        text.Append("TRUTH     ").Append(labelPad).Append("||").AppendLine(rule);

        for (int actual = 0; actual < n; actual++)
        {
            string label = indexHeader
                ? actual.ToString(CultureInfo.InvariantCulture).PadLeft(indexWidth) + ". " + names[actual].PadLeft(labelWidth - indexWidth - 2)
                : names[actual].PadLeft(labelWidth);
            text.Append(label).Append(" ||");
            for (int predicted = 0; predicted < n; predicted++)
            {
                string count = matrix.Counts[actual][predicted].ToString("N0", CultureInfo.InvariantCulture);
                text.Append(' ').Append(count.PadLeft(cellWidth)).Append(" |");
            }

            text.Append(' ').AppendLine(matrix.PerClassRecall[actual].ToString("F4", CultureInfo.InvariantCulture).PadLeft(5));
        }

        text.Append("          ").Append(labelPad).Append("||").AppendLine(rule);
        text.Append("Precision ").Append(labelPad).Append("||");
        for (int c = 0; c < n; c++)
        {
            text.Append(matrix.PerClassPrecision[c].ToString("N4", CultureInfo.InvariantCulture).PadLeft(cellWidth + 1)).Append(" |");
        }

        text.AppendLine();
        return text.ToString();
    }
}
