using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using MLNet.BNInception.Build;
using TorchSharp;

namespace MLNet.BNInception.Engine;

/// <summary>
/// The one place that loads TorchSharp's native library and chooses devices and threads. Every
/// engine entry point calls <see cref="EnsureLoaded"/> first, so a machine that cannot run libtorch
/// gets an error that names the missing file or library version and what to do, before TorchSharp
/// is initialised (TorchSharp's own failure is a generic trace, and it leaves its static state
/// unusable for the rest of the process).
/// </summary>
/// <remarks>
/// In a notebook or script host that loaded TorchSharp from the NuGet packages folder, nothing lies
/// beside an application, and TorchSharp's own fallback would copy its unfixed library into the NuGet
/// cache and fail on Debian 12. There <see cref="EnsureLoaded"/> loads libtorch from its package by
/// path and then a fixed copy of TorchSharp's library from our cache folder
/// (<see cref="NativeCacheVariable"/>); TorchSharp's own load by name then finds that library already
/// loaded (the dynamic loader matches a loaded library by its soname). docs/engine.md says more.
/// </remarks>
public static partial class TorchRuntime
{
    /// <summary>Environment variable: libtorch's threads per operation. Unset, libtorch's default (one per core) applies.</summary>
    public const string ThreadsVariable = "BNINCEPTION_NUM_THREADS";

    /// <summary>
    /// Environment variable: the folder where <see cref="EnsureLoaded"/> keeps the fixed copy of
    /// TorchSharp's native library it makes in notebooks and script hosts. Unset,
    /// <c>$XDG_CACHE_HOME/mlnet-bninception</c>, else <c>~/.cache/mlnet-bninception</c>.
    /// </summary>
    public const string NativeCacheVariable = "BNINCEPTION_NATIVE_CACHE";

    private const string NativeLibraryName = "LibTorchSharp";
    private static readonly Lock Gate = new();
    private static bool _loaded;

    /// <summary>
    /// The libLibTorchSharp.so this process runs, once <see cref="EnsureLoaded"/> has returned: the
    /// application's copy, or in a notebook or script host the fixed copy in our cache folder (or the
    /// package's own file where this machine's libstdc++ needs no fix). Null before, or where the
    /// process's mappings cannot be read.
    /// </summary>
    public static string? NativeLibraryPath { get; private set; }

    /// <summary>
    /// How <see cref="EnsureLoaded"/> loaded TorchSharp's native library, in a sentence a notebook
    /// can show: which file, whether it is a fixed copy (and of what, and why), and where libtorch
    /// came from. Null before it has.
    /// </summary>
    public static string? LoadDescription { get; private set; }

    /// <summary>
    /// Loads TorchSharp's native library and libtorch once per process, and applies
    /// <see cref="ThreadsVariable"/>. Cheap after the first call. Where TorchSharp.dll came from the
    /// NuGet packages folder (a notebook, a script host) and its library does not load by name, it
    /// loads libtorch and a fixed copy of the library from the packages (see the remarks on
    /// <see cref="TorchRuntime"/>) and writes one line on standard error saying so
    /// (<see cref="LoadDescription"/>).
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
            if (NativeLibrary.TryLoad(NativeLibraryName, torchSharp, null, out _))
            {
                NativeLibraryPath = MappedLibTorchSharp();
                LoadDescription = $"TorchSharp's native library {NativeLibraryPath ?? "lib" + NativeLibraryName + ".so"} was loaded by name, where the application's build placed it.";
            }
            else
            {
                NuGetNativeLibraries packages = NuGetNativeLibraries.Locate(torchSharp.Location, LibTorchVersion())
                    ?? throw new DllNotFoundException(DescribeLoadFailure(NativeLibraryCandidates(torchSharp)));
                LoadFromPackages(packages);
                Console.Error.WriteLine("MLNet.BNInception: " + LoadDescription);
            }

