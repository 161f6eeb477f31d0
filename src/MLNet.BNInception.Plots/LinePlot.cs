using ScottPlot;

namespace MLNet.BNInception.Plots;

/// <summary>One named curve.</summary>
public sealed record Series(string Name, double[] X, double[] Y);

/// <summary>Line plots to PNG with ScottPlot, written atomically (a temporary file, then a rename).</summary>
public static class LinePlot
{
    /// <summary>Draws <paramref name="series"/> on one pair of axes and saves it as a PNG.</summary>
    public static void Save(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, int width = 800, int height = 500)
    {
        var plot = new Plot();
        AddLines(plot, series, markerSize: 0);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        SaveAtomically(path, temporary => plot.SavePng(temporary, width, height));
    }

    internal static void AddLines(Plot plot, IEnumerable<Series> series, float markerSize)
    {
        foreach (Series curve in series)
        {
            var line = plot.Add.Scatter(curve.X, curve.Y);
            line.LegendText = curve.Name;
            line.MarkerSize = markerSize;
            line.LineWidth = 2;
        }
    }

    // The temporary name keeps the .png ending: ScottPlot picks the format from it.
    internal static void SaveAtomically(string path, Action<string> save) => AtomicFile.Write(path, path + ".tmp.png", save);
}

/// <summary>Files written whole or not at all: to a temporary name beside them, then renamed.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="lines"/> to a temporary file beside <paramref name="path"/>, then renames it.</summary>
    public static void WriteAllLines(string path, IEnumerable<string> lines) =>
        Write(path, path + ".tmp", temporary => File.WriteAllLines(temporary, lines));

    internal static void Write(string path, string temporary, Action<string> write)
    {
        try
        {
            write(temporary);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
