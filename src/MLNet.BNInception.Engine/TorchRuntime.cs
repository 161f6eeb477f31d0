using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using TorchSharp;

namespace MLNet.BNInception.Engine;

/// <summary>
/// The one place that loads TorchSharp's native library and chooses devices and threads. Every
/// engine entry point calls <see cref="EnsureLoaded"/> first, so a machine that cannot run libtorch
/// gets an error that names the missing file or library version and what to do, before TorchSharp
/// is initialised (TorchSharp's own failure is a generic trace, and it leaves its static state
/// unusable for the rest of the process).
/// </summary>
public static partial class TorchRuntime
{
    /// <summary>Environment variable: libtorch's threads per operation. Unset, libtorch's default (one per core) applies.</summary>
    public const string ThreadsVariable = "BNINCEPTION_NUM_THREADS";

    private const string NativeLibraryName = "LibTorchSharp";
    private static readonly Lock Gate = new();
    private static bool _loaded;

    /// <summary>
    /// Loads TorchSharp's native library and libtorch once per process, and applies
    /// <see cref="ThreadsVariable"/>. Cheap after the first call.
    /// </summary>
    /// <exception cref="DllNotFoundException">The native library cannot load; the message says which file or version is missing and how to fix it.</exception>
    public static void EnsureLoaded()
    {
        if (Volatile.Read(ref _loaded))
        {
            return;
        }

        lock (Gate)
        {
            if (_loaded)
            {
                return;
            }

            Assembly torchSharp = typeof(torch).Assembly;
            if (!NativeLibrary.TryLoad(NativeLibraryName, torchSharp, null, out _))
            {
                throw new DllNotFoundException(DescribeLoadFailure(NativeLibraryCandidates(torchSharp)));
            }

            torch.InitializeDeviceType(DeviceType.CPU);
            ApplyThreadSetting();
            Volatile.Write(ref _loaded, true);
        }
    }

    /// <summary>
    /// The device named by <paramref name="device"/> ("cpu", "cuda", "cuda:1"), checked against what
    /// this process's libtorch backend offers.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a device, or the backend has no such device; the message says what is available.</exception>
    public static torch.Device ResolveDevice(string device)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        EnsureLoaded();
        torch.Device resolved;
        try
        {
            // Parsed without initialising the device: TorchSharp's own torch.device("cuda") on a
            // CPU-only backend fails with a load trace rather than a reason.
            resolved = new torch.Device(device.Trim());
        }
        catch (Exception error) when (error is ArgumentException or FormatException or OverflowException)
        {
            throw new ArgumentException($"Device '{device}' is not a device name; use \"cpu\", \"cuda\" or \"cuda:N\".", nameof(device), error);
        }

        switch (resolved.type)
        {
            case DeviceType.CPU:
                return resolved;
            case DeviceType.CUDA:
                if (!torch.cuda.is_available())
                {
                    throw new ArgumentException(
                        $"Device '{device}' was asked for, but this process's libtorch backend has no usable CUDA device: it is the CPU build " +
                        "(libtorch-cpu-*), or no GPU and driver are present. Use Device = \"cpu\", or, on a machine with an NVIDIA GPU, give " +
                        "TorchSharp a CUDA libtorch: the package TorchSharp-cuda-linux (or libtorch-cuda-12.8-linux-x64) in place of the CPU one, or " +
                        "an installed PyTorch's libraries (its torch/lib folder on LD_LIBRARY_PATH, no libtorch package). docs/gpu.md says how.",
                        nameof(device));
                }

                int count = torch.cuda.device_count();
                if (resolved.index >= count)
                {
                    throw new ArgumentException($"Device '{device}' does not exist: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}.", nameof(device));
                }

                return resolved;
            default:
                throw new ArgumentException($"Device '{device}' ({resolved.type}) is not supported; use \"cpu\" or \"cuda\".", nameof(device));
        }
    }

    /// <summary>
    /// Why the native library at one of <paramref name="candidates"/> (or none) does not load, in
    /// words a user can act on; the loader's own message is kept at the end.
    /// </summary>
    internal static string DescribeLoadFailure(IEnumerable<string> candidates)
    {
        string[] present = candidates.Where(File.Exists).ToArray();
        if (present.Length == 0)
        {
            return "TorchSharp's native library (libLibTorchSharp.so) is not beside the application. Reference a libtorch backend package " +
                   "in the application's project, for example <PackageReference Include=\"libtorch-cpu-linux-x64\" Version=\"2.10.0\" /> " +
                   "(or TorchSharp-cpu 0.107.0), and build it again. Looked in: " + string.Join(", ", candidates.Distinct());
        }

        string path = present[0];
        string loaderMessage;
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return $"TorchSharp's native library {path} loads when named by its path but not by its name; check that the application's " +
                   ".deps.json lists it (a build of the application, not a copy of its files, writes it).";
        }
        catch (DllNotFoundException error)
        {
            loaderMessage = error.Message;
        }
        catch (BadImageFormatException error)
        {
            loaderMessage = error.Message;
        }

        Match version = MissingVersion().Match(loaderMessage);
        if (version.Success)
        {
            return $"TorchSharp's native library {path} needs {version.Groups[1].Value}, which this machine's C++ runtime " +
                   $"(libstdc++.so.6) does not have. The MLNet.BNInception build step marks that requirement weak in the copy beside the " +
                   "application when the build or publish runs on such a machine: build or publish the application again on this " +
                   "machine (dotnet build, dotnet publish), with BnInceptionFixLibTorchSharp not set to false, or install a newer " +
                   "libstdc++ (GCC 13 or later). Loader: " + loaderMessage;
        }

        Match file = MissingFile().Match(loaderMessage);
        if (file.Success)
        {
            return $"TorchSharp's native library {path} needs {file.Groups[1].Value}, which is not installed beside it. It comes with the " +
                   "libtorch backend package: reference libtorch-cpu-linux-x64 2.10.0 (or TorchSharp-cpu 0.107.0) in the application. " +
                   "Loader: " + loaderMessage;
        }

        return $"TorchSharp's native library {path} does not load. Loader: {loaderMessage}";
    }

    private static IEnumerable<string> NativeLibraryCandidates(Assembly torchSharp)
    {
        string file = "lib" + NativeLibraryName + ".so";
        string rid = RuntimeInformation.RuntimeIdentifier;
        string architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        foreach (string folder in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(torchSharp.Location) ?? "" }.Distinct())
        {
            yield return Path.Combine(folder, file);
            yield return Path.Combine(folder, "runtimes", rid, "native", file);
            yield return Path.Combine(folder, "runtimes", "linux-" + architecture, "native", file);
        }
    }

    private static void ApplyThreadSetting()
    {
        string? setting = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrWhiteSpace(setting))
        {
            return;
        }

        if (!int.TryParse(setting, out int threads) || threads < 1)
        {
            throw new ArgumentException($"{ThreadsVariable} is '{setting}'; it must be a whole number of threads, at least 1.");
        }

        torch.set_num_threads(threads);
    }

    [GeneratedRegex(@"version [`'‘]([A-Za-z_]+[0-9][0-9.]*)[`'’] not found")]
    private static partial Regex MissingVersion();

    [GeneratedRegex(@"([^\s:]+\.so[^\s:]*): cannot open shared object file")]
    private static partial Regex MissingFile();
}
