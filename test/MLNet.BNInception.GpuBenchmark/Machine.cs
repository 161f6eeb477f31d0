using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>What the JSON line says about the machine, and the few device operations every mode needs.</summary>
internal static class Machine
{
    /// <summary>
    /// The GPU's name as nvidia-smi gives it (TorchSharp 0.107 has no <c>torch.cuda.get_device_name</c>),
    /// or the CPU's model name; null when neither can be read.
    /// </summary>
    public static string? DeviceName(Device device)
    {
        if (device.type != DeviceType.CUDA)
        {
            return File.Exists("/proc/cpuinfo")
                ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
                : null;
        }

        try
        {
            var start = new ProcessStartInfo("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader", $"--id={Math.Max(device.index, 0)}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using Process process = Process.Start(start)!;
            string name = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && name.Length > 0 ? name : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no nvidia-smi on the PATH
        }
    }

    /// <summary>Waits for everything queued on <paramref name="device"/>; nothing to wait for on the CPU.</summary>
    public static void Synchronize(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            cuda.synchronize(device);
        }
    }

    /// <summary>The process's peak resident set so far (VmHWM), as the PyTorch side reads it too.</summary>
    public static long? PeakResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }

    /// <summary>
    /// <paramref name="count"/> random images (standard normal, N × 3 × side × side, float32) and class
    /// indices, seeded, drawn on <paramref name="device"/> (fast on a GPU) and then left where
    /// <paramref name="data"/> says: "host" (CPU memory) or "device".
    /// </summary>
    public static (Tensor Images, Tensor Labels) RandomImages(BenchmarkSettings settings, long count, Device device, string data)
    {
        manual_seed(0);
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([count, 3, settings.Side, settings.Side], device: device);
        Tensor labels = randint(0, settings.Classes, [count], device: device);
        if (data == "host")
        {
            images = images.cpu();
            labels = labels.cpu();
        }

        return (images.MoveToOuterDisposeScope(), labels.MoveToOuterDisposeScope());
    }

    /// <summary>The median of <paramref name="values"/> (the middle one, or the mean of the middle two).</summary>
    public static double Median(IReadOnlyCollection<double> values)
    {
        double[] sorted = values.Order().ToArray();
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>The settings, then the rates, the memory and the machine, as the JSON line gives them.</summary>
    public static Dictionary<string, object?> Result(BenchmarkSettings settings, Device device, IReadOnlyCollection<double> rates, Dictionary<string, object?>? extra = null)
    {
        Dictionary<string, object?> result = settings.Describe();
        result["images_per_second"] = Median(rates);
        result["runs"] = rates;
        foreach ((string key, object? value) in extra ?? [])
        {
            result[key] = value;
        }

        result["device_name"] = DeviceName(device);
        result["peak_resident_bytes"] = PeakResidentBytes();
        // TorchSharp 0.107 exposes no CUDA memory statistics (no torch.cuda.max_memory_allocated):
        // run-on-device.sh samples the GPU's used memory with nvidia-smi around the process instead.
        result["device_peak_memory_bytes"] = null;
        return result;
    }
}
