using System.CommandLine;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>Checks and readings of option values that several commands share.</summary>
internal static class OptionValues
{
    /// <summary><paramref name="value"/>, when it is at least 1.</summary>
    public static int Positive(int value, string option) =>
        value >= 1 ? value : throw CommandLineException.BadArguments($"{option} {value}: must be at least 1");

    /// <summary>One ASCII character other than a quote or a line break, or "tab"; null when not given.</summary>
    /// <summary>The --max-image-pixels option the commands that read images share.</summary>
    public static Option<long> MaxImagePixelsOption() => new("--max-image-pixels")
    {
        Description = "The most pixels an image may decode to; a larger one is refused from its header as a bad row (TooManyPixels), before it takes memory. " +
            "PNG, GIF and BMP decode at full size; each image thread holds up to three copies of the largest image it met.",
        DefaultValueFactory = _ => Images.SafeImageLoadingOptions.DefaultMaximumPixels,
    };

    public static long Positive(long value, string option) =>
        value > 0 ? value : throw CommandLineException.BadArguments($"{option} must be at least 1, not {value}");

    public static char? Separator(string? text) => text switch
    {
        null => null,
        "tab" or "\\t" or "\t" => '\t',
        { Length: 1 } when text[0] is not ('"' or '\r' or '\n') && text[0] < 128 => text[0],
        _ => throw CommandLineException.BadArguments($"--separator '{text}': give one ASCII character other than a quote or a line break, or 'tab'"),
    };

    /// <summary>The separator to use for <paramref name="path"/>: the one given, else tab for .tsv files and comma for the rest.</summary>
    public static char SeparatorFor(string path, char? given) =>
        given ?? (Path.GetExtension(path).Equals(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : ',');
}
