using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.IO;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// What <c>train</c> says when its data cannot be trained on, in the tool's words: the list it read
/// (<c>--train</c>, <c>--valid</c>) and its options, not the library's names for them.
/// </summary>
internal static class TrainingFailures
{
    /// <summary>Every row of --train has one label (the key MapValueToKey made from them has one value).</summary>
    public static CommandLineException OneClass(TrainingSettings settings, DataViewSchema.Column label)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        return CommandLineException.UnreadableInput(
            $"every row of '{settings.TrainPath}' has the same {settings.LabelColumn}, '{Printable.Escaped(names.DenseValues().FirstOrDefault().ToString())}': " +
            "a classifier needs rows of 2 classes at least");
    }

    /// <summary>
    /// Data that cannot be trained on, named by the option that gave it: the weights of --init-weights, the checkpoint
    /// --resume reads (the engine's messages start with, or hold, their paths), or else a row of the lists (without a
    /// label, or with non-finite pixels: the engine names it).
    /// </summary>
    public static CommandLineException UnreadableData(InvalidDataException e, TrainingSettings settings)
    {
        string? initialWeights = settings.Training.InitialWeightsPath, checkpoint = settings.Training.CheckpointPath;
        string files = initialWeights is not null && e.Message.Contains(initialWeights, StringComparison.Ordinal) ? $"--init-weights '{initialWeights}'"
            : checkpoint is not null && e.Message.StartsWith(checkpoint, StringComparison.Ordinal) ? $"the checkpoint --resume reads, '{checkpoint}'"
            : settings.ValidPath is null ? $"--train '{settings.TrainPath}'"
            : $"--train '{settings.TrainPath}', --valid '{settings.ValidPath}'";
        return CommandLineException.UnreadableInput($"{BnInceptionCommandLine.OneLine(e.Message)} ({files})", e);
    }

    /// <summary>
    /// A row's image cannot be loaded. The training and validation lists go through one loader and number their rows
    /// alike, so the list is named; the rows --valid-fraction holds out are rows of --train (read with the training
    /// data first). Under skip, it is a row kept by an earlier pass whose file changed since: the loader's message
    /// says why it cannot be skipped now.
    /// </summary>
    public static CommandLineException ImageCannotBeLoaded(TrainingSettings settings, InvalidImageException invalid, Exception thrown)
    {
        bool validation = invalid.DataRead == "validation" && settings.ValidPath is not null;
        string path = validation ? settings.ValidPath! : settings.TrainPath;
        string list = $"{(validation ? "--valid" : "--train")} '{path}'";
        return CommandLineException.UnreadableInput(settings.SkipInvalidImages
            ? $"{list}: {Printable.PathDetail(invalid.Message)}"
            : $"{list}, {RowCount.RowAndLine(path, settings.SeparatorOf(path), invalid.Row)}: " +
              $"the image '{Printable.FilePath(invalid.Path)}' (column '{invalid.ColumnName}') cannot be loaded: " +
              $"{Printable.PathDetail(invalid.Detail)} [{invalid.Reason}]. Fix or replace the file, or pass --on-invalid-image skip to leave such rows out", thrown);
    }

    /// <summary>
    /// A file could not be read or written while training ran: the checkpoint, on a disk that filled up, most
    /// often. The checkpoint of the last epoch written stays whole (it is replaced by renaming a complete file).
    /// </summary>
    public static CommandLineException StoppedByAFile(TrainingSettings settings, Exception failed, Exception thrown)
    {
        string checkpoint = settings.Training.CheckpointPath!;
        return CommandLineException.UnreadableInput(
            $"training stopped: a file cannot be read or written: {WriteFailure.Describe(failed)}" +
            (File.Exists(checkpoint)
                ? $"; the checkpoint '{Printable.Escaped(checkpoint)}' holds the last epoch written: free space and rerun the same command with --resume to continue"
                : ""), thrown);
    }

    /// <summary>The model could not be written once training had finished: its weights are in the checkpoint, which --resume saves from without training again.</summary>
    public static CommandLineException ModelNotSaved(TrainingSettings settings, Exception failed, Exception thrown) =>
        CommandLineException.UnreadableInput(
            $"the model '{Printable.Escaped(settings.OutputPath)}' cannot be written: {WriteFailure.Describe(failed)}; nothing of it is left there, and the trained " +
            $"weights are in the checkpoint '{Printable.Escaped(settings.Training.CheckpointPath!)}': free space and rerun the same command with --resume to save the model without training again", thrown);

    /// <summary>
    /// The training rows leave a last batch of one, or fill no batch. Under mpirun the batches are global, --batch
    /// images on each rank. A resumed run keeps its checkpoint's batch size and --drop-last whatever the command
    /// says, so there the advice is the rows instead: a checkpoint of an earlier version, which records no rows, can
    /// get this far on rows other than its own.
    /// </summary>
    public static CommandLineException BatchesDoNotFit(BatchSizeMismatchException e, bool dropLastBatch, bool resumed = false)
    {
        string batches = e.Processes == 1 ? $"batches of {e.BatchSize}" : $"global batches of {e.BatchSize} x {e.Processes} ranks";
        long last = e.Images % ((long)e.BatchSize * e.Processes);
        string what = e.Processes == 1 ? "--batch" : "--batch or -np";
        string advice = resumed
            ? $"the checkpoint's run, which keeps its own batch size{(dropLastBatch ? " and --drop-last" : " without --drop-last")}, began on other rows: " +
              $"resume it on those, or train afresh on these (without --resume) with {(dropLastBatch ? $"a smaller {what}" : $"--drop-last or another {what}")}"
            : !dropLastBatch ? $"pass --drop-last, or another {what}" : $"pass a smaller {what}";
        return CommandLineException.BadArguments(!dropLastBatch
            ? $"{e.Images} training images in {batches} leave a last batch of {last} image{(last == 1 ? "" : "s")}{(e.Processes == 1 ? "" : $", {last / e.Processes} on a rank")}, " +
              $"which batch normalization cannot train on (it needs 2 at least): {advice}"
            : $"{e.Images} training images do not fill one of the {batches}, and --drop-last leaves out the part-filled one: {advice}");
    }
}
