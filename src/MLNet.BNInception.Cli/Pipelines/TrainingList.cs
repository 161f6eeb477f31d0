using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// The CSV lists of <c>train</c>, read by ML.NET's text loader. A text file can only be read in its own
/// order, and ML.NET's shuffle pool mixes only rows near each other: a list sorted by class, as image
/// folders are listed, gave batches of one or two classes for most of an epoch. So the training list is
/// held in memory (its paths and labels, not its images), which ML.NET's cache lets be read in any
/// order, and ML.NET's image transforms keep that: every epoch reads all the rows in a fresh order, the
/// images decoded as they come, and a resumed epoch, or a rank under mpirun, decodes only the rows it
/// trains on (docs/distributed.md, "Reading the data").
/// <c>--cache</c> caches the decoded images instead; <c>--shuffle-pool N</c> reads the file in its order
/// through a pool of N rows, for a list larger than the memory.
/// </summary>
internal static class TrainingList
{
    /// <summary>
    /// The bytes ML.NET's cache of a list of <paramref name="rows"/> rows and <paramref name="fileBytes"/>
    /// bytes takes, about: each line as UTF-16 text, with room to grow, and the cache's own entries
    /// (measured: 0.40 GB for 1.28M ImageNet-style rows of 47 bytes, 0.42 GB for 640k rows of 139).
    /// </summary>
    public static long MemoryEstimate(long fileBytes, long rows) => checked((4 * fileBytes) + (128 * rows));

    /// <summary>The list at <paramref name="path"/> as the text loader reads it, in the file's order.</summary>
    public static IDataView Load(MLContext ml, string path, TextLoader.Column[] columns, char separator) =>
        ml.Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = [separator],
            HasHeader = true,
            AllowQuoting = true,
            ReadMultilines = true,
            Columns = columns,
        }).Load(path);

    /// <summary>
    /// The training list of <paramref name="rows"/> rows, held in memory so that it can be read in any
    /// order unless <paramref name="settings"/> ask for another way; checked first against the memory
    /// <paramref name="available"/> (null: unknown, not checked), as is <c>--cache</c>'s.
    /// </summary>
    /// <exception cref="CommandLineException">The list, or the decoded images of <c>--cache</c>, would take more than the memory available.</exception>
    public static IDataView OpenForTraining(MLContext ml, TrainingSettings settings, TextLoader.Column[] columns, char separator, long rows, long? available)
    {
        IDataView list = Load(ml, settings.TrainPath, columns, separator);
        if (settings.Cache)
        {
            CacheMemory.Check(settings, rows, available);
            return list;
        }

        if (settings.ShufflePoolSize is not null)
        {
            return list;
        }

        long needed = MemoryEstimate(new FileInfo(settings.TrainPath).Length, rows);
        if (available is { } free && needed > free)
        {
            string sizes = string.Create(CultureInfo.InvariantCulture, $"its {rows} paths and labels, not the images) so that each epoch reads its rows in a fresh order: about {needed / 1e9:F1} GB, more than the {free / 1e9:F1} GB");
            throw CommandLineException.BadArguments(
                $"'{Printable.Escaped(settings.TrainPath)}' is held in memory ({sizes} this machine has available (MemAvailable in /proc/meminfo). " +
                "Pass --shuffle-pool N to read it in the file's order through a pool of N rows instead, with its lines shuffled beforehand (a pool mixes only nearby rows)");
        }

        return ml.Data.Cache(list);
    }

    /// <summary>
    /// The warning for a <c>--shuffle-pool</c> run whose <paramref name="rows"/> training rows, more than its pool of
    /// <paramref name="pool"/> holds, come grouped by label, as a listing of one folder per class does: the trainer
    /// finds it in its pass over the labels, and the advice is the tool's, not the ML.NET pipeline's.
    /// </summary>
    public static string GroupedThroughAPool(TrainingSettings settings, long rows, int pool) => string.Create(CultureInfo.InvariantCulture,
        $"--shuffle-pool {pool} reads '{Printable.Escaped(settings.TrainPath)}' in its order, and its {rows} training rows come grouped by label: " +
        $"a pool of {pool} rows mixes only rows near each other, so most batches hold few classes, which trains poorly. Drop --shuffle-pool: " +
        $"the tool then holds the list in memory (its paths and labels, not the images) and reads it in a fresh order every epoch; or, for a list " +
        $"larger than the memory, shuffle its lines once beforehand, keeping the header line first (shuf)");

    /// <summary>
    /// The warning for a <c>--resume</c> of a checkpoint that records no data (an earlier version's, or the engine's): the trainer
    /// cannot compare its classes with these lists', and takes <c>--train</c>'s, keyed in the order they first appear.
    /// </summary>
    public static string ResumedWithoutRecord(TrainingSettings settings) =>
        $"the checkpoint '{Printable.Escaped(settings.Training.CheckpointPath!)}' records no data (an earlier version, or the engine's BnInceptionTrainer, wrote it), so this resume cannot " +
        $"check that '{Printable.Escaped(settings.TrainPath)}' is the list the run was started with: the run's classes are taken to be its labels, in " +
        $"the order they first appear in it. Resume it only with the lists it was started with, unchanged";

    /// <summary>The text loader's columns for a list with <paramref name="header"/>: the path and label columns <paramref name="settings"/> name.</summary>
    /// <exception cref="CommandLineException">
    /// A column is missing, is named by both options, or has no name or the name of a column the pipeline makes (the
    /// model's own outputs included: one of its inputs under such a name would be hidden, and evaluate could not read it).
    /// </exception>
    public static TextLoader.Column[] Columns(TrainingSettings settings, IReadOnlyList<string> header, string path, char separator)
    {
        foreach ((string option, string name) in new[] { ("--path-column", settings.PathColumn), ("--label-column", settings.LabelColumn) })
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw CommandLineException.BadArguments($"{option} '{Printable.Escaped(name)}' names no column: give the name of a column of the CSV's header");
            }

            if (name is TrainingJob.ImageColumn or TrainingJob.FeaturesColumn or PredictionColumns.Score or PredictionColumns.PredictedLabel)
            {
                throw CommandLineException.BadArguments(
                    $"{option} '{name}': the pipeline makes columns named '{TrainingJob.ImageColumn}', '{TrainingJob.FeaturesColumn}', '{PredictionColumns.Score}' and '{PredictionColumns.PredictedLabel}' " +
                    "(the last two are the model's outputs): rename the CSV's column of that name");
            }
        }

        if (settings.PathColumn == settings.LabelColumn)
        {
            throw CommandLineException.BadArguments($"--path-column and --label-column both name '{settings.PathColumn}': the labels need a column of their own");
        }

        int pathIndex = CsvHeader.IndexOf(header, settings.PathColumn, path, "--path-column", separator);
        int labelIndex = CsvHeader.IndexOf(header, settings.LabelColumn, path, "--label-column", separator);

        return
        [
            new TextLoader.Column(settings.PathColumn, DataKind.String, pathIndex),
            new TextLoader.Column(settings.LabelColumn, DataKind.String, labelIndex),
        ];
    }

    /// <summary>The field of the image paths among <paramref name="columns"/>, as <see cref="Columns"/> makes them (the path column first).</summary>
    public static int PathField(TextLoader.Column[] columns) => columns[0].Source[0].Min;
}
