using Microsoft.ML.OnnxRuntime;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Onnx;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// The saved network run by ONNX Runtime in batches: the fastest float32 engine on this project's
/// CPUs (docs/performance.md), on exactly the ONNX model the ML.NET model file holds, so the
/// probabilities are those the loaded model gives.
/// </summary>
internal sealed class OnnxRuntimeNetwork : IScoringNetwork
{
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly string _output;
    private readonly long[] _imageShape;
    private bool _checked;

    public OnnxRuntimeNetwork(byte[] onnx, int threads, string source)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // A network saved for ML.NET declares its output as one image's probabilities (ML.NET
            // runs a row at a time); for a batch ONNX Runtime would warn on every run that the
            // output is longer. Its errors reach the tool as exceptions, reported in one line.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        try
        {
            _session = new InferenceSession(onnx, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw CommandLineException.InvalidModel($"{source}: ONNX Runtime cannot load the network ({BnInceptionCommandLine.OneLine(e.Message)})", e);
        }

        try
        {
            _input = _session.InputNames.Count == 1
                ? _session.InputNames[0]
                : throw CommandLineException.InvalidModel($"{source}: the network has {_session.InputNames.Count} inputs; BN-Inception has one");
            int[] dimensions = _session.InputMetadata[_input].Dimensions;
            if (dimensions.Length != 4 || dimensions.Skip(1).Any(d => d <= 0))
            {
                throw CommandLineException.InvalidModel($"{source}: the network's input is [{string.Join(", ", dimensions)}], not N × channels × side × side");
            }

            _imageShape = dimensions.Skip(1).Select(d => (long)d).ToArray();
            long featureLength = _imageShape[0] * _imageShape[1] * _imageShape[2];
            FeatureLength = featureLength <= Array.MaxLength
                ? (int)featureLength
                : throw CommandLineException.InvalidModel($"{source}: the network's input is [{string.Join(", ", dimensions)}], {featureLength} values an image, more than an array holds");
            // A network saved for ML.NET carries, besides its probabilities, the outputs through which
            // ML.NET's OnnxTransformer learns slot names ("mlnet.<output>.unusedOutput").
            string[] outputs = _session.OutputNames.Where(name => !(name.StartsWith("mlnet.", StringComparison.Ordinal) && name.EndsWith(".unusedOutput", StringComparison.Ordinal))).ToArray();
            _output = outputs.Length == 1 ? outputs[0]
                : outputs.Contains("probabilities") ? "probabilities"
                : throw CommandLineException.InvalidModel($"{source}: the network has outputs {string.Join(", ", _session.OutputNames)}, and none is the probabilities");
            ClassLabels = ReadClassLabels(_session.ModelMetadata, source);
            // Checked here, before any output is written: a network that gives another number of
            // values than it names classes would otherwise fail at the first batch, or mislabel.
            // A network saved for ML.NET declares its output as the vector of one image ([classes]);
            // an export declares the batch too ([N, classes]).
            int[] outputDimensions = _session.OutputMetadata[_output].Dimensions;
            if (outputDimensions.Length is not (1 or 2) || (outputDimensions[^1] >= 0 && outputDimensions[^1] != ClassLabels.Count))
            {
                throw CommandLineException.InvalidModel(
                    $"{source}: the network's output '{_output}' is [{string.Join(", ", outputDimensions)}], not {ClassLabels.Count} values an image: " +
                    $"one probability for each of the {ClassLabels.Count} class names it records");
            }
            Description = $"ONNX Runtime {OrtEnv.Instance().GetVersionString()}, float32, {threads} thread{(threads == 1 ? "" : "s")}";
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public string Description { get; }

    public string InputName => _input;

    public int FeatureLength { get; }

    public IReadOnlyList<string> ClassLabels { get; }

    public void Score(float[] features, int count, float[] probabilities)
    {
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, features.AsMemory(0, count * FeatureLength),
            [count, .. _imageShape]);
        using var run = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> outputs = _session.Run(run, [_input], [input], [_output]);
        ReadOnlySpan<float> result = outputs[0].GetTensorDataAsSpan<float>();
        if (result.Length != count * ClassLabels.Count)
        {
            throw CommandLineException.InvalidModel(
                $"the network gave {result.Length} values for {count} images of the {ClassLabels.Count} classes it names: it is no BN-Inception classifier of them");
        }

        result.CopyTo(probabilities);
        if (!_checked)
        {
            // The output was chosen by name; its first row tells whether it is probabilities.
            float sum = 0;
            foreach (float p in result[..ClassLabels.Count])
            {
                sum += p;
            }

            _checked = Math.Abs(sum - 1) < 1e-3 ? true
                : throw CommandLineException.InvalidModel($"the network's output '{_output}' is not probabilities (a row sums to {sum}); was the model saved by this package's trainer?");
        }
    }

    public void Dispose() => _session.Dispose();

    // The exporter records the class names in the model's metadata, in the order of the outputs.
    private static string[] ReadClassLabels(ModelMetadata metadata, string source)
    {
        if (!metadata.CustomMetadataMap.TryGetValue(ClassLabelsMetadata.Key, out string? json))
        {
            throw CommandLineException.InvalidModel($"{source}: the network records no class names (metadata 'class_labels'); was it saved by this package's trainer?");
        }

        try
        {
            return ClassLabelsMetadata.Parse(json, source);
        }
        catch (InvalidDataException e)
        {
            throw CommandLineException.InvalidModel(BnInceptionCommandLine.OneLine(e.Message), e);
        }
    }
}
