using System.Globalization;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// The trainer's settings that only a later moment uses, checked before its counting passes read a row: where the
/// first checkpoint goes, where the fitted model scores, the weights the run starts from, and whether a batch fits
/// the arrays it is read into.
/// </summary>
internal static class SettingsUsedLater
{
    // What only the first checkpoint, or the fitted model, would use is checked before the counting passes:
    // otherwise a folder that is missing fails after an epoch, and a scoring device the backend lacks after
    // the whole run, its network thrown away.
    public static void Check(BnInceptionMulticlassTrainer.Options o)
    {
        if (DeviceName.Problem(o.Training.Device) is string training)
        {
            throw new ArgumentException($"Device: {training}", nameof(BnInceptionMulticlassTrainer.Options.Device));
        }

        if (DeviceName.Problem(o.Scoring.Device) is string scoring)
        {
            throw new ArgumentException($"Scoring.Device, where the fitted model scores: {scoring}", nameof(BnInceptionMulticlassTrainer.Options.Scoring));
        }

        // Rank 0 alone writes checkpoints: another rank's machine need not have the folder.
        if (o.CheckpointPath is not null && Engine.Distributed.MpiWorld.Join().Rank == 0 && OutputPath.Problem(o.CheckpointPath) is string checkpoint)
        {
            throw new ArgumentException($"CheckpointPath: {checkpoint}", nameof(BnInceptionMulticlassTrainer.Options.CheckpointPath));
        }
    }

    // The engine reads the weights a run starts from at its first step, after the counting passes, which fill an
    // AppendCacheCheckpoint's cache (every image decoded: hours, for ImageNet): weights that are no state dict, or
    // that do not fit the network, are refused here first (they are read twice).
    public static void CheckInitialWeights(BnInceptionOptions architecture, string path)
    {
        using var model = new BnInception(architecture);
        RunFiles.LoadInitialWeights(model, path);
    }

    // A batch's pixels (and scores) are read into one .NET array each: a batch larger than an array holds would
    // otherwise fail as an OverflowException, in the first pass or in the fitted model's first cursor.
    public static void CheckBatchesFitArrays(BnInceptionMulticlassTrainer.Options o, ImageFeatureLayout layout, int classes)
    {
        long trainingImages = Array.MaxLength / layout.Size;
        if (o.BatchSize > trainingImages)
        {
            throw new ArgumentOutOfRangeException(nameof(BnInceptionMulticlassTrainer.Options.BatchSize), o.BatchSize, string.Create(CultureInfo.InvariantCulture,
                $"BatchSize {o.BatchSize:N0} is more images of {layout.Channels}x{layout.Side}x{layout.Side} than one .NET array holds ({Array.MaxLength:N0} values): use at most {trainingImages:N0}."));
        }

        long scoringImages = Array.MaxLength / Math.Max(layout.Size, classes);
        if (o.Scoring.BatchSize > scoringImages)
        {
            throw new ArgumentOutOfRangeException(nameof(BnInceptionMulticlassTrainer.Options.Scoring), o.Scoring.BatchSize, string.Create(CultureInfo.InvariantCulture,
                $"Scoring.BatchSize {o.Scoring.BatchSize:N0} is more images of {layout.Channels}x{layout.Side}x{layout.Side} and {classes:N0} classes than one .NET array holds ({Array.MaxLength:N0} values): use at most {scoringImages:N0}."));
        }
    }
}
