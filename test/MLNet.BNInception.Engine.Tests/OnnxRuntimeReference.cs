using Microsoft.ML.OnnxRuntime;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>ONNX Runtime, from its own C# package, reading an exported file: the independent scorer of our ONNX export.</summary>
internal sealed class OnnxRuntimeReference : IDisposable
{
    private readonly InferenceSession _session;

    public OnnxRuntimeReference(string path)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _session = new InferenceSession(path, options);
    }

    public IReadOnlyList<string> InputNames => _session.InputNames;

    public IReadOnlyList<string> OutputNames => _session.OutputNames;

    /// <summary>Runs the model on <paramref name="images"/> (float32, N × C × H × W) and returns one output as a tensor.</summary>
    public Tensor Run(Tensor images, string output)
    {
        float[] values = TestModels.Values(images);
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(values, images.shape);
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> results = _session.Run(runOptions, [_session.InputNames[0]], [input], [output]);
        OrtValue result = results[0];
        long[] shape = result.GetTensorTypeAndShape().Shape;
        return tensor(result.GetTensorDataAsSpan<float>().ToArray(), shape);
    }

    public void Dispose() => _session.Dispose();
}
