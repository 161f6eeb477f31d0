using System.Globalization;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Images;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Demo;

/// <summary>
/// The demo's arguments, Ctrl-C and exit codes, apart from the process (Program.cs only calls it),
/// so that tests run it in process. Every argument is checked, and the output folder made and
/// tried, before any work: a mistake is one line naming the argument and exit code 2, as with the
/// bninception tool (docs/cli.md). A stop is exit code 130 with a line saying what there is to resume.
/// </summary>
public static class DemoCommandLine
{
    /// <summary>The arguments are wrong: the bninception tool's code for it.</summary>
    public const int BadArguments = 2;

    /// <summary>An input cannot be used: an image of the demo's data cannot be loaded, or no folder can be made in $TMPDIR. The bninception tool's code for it.</summary>
    public const int UnreadableInput = 3;

    /// <summary>Ctrl-C or SIGTERM stopped the demo; what it wrote is whole.</summary>
    public const int Interrupted = 130;

    private const string Usage = "usage: demo [--output DIR] [--epochs N] [--train-images N] [--test-images N] [--resume]";

    /// <summary>Runs the walk-through with <paramref name="args"/>; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        WalkthroughSettings settings;
        try
        {
            if (Parse(args) is not { } parsed)
            {
                output.WriteLine(Usage);
                return 0;
            }

            settings = parsed;
            settings.Validate();
            OutputFolder.Prepare(settings.OutputFolder, "--output");
        }
        catch (ArgumentException mistake)
        {
            error.WriteLine($"demo: {mistake.Message}. {Usage}");
            return BadArguments;
        }

        try
        {
            // The run keeps ML.NET's files in a folder of its own in $TMPDIR: one that takes none is found before any work.
            TemporaryModelFolder.Delete(TemporaryModelFolder.Create());
        }
        catch (IOException temporary)
        {
            error.WriteLine($"demo: {OneLine(temporary.Message)}");
            return UnreadableInput;
        }

        if (settings.Resume && UnresumableCheckpoint(settings.CheckpointPath) is { } reason)
        {
            // The engine's messages name the file; one of the system's may not.
            string named = reason.Contains(settings.CheckpointPath, StringComparison.Ordinal) ? reason : $"{settings.CheckpointPath} cannot be continued: {reason}";
            error.WriteLine($"demo: --resume: {named.TrimEnd('.')}; run again without --resume to start afresh.");
            return BadArguments;
        }

        DateTime started = DateTime.UtcNow;
        try
        {
            WalkthroughResult result = FashionMnistWalkthrough.Run(settings, output, cancellationToken);
            if (result.ReloadedMetrics.MicroAccuracy != result.Metrics.MicroAccuracy || Math.Abs(result.ReloadedMetrics.LogLoss - result.Metrics.LogLoss) > 1e-3)
            {
                error.WriteLine("demo: the reloaded model scores differently from the trained one.");
                return 1;
            }

            if (result.OnnxAgreement != result.OnnxChecked)
            {
                error.WriteLine("demo: the exported model classifies differently in ONNX Runtime.");
                return 1;
            }

            return 0;
        }
        catch (CheckpointMismatchException mismatch)
        {
            // Refused before training: the checkpoint is of a run on other data, another --train-images.
            error.WriteLine($"demo: --resume: {OneLine(mismatch.Message)} In the demo: give that run's --train-images, or leave out --resume.");
            return BadArguments;
        }
        catch (Exception e) when (InvalidImageException.FindIn(e) is { } invalid)
        {
            // The demo writes its images itself and writes an empty or cut-off one again on the next
            // run; one damaged otherwise (its bytes changed by hand, a failing disk) it cannot tell.
            string data = Path.Combine(Path.GetFullPath(settings.OutputFolder), "data");
            error.WriteLine($"demo: the image '{invalid.Path}' cannot be loaded: {OneLine(invalid.Detail)} [{invalid.Reason}]. " +
                $"The demo's images are its own: delete {data} and run again to write them anew.");
            return UnreadableInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"demo: {WhatThereIsToResume(settings.CheckpointPath, started)}");
            return Interrupted;
        }
    }

    // Null for --help.
    private static WalkthroughSettings? Parse(string[] args)
    {
        var settings = new WalkthroughSettings();
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Count()
            {
                string name = args[i], value = Next();
                return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0
                    ? count
                    : throw new ArgumentException($"{name} needs a whole number above 0, not '{value}'");
            }

            switch (args[i])
            {
                case "--output": settings = settings with { OutputFolder = Next() }; break;
                case "--epochs": settings = settings with { Epochs = Count() }; break;
                case "--train-images": settings = settings with { TrainImages = Count() }; break;
                case "--test-images": settings = settings with { TestImages = Count() }; break;
                case "--resume": settings = settings with { Resume = true }; break;
                case "-h" or "--help": return null;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }

        return settings;
    }

    // The checkpoint is written after every epoch and when training is cancelled, so whether there is
    // one, of this run, and whether its training had ended says what --resume would do.
    private static string WhatThereIsToResume(string checkpoint, DateTime started)
    {
        if (!File.Exists(checkpoint))
        {
            return "stopped before training had written a checkpoint: there is nothing to resume; run again to start (the image files written are reused).";
        }

        string whose = File.GetLastWriteTimeUtc(checkpoint) < started ? "an earlier run's checkpoint" : "the checkpoint";
        try
        {
            (_, TrainerOptions trainer, TrainingState state) = TrainingCheckpoint.ReadDescription(checkpoint);
            return state.Epoch >= trainer.Epochs
                ? $"stopped after training: {whose} in {checkpoint} holds the finished run; run again with --resume to evaluate, save and export it without training again."
                : $"stopped. {char.ToUpperInvariant(whose[0])}{whose[1..]} in {checkpoint} is valid: run again with --resume to continue.";
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return $"stopped; {checkpoint} is not a checkpoint this demo can resume ({OneLine(e.Message)}): run again without --resume.";
        }
    }

    // Why the checkpoint a --resume would continue cannot be read whole (damaged, not a checkpoint,
    // or of an earlier version's format), before the images are written and read; null when it can,
    // or when there is none (a resume without one starts afresh).
    private static string? UnresumableCheckpoint(string checkpoint)
    {
        if (!File.Exists(checkpoint))
        {
            return null;
        }

        try
        {
            // The engine's refusal of that format advises options the demo does not have.
            using (FileStream file = File.OpenRead(checkpoint))
            {
                if (TrainingCheckpoint.Identify(file, checkpoint) == TrainingCheckpoint.FileKind.Format2Checkpoint)
                {
                    return "it is a checkpoint of an earlier version, whose format this one does not continue";
                }
            }

            using TrainingCheckpoint.Loaded loaded = TrainingCheckpoint.Load(checkpoint);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return OneLine(e.Message);
        }
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
