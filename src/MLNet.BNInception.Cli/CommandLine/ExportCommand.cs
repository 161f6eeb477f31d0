using System.CommandLine;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Engine.Onnx;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// <c>bninception export</c>: the network of a saved model as a standard ONNX file for other
/// runtimes: input N × channels × side × side, outputs logits and probabilities N × classes, the
/// class names in the metadata. (The model file holds the network shaped for ML.NET's
/// OnnxTransformer, one image per run; this writes it for batches.)
/// </summary>
internal static class ExportCommand
{
    public static Command Create(CommandContext context)
    {
        var model = new Option<FileInfo>("--model") { Description = "The ML.NET model file (.zip).", Required = true };
        var onnx = new Option<FileInfo>("--onnx") { Description = "The ONNX file to write.", Required = true };
        var opset = new Option<int>("--opset") { Description = $"The ONNX opset, {OnnxExportOptions.MinimumOpset} to {OnnxExportOptions.MaximumOpset}.", DefaultValueFactory = _ => 13 };
        var outputs = new Option<string>("--outputs") { Description = "The outputs: both, logits or probabilities.", DefaultValueFactory = _ => "both" }
            .AcceptOnlyFromAmong("both", "logits", "probabilities");
        var inputName = new Option<string>("--input-name") { Description = "The name of the graph's input.", DefaultValueFactory = _ => "input" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the ONNX file if it exists." };
        var command = new Command("export", "Write the network of a saved model as a standard ONNX file (batched input, logits and probabilities).")
        {
            model, onnx, opset, outputs, inputName, overwrite,
        };
        command.SetAction(parsed =>
        {
            string path = parsed.GetRequiredValue(onnx).FullName, modelPath = parsed.GetRequiredValue(model).FullName;
            CommandFiles.Check([new("--model", modelPath)], [new("--onnx", path)]);
            if (File.Exists(path) && !parsed.GetValue(overwrite))
            {
                throw CommandLineException.BadArguments($"'{path}' exists: pass --overwrite to replace it");
            }

            int version = parsed.GetValue(opset);
            if (version is < OnnxExportOptions.MinimumOpset or > OnnxExportOptions.MaximumOpset)
            {
                throw CommandLineException.BadArguments($"--opset {version}: choose {OnnxExportOptions.MinimumOpset} to {OnnxExportOptions.MaximumOpset}");
            }

            // Checked here, before the model is read, to name the option: the exporter's own check
            // can only name its options object.
            string graphInput = parsed.GetRequiredValue(inputName);
            if (string.IsNullOrWhiteSpace(graphInput) || graphInput is OnnxExporter.LogitsOutput or OnnxExporter.ProbabilitiesOutput)
            {
                throw CommandLineException.BadArguments(
                    $"--input-name '{graphInput}': the input needs a name of its own, not empty and neither '{OnnxExporter.LogitsOutput}' " +
                    $"nor '{OnnxExporter.ProbabilitiesOutput}', the names of the outputs");
            }

            // Ctrl-C or SIGTERM lets the load finish and stops before the export (or lets a begun export
            // finish): the model's temporary folder is removed, and no temporary file is left beside --onnx.
            CancellationToken cancellation = context.StopGracefully();
            using SavedModel saved = SavedModel.Load(modelPath);
            cancellation.ThrowIfCancellationRequested();
            ImportedNetwork network = saved.Network;
            var options = new OnnxExportOptions
            {
                Opset = version,
                Outputs = parsed.GetValue(outputs) switch
                {
                    "logits" => OnnxOutputs.Logits,
                    "probabilities" => OnnxOutputs.Probabilities,
                    _ => OnnxOutputs.Both,
                },
                InputName = graphInput,
                ClassLabels = saved.ClassLabels,
                Normalization = network.Normalization,
                IncludeNormalization = network.Normalization is not null,
                ImageSize = network.ExportOptions.ImageSize,
            };
            try
            {
                // The exporter writes a temporary file and renames it: no half-written ONNX file is left.
                OnnxExporter.Export(network.Model, path, options);
            }
            catch (ArgumentException e)
            {
                throw CommandLineException.BadArguments(BnInceptionCommandLine.OneLine(OptionValues.Reason(e)));
            }
            catch (Exception e) when (WriteFailure.FindIn(e) is { } failed)
            {
                // The temporary file is gone and a file at --onnx is as it was.
                throw CommandLineException.UnreadableInput($"the ONNX file '{path}' cannot be written: {WriteFailure.Describe(failed)}", e);
            }

            var architecture = network.Model.Options;
            context.Output.WriteLine($"wrote {Printable.Escaped(path)}: input '{options.InputName}' N × {architecture.InputChannels} × {network.ImageSize} × {network.ImageSize} " +
                $"(the pixels the model's pipeline extracts), {parsed.GetValue(outputs)} N × {architecture.NumClasses}, opset {version}");
            return ExitCodes.Success;
        });
        return command;
    }
}
