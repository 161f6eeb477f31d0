using TorchSharp;

namespace MLNet.BNInception.Engine;

/// <summary>Device names ("cpu", "cuda", "cuda:1") checked against what this process's libtorch backend offers.</summary>
internal static class DeviceName
{
    /// <summary>
    /// Null when <paramref name="device"/> names a device this process's libtorch backend has; otherwise why
    /// not, for a message that names the setting (a trainer checks its scoring device before it trains).
    /// </summary>
    public static string? Problem(string? device) =>
        string.IsNullOrWhiteSpace(device) ? "the device name is empty; use \"cpu\", \"cuda\" or \"cuda:N\"." : Resolve(device, out string? problem) is null ? problem : null;

    /// <summary>The device <paramref name="device"/> names, or null and why not in <paramref name="problem"/>.</summary>
    public static torch.Device? Resolve(string device, out string? problem)
    {
        TorchRuntime.EnsureLoaded();
        problem = null;
        torch.Device resolved;
        try
        {
            // Parsed without initialising the device: TorchSharp's own torch.device("cuda") on a
            // CPU-only backend fails with a load trace rather than a reason.
            resolved = new torch.Device(device.Trim());
        }
        catch (Exception error) when (error is ArgumentException or FormatException or OverflowException)
        {
            problem = $"Device '{device}' is not a device name; use \"cpu\", \"cuda\" or \"cuda:N\".";
            return null;
        }

        switch (resolved.type)
        {
            case DeviceType.CPU:
                return resolved;
            case DeviceType.CUDA:
                if (!torch.cuda.is_available())
                {
                    problem =
                        $"Device '{device}' was asked for, but this process's libtorch backend has no usable CUDA device: it is the CPU build " +
                        "(libtorch-cpu-*), or no GPU and driver are present. Use Device = \"cpu\", or, on a machine with an NVIDIA GPU, give " +
                        "TorchSharp a CUDA libtorch: the package TorchSharp-cuda-linux (or libtorch-cuda-12.8-linux-x64) in place of the CPU one, or " +
                        "an installed PyTorch's libraries (its torch/lib folder on LD_LIBRARY_PATH, no libtorch package). docs/gpu.md says how.";
                    return null;
                }

                int count = torch.cuda.device_count();
                if (resolved.index >= count)
                {
                    problem = $"Device '{device}' does not exist: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}.";
                    return null;
                }

                return resolved;
            default:
                problem = $"Device '{device}' ({resolved.type}) is not supported; use \"cpu\" or \"cuda\".";
                return null;
        }
    }
}
