using System.CommandLine;
using System.Text.RegularExpressions;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Cli.Scoring;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// The tool reads and writes numbers alike in every locale: decimals with a point, thousands grouped
/// by commas, messages in English. .NET takes its culture from LC_ALL, LC_MESSAGES or LANG (through
/// ICU, with or without the system's locales), and under de_DE a point groups thousands: the parser
/// read <c>--lr 0.01</c> as 1 and trained on, and <c>--valid-fraction 0,7</c> as 7 in every locale.
/// </summary>
public class LocaleTests : FewImagesFixture
{
    // A German locale as a user's shell sets it.
    private static readonly Dictionary<string, string?> GermanLocale = new() { ["LANG"] = "de_DE.UTF-8", ["LC_ALL"] = "de_DE.UTF-8" };

    [Test]
    public void UnderAGermanLocaleTheInstalledToolReadsDecimalsWithAPoint()
    {
        using var work = new TemporaryDirectory();
        string[] train = ["train", "--train", Data!.TrainCsv, "--image-folder", Data.ImageFolder, "--size", "64", "--out", work.File("m.zip")];

        // Over the 0.5 the option allows, named as typed (misread, it was 7).
        Refused(work, [.. train, "--valid-fraction", "0.7"],
            "bninception: --valid-fraction 0.7: hold out from 0 to 0.5 of the training rows, or give validation rows with --valid");
        // A decimal comma is refused, not read as 1 with the comma taken for a thousands separator.
        Refused(work, [.. train, "--lr", "0,01"],
            "bninception train: --lr '0,01' is not a number: write decimals with a point, 0.01 (bninception train --help lists the options)");
        // Read right, all of these are in range but the BN momentum, which the engine quotes beside
        // the ε: misread, the fraction was 25 and refused first.
        Refused(work, [.. train, "--valid-fraction", "0.25", "--lr", "0.01", "--momentum", "0.9", "--label-smoothing", "0.1", "--dropout", "0.2",
                "--bn-epsilon", "0.001", "--bn-momentum", "1.5"],
            "bninception: the training settings are not valid: BatchNormEpsilon must be a finite number above 0 that float32 holds (1e-45 to 3.4e38) " +
            "and BatchNormMomentum in (0, 1], not 0.001 and 1.5.");
        // The parser's own messages, which it has in German too.
        Refused(work, ["frobnicate"], "bninception: Unrecognized command or argument 'frobnicate'.");
        Assert.That(Directory.EnumerateFileSystemEntries(work.Path), Is.Empty, "nothing written");
    }

    [Test]
    public void UnderAGermanLocaleHelpShowsDefaultsWithAPoint()
    {
        using var work = new TemporaryDirectory();
        string help = InstalledTool.RunWithVariables(GermanLocale, work.Path, "train", "--help").AssertSucceeded().Output;
        Assert.That(help, Does.Contain("BN's running-statistics momentum. [default: 0.1]"));
        Assert.That(Regex.Matches(help, @"\[default: -?[0-9]+,[0-9]").Select(match => match.Value), Is.Empty, "no default with a decimal comma");
    }

    // Every decimal option of every verb, found from the commands themselves: one added later is checked too.
    private static IEnumerable<TestCaseData> DecimalOptions()
    {
        foreach (Command verb in BnInceptionCommandLine.Create(Quiet()).Subcommands)
        {
            foreach (Option option in verb.Options.Where(option => option.ValueType == typeof(double) || option.ValueType == typeof(double?)))
            {
                yield return new TestCaseData(verb.Name, option.Name).SetName($"{{m}}({verb.Name} {option.Name})");
            }
        }
    }

    [TestCaseSource(nameof(DecimalOptions))]
    public void ADecimalCommaIsRefusedNamingTheOptionNotReadAsThousands(string verb, string option)
    {
        ParseResult parsed = BnInceptionCommandLine.Create(Quiet()).Parse([verb, option, "0,5"]);
        Assert.That(parsed.Errors.Select(error => error.Message), Has.Member($"{option} '0,5' is not a number: write decimals with a point, 0.5"));
    }

    [Test]
    public void ANumberOfAnotherShapeIsRefusedWithAnExample()
    {
        ParseResult parsed = BnInceptionCommandLine.Create(Quiet()).Parse(["train", "--gamma", "1.000,5"]);
        Assert.That(parsed.Errors.Select(error => error.Message), Has.Member("--gamma '1.000,5' is not a number: write decimals with a point, as in 0.5 or 1e-5"));
        Assert.That(BnInceptionCommandLine.Create(Quiet()).Parse(["train", "--train", "t.csv", "--out", "m.zip", "--bn-epsilon", "1e-3"]).GetValue<double>("--bn-epsilon"),
            Is.EqualTo(1e-3), "an exponent is a number");
    }

