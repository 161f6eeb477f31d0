using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Engine.Network;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary><c>bninception info</c>: what a model file holds and what it expects.</summary>
internal static class InfoCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<FileInfo>("--model") { Description = "The ML.NET model file (.zip).", Required = true };
        var json = new Option<bool>("--json") { Description = "Write the description as JSON." };
        var command = new Command("info", "Describe a saved model: its pipeline, input columns, preprocessing, network, classes and versions.") { model, json };
        command.SetAction(parsed =>
        {
            // Ctrl-C or SIGTERM lets the load finish, then stops: the model's temporary folder is removed.
            CancellationToken cancellation = context.StopGracefully();
            using SavedModel saved = SavedModel.Load(parsed.GetRequiredValue(model).FullName);
            cancellation.ThrowIfCancellationRequested();
            ModelDescription description = Describe(saved);
            context.Output.WriteLine(parsed.GetValue(json)
                ? JsonSerializer.Serialize(description, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase })
                : description.ToText());
            return ExitCodes.Success;
        });
        return command;
    }

    internal sealed record ModelDescription(
        string Model, long Bytes, IReadOnlyList<string> Pipeline, IReadOnlyList<string> InputColumns, string PathColumn, string? ImageFolder,
        IReadOnlyList<string> Preprocessing, string FeatureColumn, int Channels, int ImageSize, int NetworkSide, int Classes, IReadOnlyList<string> ClassLabels,
        string BatchNorm, string Activation, string? Normalization, int Opset, IReadOnlyDictionary<string, string> Versions)
    {
        // Each line escaped as a message's quotes are: the paths, column names and versions come from the model file.
        public string ToText() => string.Join(Environment.NewLine, new[]
        {
            string.Create(CultureInfo.InvariantCulture, $"model          {Model} ({Bytes / 1024.0 / 1024:F1} MB)"),
            $"pipeline       {string.Join(" → ", Pipeline)}",
            $"input columns  {string.Join(", ", InputColumns)}",
            $"images         paths in '{PathColumn}', relative to {(ImageFolder is null ? "the current directory" : $"'{ImageFolder}'")}",
            $"preprocessing  {string.Join("; ", Preprocessing)}",
            $"network        BN-Inception, input '{FeatureColumn}' {Channels}×{ImageSize}×{ImageSize}{(NetworkSide == ImageSize ? "" : $" resized whole to {NetworkSide}×{NetworkSide} inside")}, {Classes} classes, {Activation}, {BatchNorm}{(Normalization is null ? "" : $", normalises its input as {Normalization}")}, ONNX opset {Opset}",
            $"classes        {string.Join(", ", ClassLabels.Select(Printable.QuotedName))}",
            $"versions       {string.Join(", ", Versions.Select(kv => $"{kv.Key} {kv.Value}"))}",
        }.Select(Printable.Escaped));
    }

    private static ModelDescription Describe(SavedModel saved)
    {
        var network = saved.Network;
        BnInceptionOptions architecture = network.Model.Options;

        // ML.NET keeps its image transforms' settings internal; their output columns say what they make.
        var preprocessing = new List<string>();
        DataViewSchema schema = saved.InputSchema;
        foreach (ITransformer step in saved.Steps)
        {
            DataViewSchema next = step.GetOutputSchema(schema);
            if (step is ImageResizingTransformer or ImageGrayscalingTransformer or ImagePixelExtractingTransformer)
            {
                IEnumerable<string> made = next.Where(c => !c.IsHidden && (schema.GetColumnOrNull(c.Name) is not { } before || before.Type != c.Type || c.Index != before.Index))
                    .Select(c => $"{c.Name}: {c.Type}");
                preprocessing.Add($"{Name(step)} → {string.Join(", ", made)}");
            }

            schema = next;
        }

        var versions = new Dictionary<string, string>
        {
            ["bninception"] = Version(typeof(InfoCommand).Assembly),
            ["ML.NET"] = Version(typeof(MLContext).Assembly),
            ["ONNX Runtime"] = Version(typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly),
            ["TorchSharp"] = Version(typeof(TorchSharp.torch).Assembly),
        };
        return new ModelDescription(saved.Path, new FileInfo(saved.Path).Length, saved.Steps.Select(Name).ToArray(),
            saved.InputSchema.Where(c => !c.IsHidden).Select(c => $"{c.Name} ({c.Type})").ToArray(), saved.PathColumn, saved.ImageFolder, preprocessing,
            network.ExportOptions.InputName, architecture.InputChannels, network.ImageSize, architecture.InputSize, architecture.NumClasses, saved.ClassLabels,
            network.Model.BatchNormalization.Describe(),
            architecture.Activation.ToString(), network.Normalization?.ToString(), network.ExportOptions.Opset, versions);
    }

    private static string Name(ITransformer step) => step.GetType().Name.Split('`')[0].Replace("Transformer", "", StringComparison.Ordinal);

    private static string Version(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? assembly.GetName().Version?.ToString() ?? "?";
}
