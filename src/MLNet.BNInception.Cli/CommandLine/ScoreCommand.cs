using System.CommandLine;
using System.Globalization;
using MLNet.BNInception.Cli.Progress;
using MLNet.BNInception.Cli.Scoring;
using MLNet.BNInception.Engine.Inference;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary><c>bninception score</c>: the batch scoring job (docs/batch-scoring.md).</summary>
internal static class ScoreCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<FileInfo>("--model") { Description = "The ML.NET model file (.zip) that 'bninception train' or mlContext.Model.Save wrote.", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "The CSV file listing the images, one row each; any other columns are copied to the output.", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "The CSV file to write: the input's columns, then PredictedLabel, Probability (and the next classes with --top-k) and Error.", Required = true };
        var topK = new Option<int>("--top-k") { Description = "How many of the most probable classes to write per row.", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch") { Description = "Images per batch the network scores; also the unit the output is written and resumed in.", DefaultValueFactory = _ => 64 };
        var threads = OptionValues.ThreadsOption();
        var decoders = new Option<int>("--decoders") { Description = "Threads that decode and resize images ahead of the network.", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount / 2) };
        var precision = new Option<string>("--precision")
        {
            Description = "float32: ONNX Runtime on the saved network, the probabilities the saved model gives. bfloat16: this package's engine in bfloat16, about twice as fast on CPUs with AVX512-BF16; the top class agreed with float32's on 99.5% of images for a trained Fashion-MNIST model; check on yours (docs/batch-scoring.md).",
            DefaultValueFactory = _ => "float32",
        }.AcceptOnlyFromAmong("float32", "bfloat16");
        var device = new Option<string>("--device")
        {
            Description = "cpu, or cuda / cuda:N: score on that GPU with this package's engine (TorchSharp) in the --precision given. Needs a CUDA build of libtorch (docs/gpu.md).",
            DefaultValueFactory = _ => "cpu",
        };
        var resume = new Option<bool>("--resume") { Description = "Continue the output of an interrupted run of the same job after its last whole batch." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output if it exists." };
        var failFast = new Option<bool>("--fail-fast") { Description = "Stop at the first row whose image cannot be scored, naming its row and path (exit code 5), instead of writing an Error and going on." };
        var shard = new Option<string>("--shard") { Description = "K/N: score only shard K (from 0) of N, every N-th block of rows starting at block K; N processes with K = 0 … N-1 split the input." };
        var shardBlock = new Option<int>("--shard-block") { Description = "Rows per shard block, a multiple of --batch; all shards of a job must use the same.", DefaultValueFactory = _ => 4096 };
        var imageFolder = new Option<DirectoryInfo>("--image-folder") { Description = "The folder relative paths are read from. Default: the folder the model was trained with, when it exists here." };
        var pathColumn = new Option<string>("--path-column") { Description = "The column of image paths, by header name or number (from 1). Default: the model's path column (the first column without a header)." };
        var separator = new Option<string>("--separator") { Description = "The field separator: a character, or 'tab'. Default: tab for .tsv files, else comma." };
        var noHeader = new Option<bool>("--no-header") { Description = "The input has no header row (nor will the output)." };
        Option<long> maxImagePixels = OptionValues.MaxImagePixelsOption();
        var command = new Command("score", "Score a CSV list of images with a saved model, in batches, resumable and shardable.")
        {
            model, input, output, topK, batch, threads, decoders, precision, device, resume, overwrite, failFast, shard, shardBlock, imageFolder, pathColumn, separator, noHeader,
            maxImagePixels,
        };
        command.SetAction(parsed =>
        {
            int batchSize = OptionValues.Positive(parsed.GetValue(batch), "--batch");
            string deviceName = OptionValues.Device(parsed.GetRequiredValue(device));
            int blockRows = OptionValues.Positive(parsed.GetValue(shardBlock), "--shard-block");
            ShardSelection selection = ShardSelection.All(blockRows);
            if (parsed.GetValue(shard) is { } shardText)
            {
                selection = ShardSelection.Parse(shardText, blockRows, out string? error) ?? throw CommandLineException.BadArguments(error!);
                if (blockRows % batchSize != 0)
                {
                    throw CommandLineException.BadArguments(
                        $"--shard-block {blockRows} is not a multiple of --batch {batchSize}: a shard's blocks must hold whole batches (choose --batch among the divisors of {blockRows}, or another --shard-block)");
                }
            }

            string modelPath = parsed.GetRequiredValue(model).FullName, inputPath = parsed.GetRequiredValue(input).FullName, outputPath = parsed.GetRequiredValue(output).FullName;
            CommandFiles.Check(
                [new("--model", modelPath), new("--input", inputPath)],
                [
                    new("--output", outputPath),
                    new("--output", JobRecord.PathFor(outputPath), "its job record"),
                ]);

            if (parsed.GetValue(resume) && parsed.GetValue(overwrite))
            {
                throw CommandLineException.BadArguments("--resume and --overwrite contradict each other: choose one");
            }

            var options = new ScoreOptions
            {
                ModelPath = modelPath,
                InputPath = inputPath,
                OutputPath = outputPath,
                TopK = OptionValues.Positive(parsed.GetValue(topK), "--top-k"),
                BatchSize = batchSize,
                Threads = OptionValues.Threads(parsed.GetValue(threads)),
                Decoders = OptionValues.Positive(parsed.GetValue(decoders), "--decoders"),
                Precision = parsed.GetValue(precision) == "bfloat16" ? ScoringPrecision.BFloat16 : ScoringPrecision.Float32,
                Device = deviceName,
                Resume = parsed.GetValue(resume),
                Overwrite = parsed.GetValue(overwrite),
                FailFast = parsed.GetValue(failFast),
                Shard = selection,
                ImageFolder = parsed.GetValue(imageFolder)?.FullName,
                PathColumn = parsed.GetValue(pathColumn),
                Separator = OptionValues.Separator(parsed.GetValue(separator)),
                HasHeader = !parsed.GetValue(noHeader),
                MaxImagePixels = OptionValues.Positive(parsed.GetValue(maxImagePixels), "--max-image-pixels"),
            };
            var job = new ScoringJob(options);
            ScoringSummary summary = ProgressDisplay.RunAsync(context, "scoring", sink => job.RunAsync(
                update => sink.Report(update.RowsDone, update.RowsInShard, string.Create(CultureInfo.InvariantCulture,
                    $"{update.RowsDone:N0} of {update.RowsInShard:N0} rows, {update.RowsPerSecond:F1} rows/s, {update.BadRows:N0} bad")),
                sink.Line, context.StopGracefully())).GetAwaiter().GetResult();
            context.Output.WriteLine(Describe(summary, options.OutputPath));
            return summary.Interrupted ? ExitCodes.Interrupted : ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The line a job ends with: what it wrote, how fast, and its bad rows by reason.</summary>
    internal static string Describe(ScoringSummary summary, string outputPath)
    {
        // One line, as every failure is: a line break in the path is \x0A.
        string output = Printable.Escaped(outputPath);
        // Every part is formatted invariantly on its own: an interpolated string nested in another takes the current culture.
        string bad = summary.BadRowCount == 0 ? "no bad rows"
            : Text($"{summary.BadRowCount:N0} bad row{(summary.BadRowCount == 1 ? "" : "s")} ({string.Join(", ", summary.BadRows.OrderByDescending(kv => kv.Value).Select(kv => Text($"{kv.Key} {kv.Value:N0}")))})");
        string resumed = summary.RowsAlreadyDone > 0 ? Text($" after {summary.RowsAlreadyDone:N0} done earlier") : "";
        string state = summary.Interrupted
            ? Text($"interrupted: {summary.RowsAlreadyDone + summary.RowsWritten:N0} of {summary.RowsInShard:N0} rows are in {output}; rerun with --resume to continue")
            : Text($"done: {summary.RowsInShard:N0} rows in {output}");
        return string.Create(CultureInfo.InvariantCulture,
            $"{state}. This run wrote {summary.RowsWritten:N0} rows{resumed} in {ProgressDisplay.FormatDuration(summary.Elapsed)} " +
            $"({summary.RowsPerSecond:F1} rows/s; the network, {summary.Engine}, busy {Share(summary.NetworkTime, summary.Elapsed)} of the time); {bad}.");
    }

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Share(TimeSpan part, TimeSpan whole) =>
        whole > TimeSpan.Zero ? string.Create(CultureInfo.InvariantCulture, $"{100 * part.TotalSeconds / whole.TotalSeconds:F0}%") : "0%";
}
