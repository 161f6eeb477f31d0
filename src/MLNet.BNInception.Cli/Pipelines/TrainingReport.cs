using System.Globalization;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Progress;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Images;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>What a training run did.</summary>
/// <param name="TrainImages">The training rows whose images were loaded: what the network trained on.</param>
/// <param name="KeptEpoch">The epoch whose weights the saved model holds (with validation, the best one); 0 for the last.</param>
/// <param name="TrainRows">The rows of the training CSV, kept and skipped.</param>
/// <param name="Skipped">The training rows <c>--on-invalid-image skip</c> left out, by reason; empty for none.</param>
/// <param name="InterruptedBeforeTraining">Stopped before the trainer began: no checkpoint of this run exists (one at its path is older).</param>
internal sealed record TrainingReport(string ModelPath, string CheckpointPath, IReadOnlyList<EpochMetrics> Epochs, int Classes, long TrainImages,
    TimeSpan Elapsed, bool Interrupted, TrainingPrecision Precision = TrainingPrecision.Float32, string? CurvesPath = null, int KeptEpoch = 0,
    long TrainRows = 0, IReadOnlyList<(InvalidImageReason Reason, long Rows)>? Skipped = null, bool InterruptedBeforeTraining = false)
{
    /// <summary>This process's rank under mpirun; only rank 0 saves the model and hears of each epoch.</summary>
    public int Rank { get; init; }

    /// <summary>
    /// The epochs this process trained: fewer than <see cref="Epochs"/> when it resumed a run, whose
    /// earlier epochs took time this process did not measure; null when it counted none.
    /// </summary>
    public int? EpochsInThisRun { get; init; }

    /// <summary>The rows --valid-fraction held out for validation, not counted in <see cref="TrainImages"/>.</summary>
    public long HeldOut { get; init; }

    public string Describe()
    {
        if (Rank != 0)
        {
            // Rank 0 writes the checkpoint, perhaps on another machine, and says whether and how to resume.
            return Interrupted
                ? $"rank {Rank}: interrupted after {ProgressDisplay.FormatDuration(Elapsed)}; rank 0 says whether its checkpoint holds the run."
                : $"rank {Rank}: trained with the other ranks in {ProgressDisplay.FormatDuration(Elapsed)}; rank 0 saves the model to {Printable.Escaped(ModelPath)}.";
        }

        if (Interrupted && (InterruptedBeforeTraining || !File.Exists(CheckpointPath)))
        {
            // Stopped before the first checkpoint (while the images were being counted, say): there is
            // nothing to resume, and --resume would refuse the missing checkpoint.
            return $"interrupted after {ProgressDisplay.FormatDuration(Elapsed)}, before any checkpoint was written: nothing was trained; rerun the same command without --resume to start again.";
        }

        if (Interrupted)
        {
            return $"interrupted after {ProgressDisplay.FormatDuration(Elapsed)}: the checkpoint '{Printable.Escaped(CheckpointPath)}' holds the run; rerun the same command with --resume to continue it.";
        }

        // The figures of the model that was saved: with validation, the best epoch's, which need not be the last.
        EpochMetrics? kept = Epochs.FirstOrDefault(epoch => epoch.Epoch == KeptEpoch) ?? (Epochs.Count > 0 ? Epochs[^1] : null);
        string validation = kept?.ValidationAccuracy is { } accuracy
            ? string.Create(CultureInfo.InvariantCulture, $", validation loss {kept.ValidationLoss:F4}, accuracy {accuracy:P2}")
            : "";
        string which = kept is null ? ""
            : kept == Epochs[^1] ? $"epoch {kept.Epoch} (the last)"
            : $"epoch {kept.Epoch} (best validation; the last was {Epochs[^1].Epoch})";
        string metrics = kept is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $"; the saved model is {which}: train loss {kept.TrainLoss:F4}, accuracy {kept.TrainAccuracy:P2}{validation}");
        string curves = CurvesPath is null ? "" : $"; training curves in {Printable.Escaped(CurvesPath)} and {Printable.Escaped(TrainingCurves.CsvPathFor(CurvesPath))}";
        long skippedRows = Skipped?.Sum(pair => pair.Rows) ?? 0;
        string skipped = skippedRows == 0 ? "" : string.Create(CultureInfo.InvariantCulture,
            $" ({skippedRows:N0} of the {TrainRows:N0} rows skipped, their images cannot be loaded: {SkippedImages.Describe(Skipped!)})");
        // Each part is formatted on its own: an interpolated string nested in another takes the current culture.
        string heldOut = HeldOut == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({HeldOut:N0} more held out for validation)");
        return string.Create(CultureInfo.InvariantCulture,
            $"trained on {TrainImages:N0} images{skipped}{heldOut} of {Classes} classes for {Epochs.Count} epoch{(Epochs.Count == 1 ? "" : "s")}{(Precision == TrainingPrecision.BFloat16Mixed ? " in mixed bfloat16" : "")} {Duration()}{metrics}. Saved {Printable.Escaped(ModelPath)}{curves}.");
    }

    // Elapsed is this process's time: for a resumed run it says which of the epochs it covers.
    private string Duration() => EpochsInThisRun is not { } trained || trained >= Epochs.Count
        ? $"in {ProgressDisplay.FormatDuration(Elapsed)}"
        : trained == 0
            ? $"(this run trained none of them: the checkpoint's run had ended; {ProgressDisplay.FormatDuration(Elapsed)})"
            : $"(this run trained the last {trained} of them, in {ProgressDisplay.FormatDuration(Elapsed)})";
}
