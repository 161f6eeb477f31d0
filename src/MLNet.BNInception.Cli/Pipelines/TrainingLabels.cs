using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// The labels of <c>train</c>'s lists, checked before any image is read: an empty label in <c>--train</c>, and a
/// label of <c>--valid</c> that <c>--train</c> has no row of, get no class. The trainer would refuse their rows too,
/// but only when its first pass reaches them, after <c>--cache</c> has decoded every image (hours, for ImageNet), and
/// naming the row alone.
/// </summary>
internal static class TrainingLabels
{
    /// <summary>
    /// Refuses the rows whose label gets no class from a MapValueToKey fitted on --train's rows, as the pipeline's
    /// is: --train read from its file alone (no image step reads them), <paramref name="valid"/> as loaded.
    /// </summary>
    /// <exception cref="CommandLineException">A row has an empty label, or --valid a label --train lacks.</exception>
    public static void RefuseUnknown(MLContext ml, TrainingSettings settings, TextLoader.Column[] trainColumns, IDataView? valid)
    {
        if (settings.SkipInvalidImages)
        {
            // Under skip, a row whose image cannot be loaded is left out whatever its label: only the rows kept are
            // the trainer's to check, and which those are is known once the images are decoded.
            return;
        }

        string label = settings.LabelColumn;
        IDataView train = TrainingList.Load(ml, settings.TrainPath, trainColumns, settings.SeparatorOf(settings.TrainPath));
        ITransformer classes = ml.Transforms.Conversion.MapValueToKey(label).Fit(train);
        UnknownLabels empty = UnknownLabels.Find(train, classes.Transform(train), label);
        if (empty.Rows > 0)
        {
            throw CommandLineException.UnreadableInput(
                $"--train '{Printable.Escaped(settings.TrainPath)}' has {Rows(empty.Rows)} whose {label} is empty (rows counting from 0): {BnInceptionCommandLine.OneLine(empty.Describe())}. " +
                "A row is trained on as the class its label names: give each one, or leave those rows out of the list");
        }

        if (valid is not null && UnknownLabels.Find(valid, classes.Transform(valid), label) is { Rows: > 0 } unknown)
        {
            throw CommandLineException.UnreadableInput(
                $"--valid '{Printable.Escaped(settings.ValidPath!)}' has {Rows(unknown.Rows)} whose {label} is empty or none of --train's (rows counting from 0): " +
                $"{BnInceptionCommandLine.OneLine(unknown.Describe())}. The network learns the classes of --train's rows only: " +
                "add rows of those classes to --train, or leave them out of --valid");
        }
    }

    private static string Rows(long rows) => rows == 1 ? "1 row" : string.Create(CultureInfo.InvariantCulture, $"{rows:N0} rows");
}
