using System.Reflection;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>What the test project's build recorded about itself (AssemblyMetadata in the .csproj).</summary>
internal static class BuildSettings
{
    /// <summary>The restored TorchSharp package folder in the NuGet cache.</summary>
    public static string TorchSharpPackageFolder { get; } = Get("TorchSharpPackageFolder");

    /// <summary>The NuGet cache (global packages folder) restore used: two levels above a package's version folder.</summary>
    public static string NuGetPackagesFolder { get; } = Path.GetFullPath(Path.Combine(TorchSharpPackageFolder, "..", ".."));

    /// <summary>The engine's project file.</summary>
    public static string EngineProject { get; } = Get("EngineProject");

    /// <summary>The configuration the engine and the tests were built in (Debug, Release).</summary>
    public static string Configuration { get; } = Get("Configuration");

    private static string Get(string key) =>
        typeof(BuildSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(attribute => attribute.Key == key).Value
        ?? throw new InvalidOperationException($"the test project recorded no {key}");
}
