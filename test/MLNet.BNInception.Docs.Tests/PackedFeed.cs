using System.Reflection;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// Packs our packages once for every test of this project, as a user does before opening a notebook
/// or running a sample: <c>bash build/pack.sh</c> into the repository's <c>artifacts/packages</c>, the
/// folder the notebooks and samples name as their feed. Here with <c>--no-build</c> (build/test.sh has
/// just built everything) and <c>--without-tool</c>: the notebooks and samples use the three libraries,
/// and the tool's package, with libtorch inside, took 16 of the pack's 22 s. The version it packed is removed from that
/// folder and from the NuGet cache when the tests end, so neither grows with every run.
/// </summary>
[SetUpFixture]
public sealed class PackedFeed
{
    private static readonly string[] PackageIds = ["MLNet.BNInception.Engine", "MLNet.BNInception.Plots", "MLNet.BNInception"];
    private static string? _version;

    /// <summary>The repository this test assembly was built from (its folder, with a trailing separator).</summary>
    public static string Repository => Setting("RepositoryFolder");

    /// <summary>The folder build/pack.sh wrote the packages into: the feed the notebooks and samples use.</summary>
    public static string Feed => Path.Combine(Repository, "artifacts", "packages");

    /// <summary>The version of this run's pack.</summary>
    public static string Version => _version ?? throw new InvalidOperationException("The packages are packed by the set-up fixture, which has not run.");

    [OneTimeSetUp]
    public void Pack()
    {
        string output = UserProject.Bash(Repository, "bash build/pack.sh --no-build --without-tool", TimeSpan.FromMinutes(10));
        _version = output.TrimEnd().Split('\n')[^1].Trim();
        Assert.That(_version, Does.Match(@"^\d+\.\d+\.\d+-dev\.\d{8}\.\d+$"), "pack.sh's last line is the version it packed");
    }

    [OneTimeTearDown]
    public void RemoveThePack()
    {
        if (_version is null)
        {
            return;
        }

        foreach (string package in PackageIds)
        {
            File.Delete(Path.Combine(Feed, $"{package}.{_version}.nupkg"));
            string cached = Path.Combine(Setting("NuGetPackageRoot"), package.ToLowerInvariant());
            if (Directory.Exists(Path.Combine(cached, _version)))
            {
                Directory.Delete(Path.Combine(cached, _version), recursive: true);
            }

            if (Directory.Exists(cached) && !Directory.EnumerateFileSystemEntries(cached).Any())
            {
                Directory.Delete(cached);
            }
        }
    }

    private static string Setting(string key) => typeof(PackedFeed).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == key).Value!;
}
