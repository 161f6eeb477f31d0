using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Programs;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>Checks and readings of option values that several commands share.</summary>
internal static class OptionValues
{
    /// <summary><paramref name="value"/>, when it is at least 1.</summary>
    public static int Positive(int value, string option) =>
        value >= 1 ? value : throw CommandLineException.BadArguments($"{option} {value}: must be at least 1");

    /// <summary><paramref name="value"/>, when it is at least 1.</summary>
    public static long Positive(long value, string option) =>
        value >= 1 ? value : throw CommandLineException.BadArguments($"{option} {value}: must be at least 1");

    /// <summary>
    /// The parser of every decimal option (its <c>CustomParser</c>): a point for decimals whatever the
    /// locale, and no thousands separators. System.CommandLine's own reads the current culture's
    /// number, thousands included: under de_DE <c>--lr 0.01</c> was 1, and in every locale
    /// <c>--valid-fraction 0,7</c> was 7. A value that is not a number is a parse error naming the option.
    /// </summary>
    public static double? OptionalDecimal(ArgumentResult result)
    {
        string text = string.Join(" ", result.Tokens.Select(token => token.Value));
        if (ProgramCulture.TryParseDecimal(text, out double value))
        {
            return value;
        }

        string option = result.Parent is OptionResult given ? given.Option.Name : result.Argument.Name;
        result.AddError(ProgramCulture.NotADecimal(option, text));
        return null;
    }

    /// <summary><see cref="OptionalDecimal"/> for an option that always has a value (its default when not given).</summary>
    public static double Decimal(ArgumentResult result) => OptionalDecimal(result) ?? 0;

    /// <summary>
    /// How users type <paramref name="value"/>: its name in lower case, a hyphen before each word
    /// (<c>TrainingPreset.BnX30</c> is bn-x30, <c>TrainingPrecision.BFloat16Mixed</c> bfloat16-mixed).
    /// </summary>
    public static string Spelling<T>(T value)
        where T : struct, Enum
    {
        string name = value.ToString();
        var spelling = new StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && !char.IsUpper(name[i - 1]))
            {
                spelling.Append('-');
            }

            spelling.Append(char.ToLowerInvariant(name[i]));
        }

        return spelling.ToString();
    }

    /// <summary>The spelling of every value of <typeparamref name="T"/>, in declaration order: what an option accepts, and its error lists.</summary>
    public static string[] Spellings<T>()
        where T : struct, Enum => [.. Enum.GetValues<T>().Select(Spelling)];

    /// <summary>The value whose <see cref="Spelling"/> is <paramref name="spelling"/>.</summary>
    public static T Parse<T>(string spelling)
        where T : struct, Enum => Enum.Parse<T>(spelling.Replace("-", "", StringComparison.Ordinal), ignoreCase: true);

    /// <summary>The --threads option of the commands that run the network (train, score); <see cref="Threads"/> reads it.</summary>
    public static Option<int?> ThreadsOption() => new("--threads")
    {
        Description = $"Threads for the network. Default: {TorchRuntime.ThreadsVariable} where it is set (as for the library), else one per core.",
    };

    /// <summary>
    /// The --threads given, else <see cref="TorchRuntime.ThreadsVariable"/>, else one per core: the
    /// variable means for the tool what it means for the library (docs/distributed.md divides the
    /// cores among the ranks with it), and a value given on the command line wins.
    /// </summary>
    public static int Threads(int? given) =>
        given is int threads ? Positive(threads, "--threads") : CheckedThreadSetting() ?? Environment.ProcessorCount;

    /// <summary>
    /// <see cref="TorchRuntime.ThreadSetting"/>, with a value that is not a count refused as a mistake in
    /// the arguments. Every verb checks it before it begins: libtorch's loader applies the variable
    /// whatever --threads says, and the verbs load libtorch at different points, some after work began.
    /// </summary>
    public static int? CheckedThreadSetting()
    {
        try
        {
            return TorchRuntime.ThreadSetting();
        }
        catch (ArgumentException error)
        {
            throw CommandLineException.BadArguments($"{error.Message.TrimEnd('.')}, or unset");
        }
    }

    /// <summary>The --max-image-pixels option of the commands that read images (train, evaluate, score).</summary>
    public static Option<long> MaxImagePixelsOption() => new("--max-image-pixels")
    {
        Description = "The most pixels an image may have; a larger one is a bad row (TooManyPixels), refused from its header before it takes memory. " +
            "The tool decodes every image at full size; each image thread holds up to three copies of the largest image it met.",
        DefaultValueFactory = _ => Images.SafeImageLoadingOptions.DefaultMaximumPixels,
    };

    /// <summary>
    /// Refuses a <c>--batch</c> whose images (or scores) would not fit in one .NET array: each batch is
    /// one buffer of <paramref name="batch"/> × <paramref name="valuesPerImage"/> values.
    /// </summary>
    /// <param name="batch">The batch size given.</param>
    /// <param name="valuesPerImage">The values one image (or its scores) takes; the largest such buffer counts.</param>
    /// <param name="image">What one image is, for the message: "images of 3 × 224 × 224 values".</param>
    public static void CheckBatchFits(int batch, long valuesPerImage, string image)
    {
        if (valuesPerImage > Array.MaxLength)
        {
            throw CommandLineException.BadArguments(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"one of the {image} is already more values than one array holds ({Array.MaxLength:N0}), whatever --batch is: choose a smaller image size"));
        }

        long values = batch * valuesPerImage;
        if (values > Array.MaxLength)
        {
            throw CommandLineException.BadArguments(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"--batch {batch}: a batch of {batch:N0} {image} is {values:N0} values, more than one array holds ({Array.MaxLength:N0}); choose --batch {Array.MaxLength / valuesPerImage} or less"));
        }
    }

    /// <summary>One ASCII character other than a quote or a line break, or "tab"; null when not given.</summary>
    public static char? Separator(string? text) => text switch
    {
        null => null,
        "tab" or "\\t" or "\t" => '\t',
        { Length: 1 } when text[0] is not ('"' or '\r' or '\n') && text[0] < 128 => text[0],
        _ => throw CommandLineException.BadArguments($"--separator '{text}': give one ASCII character other than a quote or a line break, or 'tab'"),
    };

    /// <summary>
    /// --device's value, checked before any data is read: "cpu" as it is (no libtorch is loaded for
    /// it), a GPU against the devices this process's libtorch offers, so that a CPU-only backend or
    /// a missing GPU is a usage error that says what to install (docs/gpu.md).
    /// </summary>
    public static string Device(string text)
    {
        string device = text.Trim();
        if (device.Equals("cpu", StringComparison.OrdinalIgnoreCase))
        {
            return "cpu";
        }

        try
        {
            return Engine.TorchRuntime.ResolveDevice(device).ToString();
        }
        catch (ArgumentException error)
        {
            throw CommandLineException.BadArguments($"--device {text}: {Reason(error)}");
        }
    }

    /// <summary>
    /// What an <see cref="ArgumentException"/> says without the " (Parameter 'name')" that .NET adds,
    /// which names a parameter of our code rather than anything the user typed.
    /// </summary>
    public static string Reason(ArgumentException error) =>
        error.ParamName is null ? error.Message : error.Message.Replace($" (Parameter '{error.ParamName}')", "", StringComparison.Ordinal);

    /// <summary>The separator to use for <paramref name="path"/>: the one given, else tab for .tsv files and comma for the rest.</summary>
    public static char SeparatorFor(string path, char? given) =>
        given ?? (Path.GetExtension(path).Equals(".tsv", StringComparison.OrdinalIgnoreCase) ? '\t' : ',');
}
