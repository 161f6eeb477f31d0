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
        using MLNet.BNInception.Engine;
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
        try
        {
            UserProject.Dotnet(root.Path,
                 ["pack", BuildSettings.EngineProject, "--configuration", BuildSettings.Configuration, "--no-build", "--output", feed,
                  $"-p:PackageVersion={version}", $"-p:NuspecOutputPath={Path.Combine(root.Path, "nuspec")}/"]);
            using (ZipArchive package = ZipFile.OpenRead(Path.Combine(feed, $"{PackageId}.{version}.nupkg")))
            {
                Assert.That(package.Entries.Select(entry => entry.FullName),
                    Is.SupersetOf(new[] { $"buildTransitive/{PackageId}.targets", "buildTransitive/LibTorchSharpVersionFix.cs", "README.md" }));
                string nuspec = new StreamReader(package.GetEntry($"{PackageId}.nuspec")!.Open()).ReadToEnd();
                Assert.That(nuspec, Does.Contain("<readme>README.md</readme>").And.Contain("<authors>The MLNet.BNInception team</authors>"));

                // The symbols travel inside the assembly: an application's stack traces name our files and lines.
                using var assembly = new MemoryStream();
                package.GetEntry($"lib/net10.0/{PackageId}.dll")!.Open().CopyTo(assembly);
                assembly.Position = 0;
                using var pe = new System.Reflection.PortableExecutable.PEReader(assembly);
                Assert.That(pe.ReadDebugDirectory().Select(entry => entry.Type), Does.Contain(System.Reflection.PortableExecutable.DebugDirectoryEntryType.EmbeddedPortablePdb));
            }

            UserProject.Write(root.Path, feed, application, [(PackageId, version), ("libtorch-cpu-linux-x64", "2.10.0")], Program);
            UserProject.Dotnet(application, ["build", "--configuration", "Release"]);
            string built = Path.Combine(application, "bin", "Release", "net10.0");
            AssertFixed(Path.Combine(built, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
            Assert.That(UserProject.Dotnet(built, ["App.dll"]), Does.Contain(ExpectedOutput));

            // Publishing copies the libraries from the NuGet cache again, not from the build's output,
            // so the publish folder needs the step of its own.
            string published = Path.Combine(application, "publish");
            UserProject.Dotnet(application, ["publish", "--configuration", "Release", "--no-build", "--output", published]);
            AssertFixed(Path.Combine(published, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
            Assert.That(UserProject.Dotnet(published, ["App.dll"]), Does.Contain(ExpectedOutput));
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
        }
    }

    private static void AssertFixed(string library)
    {
        Assert.That(LibTorchSharpFiles.MissingVersionNeed(library).Weak, Is.EqualTo(!LibTorchSharpFiles.MachineHasMissingVersion),
            $"{library}: {LibTorchSharpFiles.MachineCase}");
        Assert.That(File.GetUnixFileMode(library), Is.EqualTo(File.GetUnixFileMode(LibTorchSharpFiles.PackageOriginal)), $"{library}: mode kept");
    }
}
