using System.Globalization;
using MLNet.BNInception.Training;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Training curves beside a model: a PNG of loss and accuracy per epoch (training and, when there is
/// validation, validation; the kept epoch marked), drawn with ScottPlot, and every number in a CSV
/// of the same name (<c>curves.png</c> → <c>curves.csv</c>). Both are written whole or not at all.
/// </summary>
public static class TrainingCurves
{
    /// <summary>The CSV's first line.</summary>
    public const string CsvHeader = "epoch,learning_rate,train_loss,train_accuracy,validation_loss,validation_accuracy";

    /// <summary>The CSV written beside <paramref name="pngPath"/>: the same name ending in .csv.</summary>
    public static string CsvPathFor(string pngPath) => Path.ChangeExtension(pngPath, ".csv");

    /// <summary>Writes the CSV, then the PNG.</summary>
    /// <param name="pngPath">The chart to write: a .png file in an existing folder.</param>
    /// <param name="history">Metrics per epoch, as <see cref="BnInceptionPredictionTransformer.History"/> holds them.</param>
    /// <param name="bestEpoch">The epoch whose weights the model keeps, marked on the chart when there is validation; 0 for none.</param>
    /// <exception cref="ArgumentException">The path is not a .png in an existing folder, would overwrite a CSV that is not a training-curves file, or there are no epochs.</exception>
    /// <exception cref="InvalidOperationException">The chart drawer is not available here (the message says why); nothing was written.</exception>
    public static void Save(string pngPath, IReadOnlyList<EpochMetrics> history, int bestEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (CheckPathOnly(pngPath) is string problem)
        {
            throw new ArgumentException(problem, nameof(pngPath));
        }

        if (history.Count == 0)
        {
            throw new ArgumentException("There are no epochs to plot.", nameof(history));
        }

        if (PlotsLoadContext.Unavailable() is string reason)
        {
            throw new InvalidOperationException($"Cannot draw training curves: {reason}.");
        }

        WriteCsv(CsvPathFor(pngPath), history);
        bool validated = history.All(epoch => epoch.ValidationLoss is not null);
        PlotsLoadContext.SaveTrainingCurves(pngPath, "BN-Inception",
            history.Select(epoch => (double)epoch.Epoch).ToArray(),
            history.Select(epoch => epoch.TrainLoss).ToArray(),
            history.Select(epoch => epoch.TrainAccuracy).ToArray(),
            validated ? history.Select(epoch => epoch.ValidationLoss!.Value).ToArray() : [],
            validated ? history.Select(epoch => epoch.ValidationAccuracy!.Value).ToArray() : [],
            validated ? bestEpoch : 0);
    }

    /// <summary>
    /// Why training curves cannot be written to <paramref name="pngPath"/>, or null when they can:
    /// the path must end in .png, its folder must exist, the CSV beside it, if there is one, must be
    /// an earlier training-curves file (never someone's data), and the chart drawer must be
    /// available here. For checking a setting before hours of training.
    /// </summary>
    public static string? CheckPath(string? pngPath) => CheckPathOnly(pngPath) ?? PlotsLoadContext.Unavailable();

    private static string? CheckPathOnly(string? pngPath)
    {
        if (string.IsNullOrWhiteSpace(pngPath))
        {
            return "The training-curves path is empty.";
        }

        if (!string.Equals(Path.GetExtension(pngPath), ".png", StringComparison.OrdinalIgnoreCase))
        {
            return $"'{pngPath}' does not end in .png: training curves are a PNG (with a CSV of the same name beside it).";
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(pngPath))!;
        if (!Directory.Exists(folder))
        {
            return $"'{pngPath}': the folder '{folder}' does not exist.";
        }

        string csv = CsvPathFor(pngPath);
        if (File.Exists(csv) && File.ReadLines(csv).FirstOrDefault() != CsvHeader)
        {
            return $"'{pngPath}' would replace '{csv}', which is not a training-curves CSV: choose another name.";
        }

        return null;
    }

    private static void WriteCsv(string path, IReadOnlyList<EpochMetrics> history)
    {
        static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        IEnumerable<string> rows = history.Select(epoch => string.Join(',', epoch.Epoch.ToString(CultureInfo.InvariantCulture), Number(epoch.LearningRate),
            Number(epoch.TrainLoss), Number(epoch.TrainAccuracy), Number(epoch.ValidationLoss), Number(epoch.ValidationAccuracy)));
        string temporary = path + ".tmp";
        try
        {
            File.WriteAllLines(temporary, rows.Prepend(CsvHeader));
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
