using Microsoft.ML;

namespace MLNet.BNInception.Tests;

/// <summary>
/// ML.NET's <c>Model.Load</c>, tried a second time when it failed only because of the name of its
/// temporary copy of the network. ML.NET 6.0.0's OnnxTransformer writes the network it loads to a
/// file named by <c>Path.GetRandomFileName()</c>, whose three-letter extension is random, and ONNX
/// Runtime reads a file whose name ends in ".ort" as its own ORT format: one load in 32,768 fails
/// with "ORT model verification failed" (seen once in CI; the same message for a valid ONNX file
/// named *.ort, checked by hand with ONNX Runtime 1.32). The next load draws another name.
/// Workaround for the symptom of dotnet/machinelearning#7339: it can go once ML.NET names that
/// copy with an extension of its own (not in 6.0.0); docs/walkthrough.md tells users the same.
/// </summary>
internal static class MLNetModelLoading
{
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema inputSchema)
    {
        try
        {
            return ml.Model.Load(path, out inputSchema);
        }
        catch (InvalidOperationException error) when (IsOrtFormatMisreading(error))
        {
            return ml.Model.Load(path, out inputSchema);
        }
    }

    /// <summary>The same from a seekable stream, read again from where it stood.</summary>
    public static ITransformer Load(MLContext ml, Stream stream, out DataViewSchema inputSchema)
    {
        long start = stream.Position;
        try
        {
            return ml.Model.Load(stream, out inputSchema);
        }
        catch (InvalidOperationException error) when (IsOrtFormatMisreading(error))
        {
            stream.Position = start;
            return ml.Model.Load(stream, out inputSchema);
        }
    }

    private static bool IsOrtFormatMisreading(Exception error)
    {
        for (Exception? inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner.Message.Contains("ORT model verification failed", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
