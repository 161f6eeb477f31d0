using System.Runtime.Versioning;
using MLNet.BNInception.Build;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Loading TorchSharp's native library: the copy the build fixed is the one this process runs, and
/// when a library cannot load, <see cref="TorchRuntime"/> says why and what to do.
/// </summary>
[SupportedOSPlatform("linux")]
public class TorchRuntimeTests
{
    // The copies below are opened in this process, where libtorch is already loaded: their
    // dependencies (libtorch.so, libc10.so, ...) resolve to it by name, so what decides whether a
    // copy loads is its own version requirements, as for an application on this machine.
    [SetUp]
    public void LoadLibTorch() => TorchRuntime.EnsureLoaded();

    [Test]
    public void ThisProcessRunsTheBuildsCopyOfTheLibraryAndItComputes()
    {
        string[] mapped = File.ReadLines("/proc/self/maps").Where(line => line.Contains("/libLibTorchSharp.so", StringComparison.Ordinal))
            .Select(line => line[line.IndexOf('/')..]).Distinct().ToArray();
        Assert.That(mapped, Does.Contain(LibTorchSharpFiles.BesideTests).And.Not.Contain(LibTorchSharpFiles.PackageOriginal),
            "the copy in the test's output folder is the one loaded, not the package's");
        string loaded = LibTorchSharpFiles.BesideTests;

        // Weak exactly when this machine's libstdc++ lacks the version: the build step acted, or
        // rightly did nothing. With the requirement strong on such a machine this process could not
        // have loaded it at all.
        (_, _, bool weak) = LibTorchSharpFiles.MissingVersionNeed(loaded);
        Assert.That(weak, Is.EqualTo(!LibTorchSharpFiles.MachineHasMissingVersion), LibTorchSharpFiles.MachineCase);
        Assert.That(File.GetUnixFileMode(loaded), Is.EqualTo(File.GetUnixFileMode(LibTorchSharpFiles.PackageOriginal)),
            "the build step keeps the mode the copy had");

        using Tensor a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        using Tensor product = a.matmul(a);
        Assert.That(product.data<float>().ToArray(), Is.EqualTo(new float[] { 7, 10, 15, 22 }), "[[1,2],[3,4]]² by hand");
    }

    [Test]
    public void AnUnfixedCopyIsExplainedByTheVersionItNeedsAndAFixedOneLoads()
    {
        using var folder = new TemporaryDirectory();
        string copy = folder.File("libLibTorchSharp.so");
        File.Copy(LibTorchSharpFiles.PackageOriginal, copy);

        string message = TorchRuntime.DescribeLoadFailure([copy]);

        if (LibTorchSharpFiles.MachineHasMissingVersion)
        {
            Assert.That(message, Does.Contain(copy).And.Contain("loads when named by its path"), "this libstdc++ has the version, so the copy loads");
        }
        else
        {
            Assert.That(message, Does.Contain(copy).And.Contain($"needs {LibTorchSharpFiles.MissingVersion}").And.Contain("libstdc++"));
            Assert.That(message, Does.Contain("dotnet build").And.Contain("dotnet publish").And.Contain("BnInceptionFixLibTorchSharp").And.Contain("GCC 13"),
                "says how to fix it");
        }

        ElfVersionNeeds.WeakenFile(copy, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]);
        Assert.That(TorchRuntime.DescribeLoadFailure([copy]), Does.Contain("loads when named by its path"), "the fixed copy loads on this machine");
    }

    [Test]
    public void WithoutTheLibrarySaysWhichBackendPackageToReference()
    {
        using var folder = new TemporaryDirectory();
        string[] candidates = [folder.File("libLibTorchSharp.so"), Path.Combine(folder.Path, "runtimes", "linux-x64", "native", "libLibTorchSharp.so")];

        string message = TorchRuntime.DescribeLoadFailure(candidates);

        Assert.That(message, Does.Contain("is not beside the application").And.Contain("libtorch-cpu-linux-x64"));
        Assert.That(message, Does.Contain(candidates[0]).And.Contain(candidates[1]), "names where it looked");
    }

    [Test]
    public void AMissingDependencyIsNamedWithTheBackendPackage()
    {
        // A fixed copy whose DT_NEEDED libc10.so is renamed libc99.so: a dependency no package provides.
        using var folder = new TemporaryDirectory();
        byte[] library = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);
        ElfVersionNeeds.Weaken(library, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]);
        Assert.That(LibTorchSharpFiles.ReplaceString(library, "libc10.so", "libc99.so"), Is.EqualTo(1));
        string copy = folder.File("libLibTorchSharp.so");
        File.WriteAllBytes(copy, library);

        string message = TorchRuntime.DescribeLoadFailure([copy]);

        Assert.That(message, Does.Contain($"{copy} needs libc99.so").And.Contain("libtorch-cpu-linux-x64"));
    }
}
