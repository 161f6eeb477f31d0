using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Cli.Progress;
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
        var labelColumn = new Option<string>("--label-column")
        {
            Description = "The file's column of true labels, read as the model's label whatever the model named its own. " +
                "Default: the column the model was trained on as its label.",
        };
        var imageFolder = new Option<DirectoryInfo>("--image-folder") { Description = "The folder relative paths are read from. Default: the folder the model was trained with, when it exists here." };
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
            // Ctrl-C or SIGTERM stops the evaluation within a row, so that the model's temporary folder is removed.
            CancellationToken cancellation = context.StopGracefully();
            string dataPath = parsed.GetRequiredValue(data).FullName;
            char fieldSeparator = OptionValues.SeparatorFor(dataPath, OptionValues.Separator(parsed.GetValue(separator)));
            string? givenLabel = GivenLabelColumn(parsed.GetValue(labelColumn));
            IReadOnlyList<string> header = CsvHeader.Read(dataPath, fieldSeparator);
            if (givenLabel is not null)
            {
                // A column the file lacks is named before the model, seconds to load, is read.
                CsvHeader.IndexOf(header, givenLabel, dataPath, "--label-column", fieldSeparator);
            }

            // Before the model is loaded: a quote never closed would merge the rows after it into one
            // field, and a list of no rows would give metrics of nothing.
            long fileRows = RowCount.Of(dataPath, fieldSeparator);
            if (fileRows == 0)
            {
                throw CommandLineException.UnreadableInput($"'{dataPath}' has a header and no rows: there is nothing to evaluate");
            }

            long pixelLimit = OptionValues.Positive(parsed.GetValue(maxImagePixels), "--max-image-pixels");
            int requestedTopK = OptionValues.Positive(parsed.GetValue(topK), "--top-k");
            bool skipUnknown = parsed.GetValue(onUnknownLabel) == "skip";
            using SavedModel saved = SavedModel.Load(parsed.GetRequiredValue(model).FullName);
            RowCount.Of(dataPath, fieldSeparator, CsvHeader.IndexOf(header, saved.PathColumn, dataPath, "the model's input columns", fieldSeparator));
            cancellation.ThrowIfCancellationRequested();
            // The saved pipeline maps its own label column to classes: the file's labels are loaded under
            // that name, from the column --label-column gives, so that a list whose labels are in Class
            // (or in Truth beside a Label of something else) is evaluated on them.
            string label = LabelColumnOf(saved, givenLabel);
            string fileLabel = givenLabel ?? label;
            MLContext ml = saved.Context;
            var loader = ml.Data.CreateTextLoader(new TextLoader.Options
            {
                Separators = [fieldSeparator],
                HasHeader = true,
                AllowQuoting = true,
                ReadMultilines = true,
                Columns = [.. saved.InputSchema.Where(column => !column.IsHidden).Select(column => LoaderColumn(column, header, dataPath, label, fileLabel, fieldSeparator))],
            });
            var rows = new CancellableDataView(loader.Load(dataPath), cancellation);
            string? folder = ImageFolderChoice.Resolve(parsed.GetValue(imageFolder)?.FullName, saved, context.Error.WriteLine);
            int k = Math.Min(requestedTopK, saved.ClassLabels.Count);
            (IDataView scored, IDataView? keyed) = Scored(saved, folder, pixelLimit, rows, label, skipUnknown);
            if (keyed is null)
            {
                throw CommandLineException.UnreadableInput(
                    $"'{dataPath}' cannot be evaluated with '{saved.Path}': the model does not map its {label} column to classes; check --label-column");
            }

            // ML.NET's evaluator drops rows without a label key silently: a figure over fewer rows than the
            // file holds is refused, or, when asked for, given with the rows it leaves out counted.
            IDataView labelTexts = ml.Data.CreateTextLoader(new TextLoader.Options
            {
                Separators = [fieldSeparator],
                HasHeader = true,
                AllowQuoting = true,
                ReadMultilines = true,
                Columns = [new TextLoader.Column(label, DataKind.String, CsvHeader.IndexOf(header, fileLabel, dataPath, "--label-column", fieldSeparator))],
            }).Load(dataPath);
            UnknownLabels unknown;
            try
            {
                unknown = UnknownLabels.Find(labelTexts, keyed, label);
            }
            catch (Exception e) when (cancellation.IsCancellationRequested)
            {
                throw new OperationCanceledException("evaluate was stopped", e, cancellation);
            }
            catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
            {
                // A label column the model was not trained on, or one it does not map to classes.
                throw CommandLineException.UnreadableInput(
                    $"'{dataPath}' cannot be evaluated with '{saved.Path}': its {fileLabel} column is not the model's label ({BnInceptionCommandLine.OneLine(e.Message)}); check --label-column", e);
            }

            if (unknown.Rows > 0 && !skipUnknown)
            {
                throw CommandLineException.UnreadableInput(
                    $"'{dataPath}' has {unknown.Rows} row{(unknown.Rows == 1 ? "" : "s")} whose {fileLabel} is none of the model's classes " +
                    $"(rows counting from 0): {BnInceptionCommandLine.OneLine(unknown.Describe())}{unknown.LookalikesOf(saved.ClassLabels)}. The model's classes are " +
                    $"{Printable.ClassNames(saved.ClassLabels)}. Correct those labels, or pass " +
                    "--on-unknown-label skip to evaluate without those rows");
            }

            if (unknown.Rows == fileRows)
            {
                throw CommandLineException.UnreadableInput(
                    $"every one of the {fileRows} rows of '{dataPath}' has a {fileLabel} that is none of the model's classes, so none is left to evaluate: " +
                    $"{BnInceptionCommandLine.OneLine(unknown.Describe())}");
            }

            context.Error.WriteLine($"evaluating {Printable.Escaped(saved.Path)} on {Printable.Escaped(dataPath)}…");
            MulticlassClassificationMetrics metrics;
            try
            {
                // Every row is decoded and scored here, minutes for a large list: its progress is the list's rows read.
                metrics = ProgressDisplay.RunAsync(context, "evaluating", sink =>
                {
                    rows.RowsRead = read => sink.Report(read, fileRows, string.Create(CultureInfo.InvariantCulture, $"row {read} of {fileRows}"));
                    return Task.FromResult(ml.MulticlassClassification.Evaluate(scored, label, topKPredictionCount: k));
                }).GetAwaiter().GetResult();
            }
            catch (Exception e) when (cancellation.IsCancellationRequested)
            {
                throw new OperationCanceledException("evaluate was stopped", e, cancellation);
            }
            catch (Exception e) when (InvalidImageException.FindIn(e) is { } invalid)
            {
                // The loader's advice is for code (InvalidImagePolicy.Skip); this says which list the row is of.
                throw CommandLineException.UnreadableInput(
                    $"'{dataPath}', {RowCount.RowAndLine(dataPath, fieldSeparator, invalid.Row)}: the image '{Printable.FilePath(invalid.Path)}' cannot be loaded: " +
                    $"{Printable.PathDetail(invalid.Detail)} [{invalid.Reason}]. Fix or remove the file, or leave its row out of the list", e);
            }
            catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
            {
                throw CommandLineException.UnreadableInput($"'{dataPath}' cannot be evaluated with '{saved.Path}': {BnInceptionCommandLine.OneLine(e.Message)}", e);
            }

            context.Output.WriteLine(parsed.GetValue(json) ? Json(metrics, saved, dataPath, unknown) : Text(metrics, saved.ClassLabels, unknown));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// The loader column for the model's input <paramref name="column"/>: the file's column of the same
    /// name, except the model's <paramref name="label"/>, read from the file's <paramref name="fileLabel"/>.
    /// </summary>
    private static TextLoader.Column LoaderColumn(DataViewSchema.Column column, IReadOnlyList<string> header, string path, string label, string fileLabel, char separator)
    {
        int index = column.Name == label
            ? CsvHeader.IndexOf(header, fileLabel, path, "--label-column", separator)
            : CsvHeader.IndexOf(header, column.Name, path, "the model's input columns", separator);
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

    /// <summary>
    /// The rows through the saved steps, with LoadImagesSafely (same columns, folder as given) for the saved
    /// LoadImages; and the view where the label has become the model's key (null if it never does), to
    /// find the rows whose label the model does not know. With <paramref name="skipUnknown"/> those rows
    /// are dropped once both the label is a key and the image loader is behind: their images are never
    /// read, and the loader still numbers rows as the file does.
    /// </summary>
    private static (IDataView Scored, IDataView? Keyed) Scored(SavedModel saved, string? folder, long maximumPixels, IDataView rows, string label, bool skipUnknown)
    {
        IDataView view = rows;
        IDataView? keyed = null;
        bool imagesLoaded = false, filtered = false;
        foreach (ITransformer step in saved.Steps)
        {
            bool isLoader = ReferenceEquals(step, saved.ImageLoader);
            ITransformer replaced = isLoader
                ? saved.Context.Transforms.LoadImagesSafely(new SafeImageLoadingOptions
                {
                    OutputColumnName = saved.ImageColumn,
                    InputColumnName = saved.PathColumn,
                    ImageFolder = folder,
                    MaximumPixels = maximumPixels,
                }).Fit(view)
                : step;
            view = replaced.Transform(view);
            imagesLoaded |= isLoader;
            if (keyed is null && view.Schema.GetColumnOrNull(label) is { Type: KeyDataViewType })
            {
                keyed = view;
            }

            if (skipUnknown && !filtered && keyed is not null && imagesLoaded)
            {
                view = saved.Context.Data.FilterRowsByMissingValues(view, label);
                filtered = true;
            }
        }

        return (view, keyed);
    }

    /// <summary>
    /// --label-column's value, when given: an empty or blank name is no column anyone can see in a
    /// header, and is refused as an argument before the file or the model is read.
    /// </summary>
    private static string? GivenLabelColumn(string? given) =>
        given is null || !string.IsNullOrWhiteSpace(given)
            ? given
            : throw CommandLineException.BadArguments($"--label-column '{Printable.Escaped(given)}': give the name of the file's column of true labels");

    // The input column the saved pipeline maps to keys: what it was trained with as its label. A model
    // that maps several takes the one --label-column names, as evaluate did before the option named the
    // file's column whatever the model's label was called.
    private static string LabelColumnOf(SavedModel saved, string? givenLabel)
    {
        DataViewSchema output = saved.Model.GetOutputSchema(saved.InputSchema);
        string[] labels = [.. saved.InputSchema
            .Where(column => !column.IsHidden && column.Type is not KeyDataViewType && output.GetColumnOrNull(column.Name) is { Type: KeyDataViewType })
            .Select(column => column.Name)];
        return givenLabel is not null && labels.Contains(givenLabel) ? givenLabel : labels.Length == 1 ? labels[0] : "Label";
    }

    // A metric the rows leave undefined (the log-loss reduction of a list of one class, whose prior
    // log-loss is 0) is said so in the text and is null in the JSON, which has no NaN or infinity.
    private const string Undefined = "not defined";

    private static double? Defined(double value) => double.IsFinite(value) ? value : null;

    private static string Text(MulticlassClassificationMetrics metrics, IReadOnlyList<string> classes, UnknownLabels unknown) => string.Create(CultureInfo.InvariantCulture,
        $"""
        {(unknown.Rows == 0 ? "" : $"left out {unknown.Rows} row{(unknown.Rows == 1 ? "" : "s")} whose label is none of the model's classes: {unknown.Describe()}{Environment.NewLine}")}micro accuracy  {Figure(metrics.MicroAccuracy, "P2")}
        macro accuracy  {Figure(metrics.MacroAccuracy, "P2")}
        top-{metrics.TopKPredictionCount} accuracy  {Figure(metrics.TopKAccuracy, "P2")}
        log-loss        {Figure(metrics.LogLoss, "F4")}
        log-loss reduction {Figure(metrics.LogLossReduction, "F4")}

        {ConfusionTable.Text(metrics.ConfusionMatrix, classes)}
        """);

    private static string Figure(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : Undefined;

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
            microAccuracy = Defined(metrics.MicroAccuracy),
            macroAccuracy = Defined(metrics.MacroAccuracy),
            topK = metrics.TopKPredictionCount,
            topKAccuracy = Defined(metrics.TopKAccuracy),
            logLoss = Defined(metrics.LogLoss),
            logLossReduction = Defined(metrics.LogLossReduction),
            perClass = classes.Select((name, i) => new
            {
                label = name,
                logLoss = Defined(metrics.PerClassLogLoss[i]),
                precision = Defined(confusion.PerClassPrecision[i]),
                recall = Defined(confusion.PerClassRecall[i]),
            }),
            confusionMatrix = new { rowsAreLabels = true, classes, counts = confusion.Counts },
        };
        return JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true });
    }
}
