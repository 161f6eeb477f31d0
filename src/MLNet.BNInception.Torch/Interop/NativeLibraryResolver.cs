using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>
/// Finds and loads the native shim, the one place that knows where it may live. The environment
/// variable <see cref="OverrideVariable"/> names the file (or its folder) and, when set, is the only
/// place tried, so that an explicit choice never silently falls back to another copy. On first load
/// the shim's ABI version is checked and libtorch's thread count set.
/// </summary>
internal static class NativeLibraryResolver
{
    /// <summary>Environment variable naming the native library file, or the folder holding it.</summary>
    public const string OverrideVariable = "BNINCEPTION_NATIVE_LIBRARY";

    /// <summary>Environment variable setting libtorch's intra-op thread count (default: every core).</summary>
    public const string ThreadsVariable = "BNINCEPTION_NUM_THREADS";

    public const string FileName = "lib" + NativeMethods.LibraryName + ".so";

    private static int s_registered;

    public static void Register(Assembly assembly)
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(assembly, Resolve);
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.LibraryName)
        {
            return IntPtr.Zero;
        }

        IntPtr library = LoadFromEnvironment(assembly);
        CheckAbiVersion(library);
        SetDefaultThreadCount(library);
        return library;
    }

    /// <summary>Loads the shim as the P/Invoke resolver does: the override variable, else the default folders.</summary>
    public static IntPtr LoadFromEnvironment(Assembly assembly) =>
        Load(Environment.GetEnvironmentVariable(OverrideVariable), DefaultSearchDirectories(assembly));

    /// <summary>The folders searched when no override is set, in order.</summary>
    public static IReadOnlyList<string> DefaultSearchDirectories(Assembly assembly)
    {
        string assemblyDirectory = Path.GetDirectoryName(assembly.Location) ?? AppContext.BaseDirectory;
        return new[]
        {
            AppContext.BaseDirectory,
            assemblyDirectory,
            Path.Combine(assemblyDirectory, "runtimes", "linux-x64", "native"),
        }.Distinct().ToArray();
    }

    /// <summary>
    /// Loads the shim from <paramref name="overridePath"/> when given, else from the first of
    /// <paramref name="searchDirectories"/> that has it, else through the system's library search.
    /// Throws <see cref="DllNotFoundException"/> listing every path tried and why each failed.
    /// </summary>
    public static IntPtr Load(string? overridePath, IEnumerable<string> searchDirectories, string fileName = FileName)
    {
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(overridePath))
        {
            candidates.Add(Directory.Exists(overridePath) ? Path.Combine(overridePath, fileName) : overridePath);
        }
        else
        {
            candidates.AddRange(searchDirectories.Select(directory => Path.Combine(directory, fileName)));
            candidates.Add(fileName); // the dynamic loader's own search: LD_LIBRARY_PATH, ld.so.cache
        }

        var failures = new List<string>();
        foreach (string candidate in candidates)
        {
            bool isBareName = candidate == fileName;
            if (!isBareName && !File.Exists(candidate))
            {
                failures.Add($"  {candidate}: no such file");
                continue;
            }

            try
            {
                return NativeLibrary.Load(candidate);
            }
            catch (DllNotFoundException error)
            {
                failures.Add($"  {candidate}: {error.Message}");
            }
            catch (BadImageFormatException error)
            {
                failures.Add($"  {candidate}: {error.Message}");
            }
        }

        var message = new StringBuilder();
        message.Append("Could not load the native library ").Append(fileName).AppendLine(". Paths tried:");
        message.AppendJoin(Environment.NewLine, failures).AppendLine();
        message.Append(string.IsNullOrEmpty(overridePath)
            ? $"Build it with 'bash build/setup.sh', or set {OverrideVariable} to its path."
            : $"{OverrideVariable} is set to '{overridePath}'; point it at the built {FileName} or unset it.");
        throw new DllNotFoundException(message.ToString());
    }

    internal static unsafe void CheckAbiVersion(IntPtr library)
    {
        if (!NativeLibrary.TryGetExport(library, "bni_abi_version", out IntPtr export))
        {
            throw new DllNotFoundException($"{FileName} has no bni_abi_version export: it is not this project's native shim.");
        }

        int version = ((delegate* unmanaged<int>)export)();
        if (version != NativeMethods.AbiVersion)
        {
            throw new DllNotFoundException(
                $"{FileName} has ABI version {version} but this binding needs {NativeMethods.AbiVersion}. " +
                "Rebuild the native shim (dotnet build, or bash build/setup.sh) so both come from the same commit.");
        }
    }

    // Debian's libtorch starts with a single intra-op thread; use every core unless told otherwise.
    private static unsafe void SetDefaultThreadCount(IntPtr library)
    {
        int threads = Environment.ProcessorCount;
        string? requested = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (!string.IsNullOrEmpty(requested) && (!int.TryParse(requested, out threads) || threads < 1))
        {
            throw new ArgumentException($"{ThreadsVariable} must be a whole number of at least 1, not '{requested}'.");
        }

        var setThreads = (delegate* unmanaged<int, IntPtr>)NativeLibrary.GetExport(library, "bni_set_num_threads");
        IntPtr error = setThreads(threads);
        if (error != IntPtr.Zero)
        {
            var readMessage = (delegate* unmanaged<IntPtr, IntPtr>)NativeLibrary.GetExport(library, "bni_error_message");
            var free = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(library, "bni_error_free");
            string message = Marshal.PtrToStringUTF8(readMessage(error)) ?? "unknown error";
            free(error);
            throw new TorchException(message);
        }
    }
}
