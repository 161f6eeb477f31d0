namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>The <c>--separator</c> option's values.</summary>
internal static class Separators
{
    /// <summary>One ASCII character other than a quote or a line break, or "tab"; null when not given.</summary>
    public static char? Parse(string? text) => text switch
    {
        null => null,
        "tab" or "\\t" or "\t" => '\t',
        { Length: 1 } when text[0] is not ('"' or '\r' or '\n') && text[0] < 128 => text[0],
        _ => throw CommandLineException.BadArguments($"--separator '{text}': give one ASCII character other than a quote or a line break, or 'tab'"),
    };

    /// <summary>The separator to use for <paramref name="path"/>: the one given, else tab for .tsv files and comma for the rest.</summary>
    public static char For(string path, char? given) =>
        given ?? (Path.GetExtension(path).Equals(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : ',');
}