    // In this process the culture is the test's, de-DE, whatever the program sets for itself: the
    // options and the messages that quote them must not depend on that. Each value is out of range,
    // so that the engine's message quotes it as read.
    [TestCase("--lr", "-0.01", "LearningRate must be a finite number above 0, not -0.01.")]
    [TestCase("--momentum", "1.5", "Momentum must be in [0, 1), not 1.5.")]
    [TestCase("--weight-decay", "-0.5", "WeightDecay must be a finite number, 0 or more, not -0.5.")]
    [TestCase("--label-smoothing", "1.5", "LabelSmoothing must be in [0, 1), not 1.5.")]
    [TestCase("--gamma", "-0.5", "Gamma, its factor per period, must be a finite number above 0, not -0.5.")]
    [TestCase("--decay-epochs", "-0.5", "EveryEpochs, its period, must be a finite number of epochs above 0, not -0.5.")]
    [TestCase("--warmup-epochs", "-0.5", "WarmupEpochs must be a finite number of epochs, 0 or more, not -0.5.")]
    [TestCase("--min-lr-factor", "1.5", "MinimumFactor must be in [0, 1], not 1.5.", "--schedule", "cosine")]
    [TestCase("--early-stopping-min-delta", "-0.5", "finite MinDelta >= 0, not 2 and -0.5.", "--early-stopping-patience", "2", "--valid-fraction", "0.25")]
    [TestCase("--dropout", "1.5", "Dropout must be in [0, 1), not 1.5.")]
    [TestCase("--bn-momentum", "1.5", "BatchNormMomentum in (0, 1], not 1E-05 and 1.5.")]
    [TestCase("--valid-fraction", "0.7", "bninception: --valid-fraction 0.7: hold out from 0 to 0.5")]
    public void InAGermanCultureADecimalIsReadAndQuotedWithAPoint(string option, string value, string message, params string[] others)
    {
        using var work = new TemporaryDirectory();
        using var german = CultureScope.German();
        ExternalProcess.Result run = InProcessTool.Run(["train", "--train", Data!.TrainCsv, "--out", work.File("m.zip"), option, value, .. others]);
        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.BadArguments), run.Error);
        Assert.That(run.Error, Does.Contain(message));
    }

    [Test]
    public void InAGermanCultureTheSummariesGroupThousandsWithCommas()
    {
        using var german = CultureScope.German();
        string trained = new TrainingReport("model.zip", "model.zip.ckpt", [new(1, 1.5, 0.40, null, null, 0.045)], 10, 4800, TimeSpan.FromSeconds(90), false)
        {
            HeldOut = 1200,
        }.Describe();
        var scored = new ScoringSummary(12_000, 2_000, 10_000, new Dictionary<RowErrorReason, long> { [RowErrorReason.FieldCount] = 1_500 },
            TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(4), "TorchSharp", Interrupted: false);
        var model = new InfoCommand.ModelDescription("model.zip", 38_000_000, [], [], "ImagePath", null, [], "Features", 1, 64, 64, 10, [], "BN", "Relu",
            "(x - [0.5]) / [0.25]", 13, new Dictionary<string, string>());

        Assert.Multiple(() =>
        {
            Assert.That(trained, Does.StartWith("trained on 4,800 images (1,200 more held out for validation) of 10 classes"));
            Assert.That(ScoreCommand.Describe(scored, "out.csv"), Is.EqualTo(
                "done: 12,000 rows in out.csv. This run wrote 10,000 rows after 2,000 done earlier in 0:08 (1250.0 rows/s; the network, TorchSharp, busy 50% of the time); " +
                "1,500 bad rows (FieldCount 1,500)."));
            Assert.That(model.ToText(), Does.StartWith("model          model.zip (36.2 MB)"));
        });
    }

    private static void Refused(TemporaryDirectory work, string[] arguments, string message)
    {
        ExternalProcess.Result run = InstalledTool.RunWithVariables(GermanLocale, work.Path, arguments);
        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.BadArguments), $"{string.Join(' ', arguments)}: {run.Output}{run.Error}");
        Assert.That(run.Error.Trim(), Does.StartWith(message), string.Join(' ', arguments));
    }

    private static CommandContext Quiet() => new(TextWriter.Null, TextWriter.Null, () => CancellationToken.None, ProgressOnTerminal: false);
}
