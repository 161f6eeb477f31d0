using ScottPlot;

namespace MLNet.BNInception.Experiments.Plots;

/// <summary>One named curve.</summary>
internal sealed record Series(string Name, double[] X, double[] Y);

/// <summary>Line plots to PNG with ScottPlot, written atomically (a temporary file, then a rename).</summary>
internal static class CurvePlot
{
    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, int width = 800, int height = 500)
    {
        var plot = new Plot();
        foreach (Series curve in series)
        {
            var line = plot.Add.Scatter(curve.X, curve.Y);
            line.LegendText = curve.Name;
            line.MarkerSize = 0;
            line.LineWidth = 2;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        string temporary = path + ".tmp.png";
        plot.SavePng(temporary, width, height);
        File.Move(temporary, path, overwrite: true);
    }
}

/// <summary>Text files written whole or not at all.</summary>
internal static class AtomicFile
{
    public static void WriteAllLines(string path, IEnumerable<string> lines)
    {
        string temporary = path + ".tmp";
        File.WriteAllLines(temporary, lines);
        File.Move(temporary, path, overwrite: true);
    }
}
