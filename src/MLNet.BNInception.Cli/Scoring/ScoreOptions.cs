using MLNet.BNInception.Engine.Inference;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>What <c>bninception score</c> was asked to do; the command's help describes each setting.</summary>
internal sealed record ScoreOptions
{
    public required string ModelPath { get; init; }

    public required string InputPath { get; init; }

    public required string OutputPath { get; init; }

    public int TopK { get; init; } = 1;

    public int BatchSize { get; init; } = 64;

    /// <summary>Threads for the network.</summary>
    public required int Threads { get; init; }

    /// <summary>Threads that decode and resize images ahead of the network.</summary>
    public int Decoders { get; init; } = Math.Max(1, Environment.ProcessorCount / 2);

    public ScoringPrecision Precision { get; init; } = ScoringPrecision.Float32;

    /// <summary>Where the network runs: "cpu", "cuda" or "cuda:N". On a GPU the engine scores in either precision (ONNX Runtime's package here is the CPU one).</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>True when the network runs on the CPU.</summary>
    public bool OnCpu => Device.Trim().Equals("cpu", StringComparison.OrdinalIgnoreCase);

    public bool Resume { get; init; }

    public bool Overwrite { get; init; }

    public bool FailFast { get; init; }

    public required ShardSelection Shard { get; init; }

    /// <summary>Overrides the folder the model resolves relative paths against.</summary>
    public string? ImageFolder { get; init; }

    /// <summary>The column of image paths: a header name, or a 1-based number; null for the model's path column.</summary>
    public string? PathColumn { get; init; }

    /// <summary>The field separator; null to infer it from the file name (tab for .tsv, else comma).</summary>
    public char? Separator { get; init; }

    public bool HasHeader { get; init; } = true;

    /// <summary>The most pixels an image may decode to; a larger one is a bad row (TooManyPixels).</summary>
    public long MaxImagePixels { get; init; } = Images.SafeImageLoadingOptions.DefaultMaximumPixels;
}
