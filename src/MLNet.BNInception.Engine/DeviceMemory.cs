using System.Runtime.InteropServices;
using TorchSharp;

namespace MLNet.BNInception.Engine;

/// <summary>
/// Turns libtorch's out-of-memory errors into one that says what to change. On a GPU the batch is
/// what fills memory (activations kept for the backward pass grow with it; the weights do not), so
/// the message names the batch-size setting of whoever ran out.
/// </summary>
internal static class DeviceMemory
{
    /// <summary>
    /// Whether <paramref name="error"/> is libtorch's report of an allocation that failed: CUDA's
    /// caching allocator says "CUDA out of memory", the CPU allocator "can't allocate memory"; both
    /// reach .NET as TorchSharp's <see cref="ExternalException"/>.
    /// </summary>
    public static bool IsOutOfMemory(Exception error) =>
        error is ExternalException
        && (error.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || error.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase));

    /// <summary>The error to throw instead, keeping libtorch's own as the inner exception.</summary>
    /// <param name="error">libtorch's error.</param>
    /// <param name="device">The device that ran out.</param>
    /// <param name="setting">The setting that sizes the batch, as the caller's user knows it (e.g. "TrainerOptions.BatchSize").</param>
    /// <param name="batchSize">Its value now.</param>
    public static InsufficientMemoryException OutOfMemory(Exception error, torch.Device device, string setting, int batchSize)
    {
        string smaller = batchSize > 1 ? $" (try {Math.Max(1, batchSize / 2)})" : "";
        string where = device.type == DeviceType.CUDA ? $"the GPU {device}" : "the CPU";
        return new InsufficientMemoryException(
            $"Out of memory on {where} with a batch of {batchSize} images: lower {setting}{smaller}. " +
            $"docs/gpu.md gives the memory a batch takes. libtorch said: {FirstLine(error.Message)}", error);
    }

    private static string FirstLine(string message)
    {
        int end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
