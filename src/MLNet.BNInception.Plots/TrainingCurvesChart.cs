using ScottPlot;

namespace MLNet.BNInception.Plots;

/// <summary>
/// Loss and accuracy per epoch, side by side in one PNG: the chart the ML.NET trainer and
/// <c>bninception train --curves</c> write beside a model.
/// </summary>
public static class TrainingCurvesChart
{
    /// <summary>Draws the curves, as a PNG.</summary>
    /// <param name="title">Shown above both panels.</param>
    /// <param name="epochs">Epoch numbers, counting from 1.</param>
    /// <param name="trainLoss">Mean training loss of each epoch.</param>
    /// <param name="trainAccuracy">Training accuracy of each epoch, as a fraction.</param>
    /// <param name="validationLoss">Validation loss of each epoch, or empty without validation.</param>
    /// <param name="validationAccuracy">Validation accuracy of each epoch as a fraction, or empty.</param>
    /// <param name="bestEpoch">The epoch whose weights the model keeps (marked when there is validation), or 0.</param>
    public static byte[] Png(string title, double[] epochs, double[] trainLoss, double[] trainAccuracy,
        double[] validationLoss, double[] validationAccuracy, int bestEpoch)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        Require(trainLoss, epochs, nameof(trainLoss), allowEmpty: false);
        Require(trainAccuracy, epochs, nameof(trainAccuracy), allowEmpty: false);
        Require(validationLoss, epochs, nameof(validationLoss), allowEmpty: true);
        Require(validationAccuracy, epochs, nameof(validationAccuracy), allowEmpty: true);
        if (epochs.Length == 0)
        {
            throw new ArgumentException("There are no epochs to plot.", nameof(epochs));
        }

        var chart = new Multiplot();
        chart.AddPlots(2);
        chart.Layout = new ScottPlot.MultiplotLayouts.Columns();
        bool validated = validationLoss.Length > 0;

        Plot loss = chart.GetPlot(0);
        LinePlot.AddLines(loss, Curves(epochs, trainLoss, validationLoss, scale: 1), markerSize: 6);
        Finish(loss, $"{title}: loss", "Loss (cross-entropy)", validated ? bestEpoch : 0, Alignment.UpperRight);

        Plot accuracy = chart.GetPlot(1);
        LinePlot.AddLines(accuracy, Curves(epochs, trainAccuracy, validationAccuracy, scale: 100), markerSize: 6);
        Finish(accuracy, $"{title}: accuracy", "Accuracy (%)", validated ? bestEpoch : 0, Alignment.LowerRight);

        using Image image = chart.Render(1200, 450);
        return image.GetImageBytes(ImageFormat.Png);
    }

    private static IEnumerable<Series> Curves(double[] epochs, double[] training, double[] validation, double scale)
    {
        // Training figures are means over the epoch's augmented batches while the weights still
        // move, validation figures are measured after it: the labels say so, since the validation
        // curve often lies above the training one for that reason.
        yield return new Series("training (during the epoch)", epochs, training.Select(value => value * scale).ToArray());
        if (validation.Length > 0)
        {
            yield return new Series("validation (after it)", epochs, validation.Select(value => value * scale).ToArray());
        }
    }

    private static void Finish(Plot plot, string title, string yLabel, int bestEpoch, Alignment legend)
    {
        if (bestEpoch > 0)
        {
            var best = plot.Add.VerticalLine(bestEpoch);
            best.LinePattern = LinePattern.Dashed;
            best.Color = Colors.Gray;
            best.LegendText = $"kept: epoch {bestEpoch}";
        }

        // Epochs are whole numbers; without this a short run gets ticks at 1.2, 1.4, ….
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title(title);
        plot.XLabel("Epoch");
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
    }

    private static void Require(double[] values, double[] epochs, string name, bool allowEmpty)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length != epochs.Length && !(allowEmpty && values.Length == 0))
        {
            throw new ArgumentException($"{name} has {values.Length} values for {epochs.Length} epochs.", name);
        }
    }
}
