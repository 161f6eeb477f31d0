using MLNet.BNInception.Programs;
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// The <c>bninception</c> tool: its verbs, and the translation of every outcome into an exit code
/// with, on failure, one line on standard error that says what went wrong and what to do.
/// </summary>
public static class BnInceptionCommandLine
{
    /// <summary>Runs the tool with <paramref name="args"/> against the process's console; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args)
    {
        // The same command means the same on every machine, and what it writes (CSV files, summaries,
        // charts, help) reads alike: decimals with a point and English words, whatever LANG says.
        ProgramCulture.UseInvariant();
        using var interruption = new Interruption("bninception", Console.Error);
        var context = new CommandContext(new StandardOutput(Console.Out), Console.Error, interruption.Honour,
            ProgressOnTerminal: !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb"));
        return Run(args, context);
    }

    internal static int Run(string[] args, CommandContext context)
    {
        RootCommand root = Create(context);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            string verb = parsed.CommandResult.Command is RootCommand ? "" : " " + parsed.CommandResult.Command.Name;
            // A word the parser did not know explains more than what it then found missing.
            ParseError error = parsed.UnmatchedTokens.Count > 0 && parsed.Errors.FirstOrDefault(e => e.Message.Contains(parsed.UnmatchedTokens[0], StringComparison.Ordinal)) is { } unknown
                ? unknown
                : parsed.Errors[0];
            // One line, as every other mistake gets: the parser lists allowed values one per line.
            string message = OneLine(string.Join(" ", error.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            context.Error.WriteLine($"bninception{verb}: {message} (bninception{verb} --help lists the options)");
            return ExitCodes.BadArguments;
        }

        try
        {
            if (parsed.Action is not HelpAction)
            {
                OptionValues.CheckedThreadSetting();
            }

            return parsed.Invoke(new InvocationConfiguration
            {
                Output = context.Output,
                Error = context.Error,
                EnableDefaultExceptionHandler = false,
                // Interruption handles Ctrl-C and SIGTERM: commands stop at a safe point, however long that takes.
                ProcessTerminationTimeout = null,
            });
        }
        catch (CommandLineException failure)
        {
            context.Error.WriteLine($"bninception: {OneLine(failure.Message)}");
            return failure.ExitCode;
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine("bninception: interrupted");
            return ExitCodes.Interrupted;
        }
        catch (Exception failure)
        {
            context.Error.WriteLine($"bninception: unexpected {failure.GetType().Name}: {OneLine(failure.Message)}");
            if (Environment.GetEnvironmentVariable("BNINCEPTION_DEBUG") is "1")
            {
                context.Error.WriteLine(failure);
            }

            return ExitCodes.Failure;
        }
    }

    /// <summary>The tool's verbs and their options, as <see cref="Run(string[], CommandContext)"/> parses them.</summary>
    internal static RootCommand Create(CommandContext context) => new(
        "BN-Inception (Ioffe and Szegedy, 2015) for ML.NET: train from CSV lists of image files, evaluate, score in batch jobs, export ONNX.")
    {
        TrainCommand.Create(context),
        EvaluateCommand.Create(context),
        ScoreCommand.Create(context),
        ExportCommand.Create(context),
        InfoCommand.Create(context),
    };

    // Whatever a message quotes, it stays one line of printable text.
    internal static string OneLine(string text) => Printable.Content(text.ReplaceLineEndings(" ").Trim(), Printable.MessageLimit);
}
