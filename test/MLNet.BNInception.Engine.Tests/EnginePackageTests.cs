using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.Versioning;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The engine's NuGet package, as an application outside this repository uses it: the only proof that
/// the library-loading fix in buildTransitive/ reaches applications that reference the package.
/// </summary>
[SupportedOSPlatform("linux")]
public class EnginePackageTests
{
    private const string PackageId = "MLNet.BNInception.Engine";

    // Everything an application needs from us: load through TorchRuntime, then one op whose result
    // is known by hand ([[1,2],[3,4]]² = [[7,10],[15,22]]).
    private const string Program = """
        using MLNet.BNInception;
        using TorchSharp;

        TorchRuntime.EnsureLoaded();
        using torch.Tensor a = torch.tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using torch.Tensor product = a.matmul(a);
        Console.WriteLine("product: " + string.Join(" ", product.data<float>().ToArray()));
        """;

    private const string ExpectedOutput = "product: 7 10 15 22";

    [Test]
    public void AnApplicationReferencingThePackageRunsTorchSharpAfterBuildAndPublish()
    {
        // A version no real release has, so the copy restore puts in the NuGet cache can neither be
        // an old one nor shadow a later run; it is removed again below.
        string version = "0.0.0-test-" + Guid.NewGuid().ToString("N");
        using var root = new TemporaryDirectory();
        string feed = Path.Combine(root.Path, "feed");
        string application = Path.Combine(root.Path, "app");
        var timings = new List<string>();
        try
        {
            Step(timings, "pack", root.Path,
                 ["pack", BuildSettings.EngineProject, "--configuration", BuildSettings.Configuration, "--no-build", "--output", feed,
                  $"-p:PackageVersion={version}", $"-p:NuspecOutputPath={Path.Combine(root.Path, "nuspec")}/"]);
            using (ZipArchive package = ZipFile.OpenRead(Path.Combine(feed, $"{PackageId}.{version}.nupkg")))
            {
                Assert.That(package.Entries.Select(entry => entry.FullName),
                    Is.SupersetOf(new[] { $"buildTransitive/{PackageId}.targets", "buildTransitive/LibTorchSharpVersionFix.cs" }));
            }

            WriteApplication(root.Path, feed, application, version);
            Step(timings, "build", application, ["build", "--configuration", "Release"]);
            string built = Path.Combine(application, "bin", "Release", "net10.0");
            AssertFixed(Path.Combine(built, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
            Assert.That(Step(timings, "run the build", built, ["App.dll"]), Does.Contain(ExpectedOutput));

            // Publishing copies the libraries from the NuGet cache again, not from the build's output,
            // so the publish folder needs the step of its own.
            string published = Path.Combine(application, "publish");
            Step(timings, "publish", application, ["publish", "--configuration", "Release", "--no-build", "--output", published]);
            AssertFixed(Path.Combine(published, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
            Assert.That(Step(timings, "run the publish", published, ["App.dll"]), Does.Contain(ExpectedOutput));
        }
        finally
        {
            string restored = Path.Combine(BuildSettings.NuGetPackagesFolder, PackageId.ToLowerInvariant());
            if (Directory.Exists(Path.Combine(restored, version)))
            {
                Directory.Delete(Path.Combine(restored, version), recursive: true);
            }

            if (Directory.Exists(restored) && !Directory.EnumerateFileSystemEntries(restored).Any())
            {
                Directory.Delete(restored);
            }

            TestContext.Out.WriteLine(string.Join(", ", timings));
        }
    }

    private static void AssertFixed(string library)
    {
        Assert.That(LibTorchSharpFiles.MissingVersionNeed(library).Weak, Is.EqualTo(!LibTorchSharpFiles.MachineHasMissingVersion),
            $"{library}: {LibTorchSharpFiles.MachineCase}");
        Assert.That(File.GetUnixFileMode(library), Is.EqualTo(File.GetUnixFileMode(LibTorchSharpFiles.PackageOriginal)), $"{library}: mode kept");
    }

    /// <summary>
    /// A console application in its own folder tree, as a user outside this repository would have it:
    /// the empty Directory.Build.* and Directory.Packages.props stop MSBuild from looking further up
    /// for ones that are not the user's, and NuGet.config adds the test's feed to the machine's sources.
    /// </summary>
    private static void WriteApplication(string root, string feed, string application, string version)
    {
        Directory.CreateDirectory(application);
        foreach (string name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(root, name), "<Project />\n");
        }

        File.WriteAllText(Path.Combine(root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="bninception-test-feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(application, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{PackageId}" Version="{version}" />
                <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(application, "Program.cs"), Program);
    }

    /// <summary>Runs dotnet with <paramref name="arguments"/>, fails the test with its output if it fails, and returns its output.</summary>
    private static string Step(List<string> timings, string what, string workingDirectory, string[] arguments)
    {
        var clock = Stopwatch.StartNew();
        string[] serverless = arguments[0] is "pack" or "build" or "publish" ? [.. arguments, "--disable-build-servers"] : arguments;
        ExternalProcess.Result result = ExternalProcess.Run(Dotnet, serverless, workingDirectory, CleanEnvironment, TimeSpan.FromMinutes(5));
        timings.Add($"{what} {clock.Elapsed.TotalSeconds:F1} s");
        return result.AssertSucceeded().Output;
    }

    // The dotnet that runs these tests, so that the application is built by the same SDK.
    private static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    // dotnet test passes its MSBuild's settings down to the test process; an application built by a
    // user would not have them. Build servers outlive the build and would hold the output pipes open.
    private static Dictionary<string, string?> CleanEnvironment
    {
        get
        {
            Dictionary<string, string?> environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
                .Where(name => name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                .ToDictionary(name => name, _ => (string?)null);
            environment["MSBUILDDISABLENODEREUSE"] = "1";
            environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
            environment["DOTNET_NOLOGO"] = "1";
            environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            return environment;
        }
    }
}
