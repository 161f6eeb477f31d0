namespace MLNet.BNInception.Engine;

/// <summary>
/// Where TorchSharp's and libtorch's native libraries lie when a host loaded TorchSharp.dll straight
/// from the NuGet packages folder, as a .NET Interactive notebook's <c>#r "nuget: …"</c> or a script
/// host does: no build copied them beside an application, so they are in the packages' own folders,
/// <c>torchsharp/&lt;version&gt;/runtimes/linux-x64/native</c> and
/// <c>libtorch-cpu-linux-x64/&lt;version&gt;/runtimes/linux-x64/native</c>.
/// </summary>
/// <param name="PackagesFolder">The NuGet packages folder TorchSharp.dll was loaded from.</param>
/// <param name="TorchSharpVersion">TorchSharp's package version (its folder's name).</param>
/// <param name="LibTorchSharp">TorchSharp's native library in its package, as the package ships it.</param>
/// <param name="LibTorchVersion">The libtorch backend package's version that TorchSharp needs.</param>
/// <param name="LibTorchFolder">The backend package's folder of native libraries (libtorch.so, libtorch_cpu.so, libc10.so, …).</param>
internal sealed record NuGetNativeLibraries(string PackagesFolder, string TorchSharpVersion, string LibTorchSharp, string LibTorchVersion, string LibTorchFolder)
{
    /// <summary>The backend package these hosts load: the CPU one (a CUDA build is for an application, docs/gpu.md).</summary>
    public const string BackendPackage = "libtorch-cpu-linux-x64";

    private const string LibTorchSharpFile = "libLibTorchSharp.so";

    /// <summary>
    /// The package folders for the TorchSharp.dll at <paramref name="torchSharpAssembly"/>, or null
    /// when that file is not in a NuGet package (it is in an application's output, whose build
    /// placed the native libraries beside it).
    /// </summary>
    /// <param name="torchSharpAssembly">Where TorchSharp.dll was loaded from (empty for an assembly loaded from bytes).</param>
    /// <param name="libTorchVersion">The libtorch version TorchSharp was built for, as NuGet names its folder (2.10.0).</param>
    /// <exception cref="DllNotFoundException">TorchSharp is in a package, but a native library is not where it should be; the message names the file and what to do.</exception>
    public static NuGetNativeLibraries? Locate(string torchSharpAssembly, string libTorchVersion)
    {
        if (string.IsNullOrEmpty(torchSharpAssembly))
        {
            return null;
        }

        // <packages>/torchsharp/<version>/lib/<framework>/TorchSharp.dll
        DirectoryInfo? lib = Directory.GetParent(torchSharpAssembly)?.Parent;
        DirectoryInfo? version = lib?.Parent;
        DirectoryInfo? package = version?.Parent;
        DirectoryInfo? packages = package?.Parent;
        if (lib is null || version is null || package is null || packages is null ||
            lib.Name != "lib" || !package.Name.Equals("torchsharp", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string libTorchSharp = Path.Combine(version.FullName, "runtimes", "linux-x64", "native", LibTorchSharpFile);
        if (!File.Exists(libTorchSharp))
        {
            throw new DllNotFoundException(
                $"TorchSharp {version.Name} was loaded from the NuGet packages folder, but its native library {libTorchSharp} is missing " +
                $"(TorchSharp's packages carry it for linux-x64 only). On Linux x86-64, delete {version.FullName} so that the next " +
                "restore (the #r \"nuget: …\" cell) unpacks the package again.");
        }

        string libTorchFolder = Path.Combine(packages.FullName, BackendPackage, libTorchVersion, "runtimes", "linux-x64", "native");
        if (!File.Exists(Path.Combine(libTorchFolder, "libtorch.so")))
        {
            throw new DllNotFoundException(
                $"TorchSharp {version.Name} needs libtorch {libTorchVersion}, and the NuGet packages folder {packages.FullName} has no " +
                $"{BackendPackage} {libTorchVersion} ({Path.Combine(libTorchFolder, "libtorch.so")} is missing). Reference the backend " +
                $"beside our package: in a notebook, a cell with #r \"nuget: {BackendPackage}, {libTorchVersion}\" before the first " +
                "cell that runs the network (then run that cell again).");
        }

        return new NuGetNativeLibraries(packages.FullName, version.Name, libTorchSharp, libTorchVersion, libTorchFolder);
    }

    /// <summary>
    /// A package version as NuGet names its folder: TorchSharp states libtorch's as four parts
    /// (2.10.0.0), and NuGet drops a fourth part of zero (2.10.0).
    /// </summary>
    public static string FolderVersion(string version)
    {
        string[] parts = version.Split('-', 2);
        string[] numbers = parts[0].Split('.');
        string release = numbers.Length == 4 && numbers[3] == "0" ? string.Join('.', numbers[..3]) : parts[0];
        return (parts.Length == 2 ? release + "-" + parts[1] : release).ToLowerInvariant();
    }
}
