using System.Globalization;
using MLNet.BNInception.Cli.Progress;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Training;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>What a training run did.</summary>
internal sealed record TrainingReport(string ModelPath, string CheckpointPath, IReadOnlyList<EpochMetrics> Epochs, int Classes, long TrainRows,
    TimeSpan Elapsed, bool Interrupted, TrainingPrecision Precision = TrainingPrecision.Float32, string? CurvesPath = null)
{
    public string Describe()
    {
        if (Interrupted)
        {
            return $"interrupted after {ProgressDisplay.FormatDuration(Elapsed)}: the checkpoint '{CheckpointPath}' holds the run; rerun the same command with --resume to continue it.";
        }

        EpochMetrics? last = Epochs.Count > 0 ? Epochs[^1] : null;
        string validation = last?.ValidationAccuracy is { } accuracy
            ? string.Create(CultureInfo.InvariantCulture, $", validation loss {last.ValidationLoss:F4}, accuracy {accuracy:P2}")
            : "";
        string metrics = last is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $"; last epoch: train loss {last.TrainLoss:F4}, accuracy {last.TrainAccuracy:P2}{validation}");
        string curves = CurvesPath is null ? "" : $"; training curves in {CurvesPath} and {TrainingCurves.CsvPathFor(CurvesPath)}";
        return string.Create(CultureInfo.InvariantCulture,
            $"trained on {TrainRows:N0} images of {Classes} classes for {Epochs.Count} epoch{(Epochs.Count == 1 ? "" : "s")}{(Precision == TrainingPrecision.BFloat16Mixed ? " in mixed bfloat16" : "")} in {ProgressDisplay.FormatDuration(Elapsed)}{metrics}. Saved {ModelPath}{curves}.");
    }
}
