using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>What <c>bninception train</c> was asked to do; the command's help describes each setting.</summary>
internal sealed record TrainingSettings
{
    public required string TrainPath { get; init; }

    public string? ValidPath { get; init; }

    /// <summary>Null: the folder of <see cref="TrainPath"/>.</summary>
    public string? ImageFolder { get; init; }

    public required string PathColumn { get; init; }

    public required string LabelColumn { get; init; }

    /// <summary>--separator; null: each list's own default, tab for a .tsv file, else a comma (<see cref="SeparatorOf"/>).</summary>
    public char? Separator { get; init; }

    /// <summary>The field separator of the list at <paramref name="path"/> (--train or --valid: one may be a .tsv file, the other not).</summary>
    public char SeparatorOf(string path) => CommandLine.OptionValues.SeparatorFor(path, Separator);

    public bool SkipInvalidImages { get; init; }

    /// <summary>The most pixels an image may decode to (--max-image-pixels).</summary>
    public long MaxImagePixels { get; init; } = Images.SafeImageLoadingOptions.DefaultMaximumPixels;

    public int ImageSize { get; init; } = new BnInceptionOptions().InputSize;

    /// <summary>The network's side (--input-size); null: <see cref="ImageSize"/>.</summary>
    public int? InputSize { get; init; }

    /// <summary>The side the network takes.</summary>
    public int NetworkSide => InputSize ?? ImageSize;

    /// <summary>iso-crop, iso-pad or fill.</summary>
    public string Resize { get; init; } = "iso-crop";

    public bool Grayscale { get; init; }

    public required string OutputPath { get; init; }

    public bool Overwrite { get; init; }

    /// <summary>The training-curves PNG (with a CSV beside it), or null for none.</summary>
    public string? CurvesPath { get; init; }

    public bool Resume { get; init; }

    public bool Cache { get; init; }

    public int? ShufflePoolSize { get; init; }

    public required int Threads { get; init; }

    public required TrainerOptions Training { get; init; }

    public BnInceptionOptions Architecture { get; init; } = new();

    /// <summary>The files the run reads, as the command's file checks name them.</summary>
    public List<CommandFile> Inputs()
    {
        var inputs = new List<CommandFile> { new("--train", TrainPath) };
        if (ValidPath is not null)
        {
            inputs.Add(new("--valid", ValidPath));
        }

        if (Training.InitialWeightsPath is not null)
        {
            inputs.Add(new("--init-weights", Training.InitialWeightsPath));
        }

        return inputs;
    }

    /// <summary>The files the run writes. The checkpoint is read as well with --resume, but it is the run's own file: it may be replaced.</summary>
    public List<CommandFile> Outputs()
    {
        var outputs = new List<CommandFile>
        {
            new("--out", OutputPath),
            new("--checkpoint", Training.CheckpointPath!),
        };
        if (CurvesPath is not null)
        {
            outputs.Add(new("--curves", CurvesPath));
            outputs.Add(new("--curves", TrainingCurves.CsvPathFor(CurvesPath), "its CSV"));
        }

        return outputs;
    }
}
