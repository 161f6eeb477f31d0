using Microsoft.ML;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Progress;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>What <c>train</c> writes once the network is trained: the model file and the training curves.</summary>
internal static class TrainingOutputs
{
    /// <summary>
    /// Writes the model through a temporary file renamed at the end: a failure never leaves a damaged model at
    /// --out. Not synced to disk, as it never was: the checkpoint, which is, holds the trained weights, and a
    /// write that fails says so (<see cref="TrainingFailures.ModelNotSaved"/>).
    /// </summary>
    public static void SaveModel(TrainingSettings settings, MLContext ml, ITransformer model, DataViewSchema inputSchema)
    {
        try
        {
            AtomicFile.Write(settings.OutputPath, file => ml.Model.Save(model, inputSchema, file), flushToDisk: false);
        }
        catch (Exception e) when (WriteFailure.FindIn(e) is { } failed)
        {
            throw TrainingFailures.ModelNotSaved(settings, failed, e);
        }
    }

    /// <summary>
    /// Draws the training curves. Checked before training; what can still fail afterwards must not cost the
    /// saved model, so it is a warning and the run still succeeds.
    /// </summary>
    public static bool SaveCurves(BnInceptionPredictionTransformer network, string path, IProgressSink sink)
    {
        try
        {
            network.SaveTrainingCurves(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            sink.Line($"warning: training curves were not written to {BnInceptionCommandLine.OneLine(path)}: {BnInceptionCommandLine.OneLine(e.Message)}");
            return false;
        }
    }
}
