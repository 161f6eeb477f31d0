using ScottPlot;

namespace MLNet.BNInception.Plots;

/// <summary>One named curve.</summary>
public sealed record Series(string Name, double[] X, double[] Y);

/// <summary>
/// Line plots drawn with ScottPlot, as the bytes of a PNG file. Writing them is the caller's: the
/// engine's one atomic file write, which this assembly (ScottPlot only) does not reference.
/// </summary>
public static class LinePlot
{
    /// <summary>Draws <paramref name="series"/> on one pair of axes, as a PNG.</summary>
    public static byte[] Png(string title, string xLabel, string yLabel, IReadOnlyList<Series> series, int width = 800, int height = 500)
    {
        var plot = new Plot();
        AddLines(plot, series, markerSize: 0);
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        using Image image = plot.GetImage(width, height);
        return image.GetImageBytes(ImageFormat.Png);
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
}
