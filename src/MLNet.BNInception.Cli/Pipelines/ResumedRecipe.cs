using System.Globalization;
using System.Reflection;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// What a <c>--resume</c> says of its recipe: the run goes on with the network and the training settings its checkpoint
/// holds (only the precision and the device are this command's), so a setting this command gives otherwise is not
/// applied. It used to be left out without a word: a resume given <c>--dropout 0.9</c> or <c>--epochs 5</c> trained as before.
/// </summary>
internal static class ResumedRecipe
{
    // Taken from this command (BnInceptionTrainer.Resume), fixed by the data and checked against it, or no setting of a user's.
    private static readonly HashSet<string> NotRecipe =
    [
        nameof(TrainerOptions.Precision), nameof(TrainerOptions.Device), nameof(TrainerOptions.CheckpointPath), nameof(TrainerOptions.InitialWeightsPath),
        nameof(TrainerOptions.Data), nameof(TrainerOptions.StepsPerHostRead),
        nameof(BnInceptionOptions.NumClasses), nameof(BnInceptionOptions.InputSize), nameof(BnInceptionOptions.InputChannels),
    ];

    /// <summary>The warnings of a resume of <paramref name="saved"/> (the checkpoint's trainer settings) by this command.</summary>
    public static IEnumerable<string> Warnings(TrainingSettings settings, TrainerOptions saved)
    {
        if (saved.Data is null)
        {
            yield return TrainingList.ResumedWithoutRecord(settings);
        }

        BnInceptionOptions savedNetwork = TrainingCheckpoint.ReadDescription(settings.Training.CheckpointPath!).Model;
        string[] differences = [.. Differences(savedNetwork, settings.Architecture), .. Differences(saved, settings.Training)];
        if (differences.Length > 0)
        {
            yield return $"the run goes on with the settings its checkpoint holds, not this command's (only --precision and --device are taken from it): " +
                $"{string.Join(", ", differences)}. To train with other settings, start a run afresh (--overwrite), or from the run's weights (--init-weights '{Printable.Escaped(settings.Training.CheckpointPath!)}')";
        }
    }

    private static IEnumerable<string> Differences<T>(T run, T command)
        where T : class =>
        typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(property => !NotRecipe.Contains(property.Name) && !Equals(property.GetValue(run), property.GetValue(command)))
            .Select(property => string.Create(CultureInfo.InvariantCulture,
                $"{property.Name} {property.GetValue(run) ?? "none"} (this command: {property.GetValue(command) ?? "none"})"));
}
