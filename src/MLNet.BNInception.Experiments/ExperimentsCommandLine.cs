using System.Globalization;
using System.Numerics;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Experiments.Figure1;
using MLNet.BNInception.Experiments.Figure3;
using MLNet.BNInception.Programs;

namespace MLNet.BNInception.Experiments;

/// <summary>
/// The experiment program's arguments and exit codes, apart from the process (Program.cs only
/// calls it), so that tests run it in process. Every argument is checked, and the output folder
/// made and tried, before any image is loaded: a mistake is one line on standard error and exit
/// code 2, as with the bninception tool (docs/cli.md).
/// </summary>
internal static class ExperimentsCommandLine
{
    /// <summary>The arguments are wrong: the bninception tool's code for it.</summary>
    public const int BadArguments = 2;

    /// <summary>Ctrl-C or SIGTERM stopped the run; what it wrote is whole.</summary>
    public const int Interrupted = 130;

    private const string WholeNumber = "a whole number up to 2,147,483,647";

    private const string Usage =
        "usage: MLNet.BNInception.Experiments figure1 [--steps N] [--every N] [--lr X] [--init-std X] [--seed N] [--out FOLDER]\n" +
        "       MLNet.BNInception.Experiments figure3 [--epochs N] [--train-images N] [--seed N] [--precision mixed|float32] [--out FOLDER]";

    /// <summary>Runs the experiment <paramref name="args"/> name; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (args.Length == 0 || args[0] is not ("figure1" or "figure3"))
        {
            error.WriteLine(Usage);
            return BadArguments;
        }

        string experiment = args[0];
        var options = new Dictionary<string, string>();
        for (int i = 1; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length || !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                error.WriteLine($"{experiment}: '{args[i]}' is not --option value");
                return BadArguments;
            }

            options[args[i][2..]] = args[i + 1];
        }

        string[] known = experiment == "figure1" ? ["steps", "every", "lr", "init-std", "seed", "out"] : ["epochs", "train-images", "seed", "precision", "out"];
        if (options.Keys.FirstOrDefault(key => !known.Contains(key)) is { } unknown)
        {
            error.WriteLine($"{experiment}: unknown option --{unknown}; options: {string.Join(", ", known.Select(k => "--" + k))}");
            return BadArguments;
        }

        string folder;
        Figure1Settings? figure1 = null;
        Figure3Settings? figure3 = null;
        try
        {
            if (experiment == "figure1")
            {
                figure1 = Figure1From(options);
                figure1.Validate();
            }
            else
            {
                figure3 = Figure3From(options);
                figure3.Validate();
            }

            folder = OutputFolder.Prepare(options.GetValueOrDefault("out", Path.Combine("experiments", experiment)), "--out");
        }
        catch (ArgumentException mistake)
        {
            error.WriteLine($"{experiment}: {mistake.Message}");
            return BadArguments;
        }

        TorchRuntime.EnsureLoaded();
        try
        {
            if (figure1 is not null)
            {
                output.WriteLine($"Figure 1 on Fashion-MNIST: {Invariant(figure1)}; writing to {folder}");
                Figure1Experiment.Run(figure1, folder, output, cancellationToken);
            }
            else
            {
                output.WriteLine($"Figure 3 in miniature: {Invariant(figure3!)}; writing to {folder}");
                (_, IReadOnlyList<Figure3Summary> summary) = Figure3Experiment.Run(figure3!, folder, output, cancellationToken: cancellationToken);
                foreach (Figure3Summary row in summary)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{row.Configuration}: steps to Inception's best {row.StepsText}, best {row.BestAccuracy:P2} ({row.Note})"));
                }
            }
        }
        catch (OperationCanceledException stopped) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"{experiment}: {stopped.Message}");
            return Interrupted;
        }

        return 0;
    }

    private static Figure1Settings Figure1From(Dictionary<string, string> options)
    {
        var defaults = new Figure1Settings();
        return new Figure1Settings
        {
            Steps = Parse(options, "steps", defaults.Steps, WholeNumber),
            Every = Parse(options, "every", defaults.Every, WholeNumber),
            LearningRate = Decimal(options, "lr", defaults.LearningRate),
            InitStd = Decimal(options, "init-std", defaults.InitStd),
            Seed = Parse(options, "seed", defaults.Seed, "a whole number"),
        };
    }

    private static Figure3Settings Figure3From(Dictionary<string, string> options)
    {
        string precision = options.GetValueOrDefault("precision", "mixed");
        if (precision is not ("mixed" or "float32"))
        {
            throw new ArgumentException($"--precision {precision}: use mixed or float32");
        }

        var defaults = new Figure3Settings();
        return new Figure3Settings
        {
            Epochs = Parse(options, "epochs", defaults.Epochs, WholeNumber),
            TrainImages = Parse(options, "train-images", defaults.TrainImages, WholeNumber),
            Seed = Parse(options, "seed", defaults.Seed, "a whole number, 0 or more"),
            Mixed = precision == "mixed",
        };
    }

    // The option's value, or its default; text that is not a whole number is refused here, its range
    // by the settings' Validate.
    private static T Parse<T>(Dictionary<string, string> options, string name, T fallback, string what) where T : IBinaryInteger<T>
    {
        if (!options.TryGetValue(name, out string? text))
        {
            return fallback;
        }

        return T.TryParse(text, CultureInfo.InvariantCulture, out T? value)
            ? value
            : throw new ArgumentException($"--{name} '{text}' is not {what}");
    }

    // A decimal as the bninception tool reads one: a point, whatever the locale, and no thousands
    // separators (double's own TryParse reads 0,5 as 5, even in the invariant culture).
    private static double Decimal(Dictionary<string, string> options, string name, double fallback)
    {
        if (!options.TryGetValue(name, out string? text))
        {
            return fallback;
        }

        return ProgramCulture.TryParseDecimal(text, out double value)
            ? value
            : throw new ArgumentException(ProgramCulture.NotADecimal("--" + name, text));
    }

    // A record writes its numbers in the current culture; the settings line reads alike in every one.
    private static string Invariant(object settings)
    {
        CultureInfo culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            return settings.ToString()!;
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }
}
