using System.Reflection;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// Before any notebook runs, points the engine's cache folder for its fixed copy of TorchSharp's
/// native library (<see cref="Variable"/>) at a folder of this test run, so that the tests never
/// write into the user's ~/.cache and can see what the engine made there. The notebooks' kernels run
/// in this process, so they read the variable as set here; the folder is removed when the tests end.
/// </summary>
[SetUpFixture]
public sealed class NativeCache
{
    /// <summary>The engine's TorchRuntime.NativeCacheVariable (this project references none of our assemblies).</summary>
    public const string Variable = "BNINCEPTION_NATIVE_CACHE";

    private static TemporaryDirectory? _folder;
    private static string? _previous;

    /// <summary>The cache folder the notebooks of this run use.</summary>
    public static string Folder => _folder?.Path ?? throw new InvalidOperationException("The set-up fixture that makes the cache folder has not run.");

    /// <summary>The NuGet packages folder restore uses, where the notebooks' packages are unpacked.</summary>
    public static string NuGetPackages => typeof(NativeCache).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "NuGetPackageRoot").Value!;

    /// <summary>
    /// Every file and folder under the NuGet cache's TorchSharp and CPU libtorch packages, all versions:
    /// where TorchSharp's own fallback for notebooks copies its native libraries, and where nothing
    /// of ours may write.
    /// </summary>
    public static string[] TorchPackageEntries() =>
        new[] { "torchsharp", "libtorch-cpu-linux-x64" }.Select(package => Path.Combine(NuGetPackages, package)).Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories)).Order(StringComparer.Ordinal).ToArray();

    [OneTimeSetUp]
    public void PointTheEngineAtAFolderOfThisRun()
    {
        _folder = new TemporaryDirectory();
        _previous = Environment.GetEnvironmentVariable(Variable);
        Environment.SetEnvironmentVariable(Variable, _folder.Path);
    }

    [OneTimeTearDown]
    public void RemoveTheFolder()
    {
        Environment.SetEnvironmentVariable(Variable, _previous);
        _folder?.Dispose();
    }
}
