using System.Globalization;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Plots;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Training curves beside a model: a PNG of loss and accuracy per epoch (training and, when there is
/// validation, validation; the kept epoch marked), drawn with ScottPlot, and every number in a CSV
/// of the same name (<c>curves.png</c> → <c>curves.csv</c>). Both are written whole under temporary
/// names before either is renamed into place, so neither is ever half-written or left beside the
/// other one of an earlier run. Files that are not earlier training curves are never replaced.
/// </summary>
public static class TrainingCurves
{
    /// <summary>The CSV's first line.</summary>
    public const string CsvHeader = "epoch,learning_rate,train_loss,train_accuracy,validation_loss,validation_accuracy";

    /// <summary>The CSV written beside <paramref name="pngPath"/>: the same name ending in .csv.</summary>
    public static string CsvPathFor(string pngPath) => Path.ChangeExtension(pngPath, ".csv");

    /// <summary>Draws the PNG and writes the CSV.</summary>
    /// <param name="pngPath">The chart to write: a .png file in an existing folder.</param>
    /// <param name="history">Metrics per epoch, as <see cref="BnInceptionPredictionTransformer.History"/> holds them.</param>
    /// <param name="bestEpoch">The epoch whose weights the model keeps, marked on the chart when there is validation; 0 for none.</param>
    /// <exception cref="ArgumentException"><see cref="CheckPath"/> refuses the path, or there are no epochs; nothing was written.</exception>
    public static void Save(string pngPath, IReadOnlyList<EpochMetrics> history, int bestEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(history);
        // The message names the path itself, and is shown as it stands (a warning after training).
        if (CheckPath(pngPath) is string problem)
        {
            throw new ArgumentException(problem);
        }

        if (history.Count == 0)
        {
            throw new ArgumentException("There are no epochs to plot.", nameof(history));
        }

        bool validated = history.All(epoch => epoch.ValidationLoss is not null);
        byte[] png = TrainingCurvesChart.Png("BN-Inception",
            history.Select(epoch => (double)epoch.Epoch).ToArray(),
            history.Select(epoch => epoch.TrainLoss).ToArray(),
            history.Select(epoch => epoch.TrainAccuracy).ToArray(),
            validated ? history.Select(epoch => epoch.ValidationLoss!.Value).ToArray() : [],
            validated ? history.Select(epoch => epoch.ValidationAccuracy!.Value).ToArray() : [],
            validated ? bestEpoch : 0);

        // No fsync: the model's history draws them again (SaveTrainingCurves), so a power cut that
        // loses them costs little. The CSV is renamed last, since it is what marks a PNG as ours.
        using AtomicFile.StagedFile newPng = AtomicFile.Stage(pngPath, file => file.Write(png), flushToDisk: false);
        using AtomicFile.StagedFile newCsv = AtomicFile.Stage(CsvPathFor(pngPath), file => WriteCsv(file, history), flushToDisk: false);
        newPng.Commit();
        newCsv.Commit();
    }

    /// <summary>
    /// Why training curves cannot be written to <paramref name="pngPath"/>, or null when they can:
    /// the path must end in .png and its folder exist; a PNG or CSV already there may be replaced
    /// only when it is an earlier run's training curves (the CSV beside it starts with
    /// <see cref="CsvHeader"/>), never someone's image or data. For checking a setting before hours
    /// of training.
    /// </summary>
    public static string? CheckPath(string? pngPath)
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
        if (!File.Exists(pngPath) && !File.Exists(csv))
        {
            return null;
        }

        string firstLine;
        try
        {
            firstLine = File.Exists(csv) ? File.ReadLines(csv).FirstOrDefault() ?? "" : "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"'{pngPath}': cannot read '{csv}' to see whether it holds earlier training curves: {e.Message}";
        }

        string existing = string.Join(" and ", new[] { pngPath, csv }.Where(File.Exists).Select(path => $"'{path}'"));
        return firstLine == CsvHeader
            ? null
            : $"'{pngPath}' would replace {existing}, which {(existing.Contains(" and ", StringComparison.Ordinal) ? "are" : "is")} not an earlier run's training curves: choose another name.";
    }

    private static void WriteCsv(Stream file, IReadOnlyList<EpochMetrics> history)
    {
        static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        using var csv = new StreamWriter(file, leaveOpen: true);
        csv.WriteLine(CsvHeader);
        foreach (EpochMetrics epoch in history)
        {
            csv.WriteLine(CsvText.Record([epoch.Epoch.ToString(CultureInfo.InvariantCulture), Number(epoch.LearningRate),
                Number(epoch.TrainLoss), Number(epoch.TrainAccuracy), Number(epoch.ValidationLoss), Number(epoch.ValidationAccuracy)]));
        }
    }
}