            // Only now is TorchSharp touched: its static constructor loads the native library by name,
            // which finds the one loaded above.
            torch.InitializeDeviceType(DeviceType.CPU);
            ApplyThreadSetting();
            Volatile.Write(ref _loaded, true);
        }
    }

    /// <summary>
    /// <see cref="EnsureLoaded"/>, then <paramref name="moduleName"/>: what our modules pass to
    /// TorchSharp's Module constructor, which creates the native module before the body of theirs
    /// runs, so their own call would come too late.
    /// </summary>
    internal static string ModuleName(string moduleName)
    {
        EnsureLoaded();
        return moduleName;
    }

    /// <summary>
    /// The device named by <paramref name="device"/> ("cpu", "cuda", "cuda:1"), checked against what
    /// this process's libtorch backend offers.
    /// </summary>
    /// <exception cref="ArgumentException">The name is not a device, or the backend has no such device; the message says what is available.</exception>
    public static torch.Device ResolveDevice(string device)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(device);
        return DeviceName.Resolve(device, out string? problem) ?? throw new ArgumentException(problem, nameof(device));
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

    // The notebook and script-host case: libtorch from its package, then TorchSharp's library, fixed
    // in our cache folder when this machine's libstdc++ lacks a version it needs, all by full path.
    private static void LoadFromPackages(NuGetNativeLibraries packages)
    {
        string? libStdCxx = ElfVersionNeeds.FindLoadedLibStdCxx();
        // Without a libstdc++ to read there is nothing to decide: the library is loaded as it is,
        // and the loader's error names what is missing.
        string[] missing = libStdCxx is null
            ? []
            : LibTorchSharpCopy.WeakenableVersions.Except(ElfVersionNeeds.DefinedVersions(File.ReadAllBytes(libStdCxx))).ToArray();

        LibTorchSharpCopy.Loadable loadable;
        string cacheFolder = "";
        try
        {
            cacheFolder = LibTorchSharpCopy.CacheFolder(Environment.GetEnvironmentVariable);
            loadable = LibTorchSharpCopy.Prepare(packages.LibTorchSharp, packages.TorchSharpVersion, cacheFolder, missing);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new DllNotFoundException(
                $"TorchSharp's native library {packages.LibTorchSharp} needs {string.Join(", ", missing)}, which this machine's C++ runtime " +
                $"({libStdCxx}) lacks, so a copy with that requirement marked weak is made in {cacheFolder}, and it cannot be written " +
                $"there: {error.Message} Set {NativeCacheVariable} to a folder this process can write.", error);
        }
        catch (InvalidDataException error)
        {
            throw new DllNotFoundException(
                $"TorchSharp's native library {packages.LibTorchSharp} is not a 64-bit ELF library as TorchSharp ships it ({error.Message}). " +
                $"Delete torchsharp/{packages.TorchSharpVersion} in {packages.PackagesFolder} so that the next restore unpacks it again.", error);
        }

        LoadWithDependencies(loadable.Path, [packages.LibTorchFolder], cacheFolder);
        NativeLibraryPath = loadable.Path;
        string libTorch = $"libtorch {packages.LibTorchVersion} from {packages.LibTorchFolder}";
        LoadDescription = loadable.Weakened.Count == 0
            ? $"TorchSharp's native library {loadable.Path} was loaded by its path from the NuGet packages folder (this machine's " +
              $"libstdc++ has the versions it needs), with {libTorch}."
            : $"TorchSharp's native library {loadable.Path} was loaded: a fixed copy ({(loadable.MadeNow ? "made now" : "made earlier")}) " +
              $"of {packages.LibTorchSharp} with {string.Join(", ", loadable.Weakened)} marked weak, which this machine's libstdc++ " +
              $"({libStdCxx}) lacks; with {libTorch}.";
    }

    /// <summary>
    /// Loads <paramref name="library"/> by its path, first loading by path each dependency the
    /// dynamic loader reports missing that one of <paramref name="folders"/> holds (a library finds
    /// its own folder's through its $ORIGIN run path; a copy elsewhere does not). Loaded libraries
    /// stay loaded.
    /// </summary>
    /// <exception cref="DllNotFoundException">It does not load; the message names the missing dependency or version and what to do.</exception>
    internal static void LoadWithDependencies(string library, IReadOnlyList<string> folders, string cacheFolder) =>
        LoadWithDependencies(library, folders, cacheFolder, new HashSet<string>(StringComparer.Ordinal));

    private static void LoadWithDependencies(string library, IReadOnlyList<string> folders, string cacheFolder, HashSet<string> attempted)
    {
        while (true)
        {
            string loaderMessage;
            try
            {
                NativeLibrary.Load(library);
                return;
            }
            catch (DllNotFoundException error)
            {
                loaderMessage = error.Message;
            }
            catch (BadImageFormatException error)
            {
                loaderMessage = error.Message;
            }

            // The loader names a missing dependency by the bare name it was asked for.
            string? dependency = MissingFile().Matches(loaderMessage).Select(match => match.Groups[1].Value)
                .FirstOrDefault(name => !name.Contains('/', StringComparison.Ordinal));
            string? found = dependency is null ? null : folders.Select(folder => Path.Combine(folder, dependency)).FirstOrDefault(File.Exists);
            if (found is null || !attempted.Add(found))
            {
                // (A dependency found and loaded but reported missing again is described by the loader's message alone.)
                throw new DllNotFoundException(DescribePathLoadFailure(library, found is null ? dependency : null, folders, cacheFolder, loaderMessage));
            }

            LoadWithDependencies(found, folders, cacheFolder, attempted);
        }
    }

    private static string DescribePathLoadFailure(string library, string? dependency, IReadOnlyList<string> folders, string cacheFolder, string loaderMessage)
    {
        if (dependency is not null)
        {
            return $"TorchSharp's native library {library} needs {dependency}, which none of {string.Join(", ", folders)} has. It comes with " +
                   $"the libtorch backend package: reference {NuGetNativeLibraries.BackendPackage} (in a notebook, a #r \"nuget: …\" cell) " +
                   "at the version TorchSharp names. Loader: " + loaderMessage;
        }

        Match version = MissingVersion().Match(loaderMessage);
        if (version.Success)
        {
            return $"{library} needs {version.Groups[1].Value}, which this machine's C++ runtime (libstdc++.so.6) does not have; only " +
                   $"{string.Join(", ", LibTorchSharpCopy.WeakenableVersions)} is known to be safe to mark weak. Install a newer libstdc++ " +
                   "(GCC 13 or later). Loader: " + loaderMessage;
        }

        if (cacheFolder.Length > 0 && library.StartsWith(cacheFolder, StringComparison.Ordinal))
        {
            return $"The fixed copy {library} does not load. If {cacheFolder} lies on a file system mounted noexec, set {NativeCacheVariable} " +
                   "to a folder on one that allows programs. Loader: " + loaderMessage;
        }

        return $"TorchSharp's native library {library} does not load. Loader: {loaderMessage}";
    }

    // TorchSharp's own statement of the libtorch it was built for: a private constant, read without
    // running TorchSharp's static constructor (which loads native code); else the version our build
    // pinned beside TorchSharp.
    private static string LibTorchVersion()
    {
        object? stated = typeof(torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue();
        string version = stated as string ?? typeof(TorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(attribute => attribute.Key == "LibTorchVersion").Value!;
        return NuGetNativeLibraries.FolderVersion(version);
    }

    // The libLibTorchSharp.so mapped into this process (Linux), just after the load by name.
    private static string? MappedLibTorchSharp()
    {
        try
        {
            return File.ReadLines("/proc/self/maps").Where(line => line.EndsWith("/lib" + NativeLibraryName + ".so", StringComparison.Ordinal))
                .Select(line => line[line.IndexOf('/', StringComparison.Ordinal)..]).FirstOrDefault();
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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

    /// <summary>
    /// The thread count <see cref="ThreadsVariable"/> asks for, or null where it is not set: what a
    /// tool's own thread option defaults to, so that the variable means the same everywhere.
    /// </summary>
    /// <exception cref="ArgumentException">The variable is set to something other than a whole number of at least 1.</exception>
    public static int? ThreadSetting()
    {
        string? setting = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrWhiteSpace(setting))
        {
            return null;
        }

        return int.TryParse(setting, NumberStyles.Integer, CultureInfo.InvariantCulture, out int threads) && threads >= 1
            ? threads
            : throw new ArgumentException($"{ThreadsVariable} is '{setting}'; it must be a whole number of threads, at least 1.");
    }

    private static void ApplyThreadSetting()
    {
        if (ThreadSetting() is int threads)
        {
            torch.set_num_threads(threads);
        }
    }

    [GeneratedRegex(@"version [`'‘]([A-Za-z_]+[0-9][0-9.]*)[`'’] not found")]
    private static partial Regex MissingVersion();

    [GeneratedRegex(@"([^\s:]+\.so[^\s:]*): cannot open shared object file")]
    private static partial Regex MissingFile();
}
