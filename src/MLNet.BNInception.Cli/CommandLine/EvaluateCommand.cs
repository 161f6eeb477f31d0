using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// <c>bninception evaluate</c>: ML.NET's multiclass metrics and confusion table for a saved model
/// on a labelled CSV file, computed by the saved pipeline itself (<c>Model.Load</c>,
/// <c>Transform</c>, <c>MulticlassClassification.Evaluate</c>), with the safe image loader in place
/// of the saved one so that a bad image is named rather than scored as an empty picture.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<FileInfo>("--model") { Description = "The ML.NET model file (.zip).", Required = true };
        var data = new Option<FileInfo>("--data") { Description = "A CSV file with the columns the model was trained on (image paths and labels), with a header.", Required = true };
        var labelColumn = new Option<string>("--label-column") { Description = "The label column.", DefaultValueFactory = _ => "Label" };
        var imageFolder = new Option<DirectoryInfo>("--image-folder") { Description = "The folder relative paths are read from. Default: the folder the model was trained with." };
        var separator = new Option<string>("--separator") { Description = "The field separator: a character, or 'tab'. Default: tab for .tsv files, else comma." };
        var topK = new Option<int>("--top-k") { Description = "The k of the top-k accuracy.", DefaultValueFactory = _ => 5 };
        var json = new Option<bool>("--json") { Description = "Write the metrics as JSON (for scripts) instead of text." };
        var onUnknownLabel = new Option<string>("--on-unknown-label")
        {
            Description = "fail: refuse a file with rows whose label is none of the model's classes (or empty), naming them; " +
                "skip: evaluate without those rows, counting them in the output.",
            DefaultValueFactory = _ => "fail",
        }.AcceptOnlyFromAmong("fail", "skip");
        Option<long> maxImagePixels = OptionValues.MaxImagePixelsOption();
        var command = new Command("evaluate", "Evaluate a saved model on a labelled CSV list of images: ML.NET's metrics and the confusion table.")
        {
            model, data, labelColumn, imageFolder, separator, topK, json, onUnknownLabel, maxImagePixels,
        };
        command.SetAction(parsed =>
        {
            string dataPath = parsed.GetRequiredValue(data).FullName;
            char fieldSeparator = OptionValues.SeparatorFor(dataPath, OptionValues.Separator(parsed.GetValue(separator)));
            IReadOnlyList<string> header = CsvHeader.Read(dataPath, fieldSeparator);
            using SavedModel saved = SavedModel.Load(parsed.GetRequiredValue(model).FullName);
            string label = parsed.GetRequiredValue(labelColumn);
            MLContext ml = saved.Context;
            var loader = ml.Data.CreateTextLoader(new TextLoader.Options
            {
                Separators = [fieldSeparator],
                HasHeader = true,
                AllowQuoting = true,
                ReadMultilines = true,
                Columns = [.. saved.InputSchema.Where(column => !column.IsHidden).Select(column => LoaderColumn(column, header, dataPath, label, fieldSeparator))],
            });
            IDataView rows = loader.Load(dataPath);

            string? folder = parsed.GetValue(imageFolder)?.FullName ?? saved.ImageFolder;
            if (folder is not null && !Directory.Exists(folder))
            {
                throw CommandLineException.UnreadableInput($"the image folder '{folder}' does not exist here: pass --image-folder");
            }

            long pixelLimit = OptionValues.Positive(parsed.GetValue(maxImagePixels), "--max-image-pixels");
            ITransformer pipeline = WithSafeImageLoader(saved, folder, pixelLimit, rows);
            int k = Math.Min(OptionValues.Positive(parsed.GetValue(topK), "--top-k"), saved.ClassLabels.Count);
            IDataView scored = pipeline.Transform(rows);

            // ML.NET's evaluator drops rows without a label key silently: a figure over fewer rows than the
            // file holds is refused, or, when asked for, given with the rows it leaves out counted.
            IDataView labelTexts = ml.Data.CreateTextLoader(new TextLoader.Options
            {
                Separators = [fieldSeparator],
                HasHeader = true,
                AllowQuoting = true,
                ReadMultilines = true,
                Columns = [new TextLoader.Column(label, DataKind.String, CsvHeader.IndexOf(header, label, dataPath, "--label-column", fieldSeparator))],
            }).Load(dataPath);
            UnknownLabels unknown;
            try
            {
                unknown = UnknownLabels.Find(labelTexts, scored, label);
            }
            catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
            {
                // A label column the model was not trained on, or one it does not map to classes.
                throw CommandLineException.UnreadableInput(
                    $"'{dataPath}' cannot be evaluated with '{saved.Path}': its {label} column is not the model's label ({BnInceptionCommandLine.OneLine(e.Message)}); check --label-column", e);
            }

            if (unknown.Rows > 0 && parsed.GetValue(onUnknownLabel) != "skip")
            {
                throw CommandLineException.UnreadableInput(
                    $"'{dataPath}' has {unknown.Rows} row{(unknown.Rows == 1 ? "" : "s")} whose {label} is none of the model's classes " +
                    $"(rows counting from 0): {BnInceptionCommandLine.OneLine(unknown.Describe())}. The model's classes are " +
                    $"{string.Join(", ", saved.ClassLabels.Select(name => $"'{name}'"))}. Correct those labels, or pass " +
                    "--on-unknown-label skip to evaluate without those rows");
            }

            context.Error.WriteLine($"evaluating {saved.Path} on {dataPath}…");
            MulticlassClassificationMetrics metrics;
            try
            {
                metrics = ml.MulticlassClassification.Evaluate(scored, label, topKPredictionCount: k);
            }
            catch (Exception e) when (InvalidImageException.FindIn(e) is { } invalid)
            {
                throw CommandLineException.UnreadableInput(BnInceptionCommandLine.OneLine(invalid.Message), e);
            }
            catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
            {
                throw CommandLineException.UnreadableInput($"'{dataPath}' cannot be evaluated with '{saved.Path}': {BnInceptionCommandLine.OneLine(e.Message)}", e);
            }

            context.Output.WriteLine(parsed.GetValue(json) ? Json(metrics, saved, dataPath, unknown) : Text(metrics, unknown));
            return ExitCodes.Success;
        });
        return command;
    }

    private static TextLoader.Column LoaderColumn(DataViewSchema.Column column, IReadOnlyList<string> header, string path, string label, char separator)
    {
        int index = CsvHeader.IndexOf(header, column.Name, path, column.Name == label ? "--label-column" : "the model's input columns", separator);
        DataKind kind = column.Type.RawType switch
        {
            Type t when t == typeof(ReadOnlyMemory<char>) => DataKind.String,
            Type t when t == typeof(float) => DataKind.Single,
            Type t when t == typeof(double) => DataKind.Double,
            Type t when t == typeof(bool) => DataKind.Boolean,
            Type t when t == typeof(int) => DataKind.Int32,
            Type t when t == typeof(long) => DataKind.Int64,
            Type t when t == typeof(uint) => DataKind.UInt32,
            Type t when t == typeof(ulong) => DataKind.UInt64,
            _ => throw CommandLineException.InvalidModel($"the model's input column '{column.Name}' is {column.Type}, which a CSV column cannot be loaded as"),
        };
        return new TextLoader.Column(column.Name, kind, index);
    }

    // The saved steps, with LoadImagesSafely (same columns, folder as given) for the saved LoadImages.
    private static TransformerChain<ITransformer> WithSafeImageLoader(SavedModel saved, string? folder, long maximumPixels, IDataView rows)
    {
        var steps = new List<ITransformer>();
        IDataView schema = rows;
        foreach (ITransformer step in saved.Steps)
        {
            ITransformer replaced = ReferenceEquals(step, saved.ImageLoader)
                ? saved.Context.Transforms.LoadImagesSafely(new SafeImageLoadingOptions
                {
                    OutputColumnName = saved.ImageColumn,
                    InputColumnName = saved.PathColumn,
                    ImageFolder = folder,
                    MaximumPixels = maximumPixels,
                }).Fit(schema)
                : step;
            steps.Add(replaced);
            schema = replaced.Transform(schema);
        }

        return new TransformerChain<ITransformer>([.. steps]);
    }

    private static string Text(MulticlassClassificationMetrics metrics, UnknownLabels unknown) => string.Create(CultureInfo.InvariantCulture,
        $"""
        {(unknown.Rows == 0 ? "" : $"left out {unknown.Rows} row{(unknown.Rows == 1 ? "" : "s")} whose label is none of the model's classes: {unknown.Describe()}{Environment.NewLine}")}micro accuracy  {metrics.MicroAccuracy:P2}
        macro accuracy  {metrics.MacroAccuracy:P2}
        top-{metrics.TopKPredictionCount} accuracy  {metrics.TopKAccuracy:P2}
        log-loss        {metrics.LogLoss:F4}
        log-loss reduction {metrics.LogLossReduction:F4}

        {metrics.ConfusionMatrix.GetFormattedConfusionTable()}
        """);

    private static string Json(MulticlassClassificationMetrics metrics, SavedModel saved, string dataPath, UnknownLabels unknown)
    {
        ConfusionMatrix confusion = metrics.ConfusionMatrix;
        IReadOnlyList<string> classes = saved.ClassLabels;
        var document = new
        {
            model = saved.Path,
            data = dataPath,
            rows = (long)confusion.Counts.Sum(row => row.Sum()),
            rowsLeftOut = unknown.Rows,
            unknownLabels = unknown.Labels.Select(found => new { label = found.Text, rows = found.Rows, firstRows = found.FirstRows }),
            microAccuracy = metrics.MicroAccuracy,
            macroAccuracy = metrics.MacroAccuracy,
            topK = metrics.TopKPredictionCount,
            topKAccuracy = metrics.TopKAccuracy,
            logLoss = metrics.LogLoss,
            logLossReduction = metrics.LogLossReduction,
            perClass = classes.Select((name, i) => new
            {
                label = name,
                logLoss = metrics.PerClassLogLoss[i],
                precision = confusion.PerClassPrecision[i],
                recall = confusion.PerClassRecall[i],
            }),
            confusionMatrix = new { rowsAreLabels = true, classes, counts = confusion.Counts },
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true });
    }
}
