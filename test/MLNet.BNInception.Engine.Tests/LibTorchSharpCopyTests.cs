using System.Reflection;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using MLNet.BNInception.Build;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// What <see cref="TorchRuntime.EnsureLoaded"/> does where TorchSharp came from the NuGet packages
/// folder (notebooks, script hosts): the fixed copy of TorchSharp's library in our cache folder
/// (<see cref="LibTorchSharpCopy"/>, checked against binutils' readelf) and where the package files
/// are found (<see cref="NuGetNativeLibraries"/>). The load itself runs in a notebook, in the
/// documentation's tests: this process has loaded the build's copy already.
/// </summary>
[SupportedOSPlatform("linux")]
public class LibTorchSharpCopyTests
{
    private const string TorchSharpVersion = "0.107.0";
    private static readonly string[] Missing = [LibTorchSharpFiles.MissingVersion];

    [Test]
    public void TheCopyIsMadeInTheCacheFolderWithOnlyThatRequirementWeakAndTheSourceUntouched()
    {
        using var cache = new TemporaryDirectory();
        string source = LibTorchSharpFiles.PackageOriginal;
        byte[] sourceHash = SHA256.HashData(File.ReadAllBytes(source));
        DateTime sourceTime = File.GetLastWriteTimeUtc(source);

        LibTorchSharpCopy.Loadable loadable = LibTorchSharpCopy.Prepare(source, TorchSharpVersion, cache.Path, Missing);

        Assert.That(loadable.MadeNow, Is.True);
        Assert.That(loadable.Weakened, Is.EqualTo(Missing));
        Assert.That(Path.GetDirectoryName(Path.GetDirectoryName(loadable.Path)), Is.EqualTo(Path.Combine(cache.Path, "libtorchsharp")));
        Assert.That(Path.GetFileName(Path.GetDirectoryName(loadable.Path)), Does.StartWith(TorchSharpVersion + "-"), "the folder names TorchSharp's version");
        Assert.That(Path.GetFileName(loadable.Path), Is.EqualTo("libLibTorchSharp.so"));
        Assert.That(Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories), Is.EqualTo(new[] { loadable.Path }),
            "the copy and nothing else: no temporary file is left");

        ReadElf.Need copied = ReadElf.Needs(loadable.Path).Single(need => need.Version == LibTorchSharpFiles.MissingVersion);
        Assert.That(copied.Weak, Is.True, "readelf sees the copy's requirement weak");
        Assert.That(ReadElf.Needs(source).Single(need => need.Version == LibTorchSharpFiles.MissingVersion).Weak, Is.False, "and the package's strong");
        byte[] original = File.ReadAllBytes(source), copy = File.ReadAllBytes(loadable.Path);
        Assert.That(copy, Has.Length.EqualTo(original.Length));
        int[] changed = Enumerable.Range(0, copy.Length).Where(i => copy[i] != original[i]).ToArray();
        Assert.That(changed, Is.EqualTo(new[] { (int)copied.FlagsOffset }), "only the low byte of that requirement's vna_flags changes");

        Assert.That(SHA256.HashData(File.ReadAllBytes(source)), Is.EqualTo(sourceHash), "the package's file is only read");
        Assert.That(File.GetLastWriteTimeUtc(source), Is.EqualTo(sourceTime));
    }

    [Test]
    public void ASecondCallReusesTheCopy()
    {
        using var cache = new TemporaryDirectory();
        string first = LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing).Path;
        var marked = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(first, marked);

        LibTorchSharpCopy.Loadable second = LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing);

        Assert.That(second.Path, Is.EqualTo(first));
        Assert.That(second.MadeNow, Is.False);
        Assert.That(second.Weakened, Is.EqualTo(Missing), "it still says what the copy has weak");
        Assert.That(File.GetLastWriteTimeUtc(first), Is.EqualTo(marked), "not written again");
    }

    [Test]
    public void ACopyThatIsNotFixedOrNotWholeIsMadeAgain()
    {
        using var cache = new TemporaryDirectory();
        string copy = LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing).Path;

        File.Copy(LibTorchSharpFiles.PackageOriginal, copy, overwrite: true);
        Assert.That(LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing).MadeNow, Is.True, "an unfixed file");
        Assert.That(ReadElf.Needs(copy).Single(need => need.Version == LibTorchSharpFiles.MissingVersion).Weak, Is.True);

        File.WriteAllBytes(copy, File.ReadAllBytes(copy)[..4096]);
        Assert.That(LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing).MadeNow, Is.True, "a cut-off file");
        Assert.That(new FileInfo(copy).Length, Is.EqualTo(new FileInfo(LibTorchSharpFiles.PackageOriginal).Length));
    }

    [Test]
    public void AnotherFileOrAnotherTorchSharpVersionGetsItsOwnCopy()
    {
        using var cache = new TemporaryDirectory();
        using var sources = new TemporaryDirectory();
        string other = sources.File("libLibTorchSharp.so");
        byte[] library = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);
        Assert.That(LibTorchSharpFiles.ReplaceString(library, "libc10.so", "libc99.so"), Is.EqualTo(1));
        File.WriteAllBytes(other, library);

        string[] copies =
        [
            LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing).Path,
            LibTorchSharpCopy.Prepare(other, TorchSharpVersion, cache.Path, Missing).Path,
            LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, "0.108.0", cache.Path, Missing).Path,
        ];

        Assert.That(copies.Distinct().Count(), Is.EqualTo(3), string.Join("\n", copies));
        Assert.That(File.ReadAllBytes(copies[1]).AsSpan().IndexOf("libc99.so"u8), Is.GreaterThan(0), "the other file's copy is of the other file");
    }

    [Test]
    public void NothingIsCopiedWhenTheMachinesLibStdCxxHasTheVersions()
    {
        using var cache = new TemporaryDirectory();

        LibTorchSharpCopy.Loadable loadable = LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, []);

        Assert.That(loadable.Path, Is.EqualTo(LibTorchSharpFiles.PackageOriginal));
        Assert.That(loadable.Weakened, Is.Empty);
        Assert.That(Directory.EnumerateFileSystemEntries(cache.Path), Is.Empty);
    }

    [Test]
    public void CallsAtOnceAllGetTheWholeCopyAndLeaveNoTemporaryFile()
    {
        using var cache = new TemporaryDirectory();

        string[] paths = Enumerable.Range(0, 4).AsParallel().WithDegreeOfParallelism(4)
            .Select(_ => LibTorchSharpCopy.Prepare(LibTorchSharpFiles.PackageOriginal, TorchSharpVersion, cache.Path, Missing).Path).ToArray();

        Assert.That(paths.Distinct().Count(), Is.EqualTo(1));
        Assert.That(Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories), Is.EqualTo(new[] { paths[0] }));
        Assert.That(ReadElf.Needs(paths[0]).Single(need => need.Version == LibTorchSharpFiles.MissingVersion).Weak, Is.True);
        Assert.That(new FileInfo(paths[0]).Length, Is.EqualTo(new FileInfo(LibTorchSharpFiles.PackageOriginal).Length));
    }

    [Test]
    public void TheCacheFolderIsTheVariablesElseXdgsElseHomes()
    {
        static string Folder(params (string Name, string Value)[] variables) =>
            LibTorchSharpCopy.CacheFolder(name => variables.Where(variable => variable.Name == name).Select(variable => variable.Value).FirstOrDefault());

        Assert.That(Folder((TorchRuntime.NativeCacheVariable, "/tmp/ours"), ("XDG_CACHE_HOME", "/x"), ("HOME", "/h")), Is.EqualTo("/tmp/ours"));
        Assert.That(Folder(("XDG_CACHE_HOME", "/x"), ("HOME", "/h")), Is.EqualTo("/x/mlnet-bninception"));
        Assert.That(Folder(("XDG_CACHE_HOME", "relative"), ("HOME", "/h")), Is.EqualTo("/h/.cache/mlnet-bninception"), "a relative XDG_CACHE_HOME is ignored");
        Assert.That(Folder(("HOME", "/h")), Is.EqualTo("/h/.cache/mlnet-bninception"));
        var error = Assert.Throws<DllNotFoundException>(() => Folder());
        Assert.That(error!.Message, Does.Contain(TorchRuntime.NativeCacheVariable));
    }

    [Test]
    public void ThePackagesAreFoundFromTorchSharpsAssemblyInTheNuGetCache()
    {
        string assembly = Path.Combine(BuildSettings.TorchSharpPackageFolder, "lib", "net8.0", "TorchSharp.dll");

        NuGetNativeLibraries? packages = NuGetNativeLibraries.Locate(assembly, "2.10.0");

        Assert.That(packages, Is.Not.Null);
        Assert.That(packages!.LibTorchSharp, Is.EqualTo(LibTorchSharpFiles.PackageOriginal));
        Assert.That(packages.TorchSharpVersion, Is.EqualTo(TorchSharpVersion));
        Assert.That(packages.PackagesFolder, Is.EqualTo(BuildSettings.NuGetPackagesFolder.TrimEnd('/')));
        Assert.That(Path.Combine(packages.LibTorchFolder, "libtorch_cpu.so"), Does.Exist);
    }

    [Test]
    public void AMissingPackageFileIsNamedWithWhatToDo()
    {
        using var packages = new TemporaryDirectory();
        string version = Path.Combine(packages.Path, "torchsharp", TorchSharpVersion);
        string assembly = Path.Combine(version, "lib", "net8.0", "TorchSharp.dll");
        Directory.CreateDirectory(Path.GetDirectoryName(assembly)!);
        File.WriteAllBytes(assembly, []);

        string library = Path.Combine(version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var noLibrary = Assert.Throws<DllNotFoundException>(() => NuGetNativeLibraries.Locate(assembly, "2.10.0"));
        Assert.That(noLibrary!.Message, Does.Contain(library).And.Contain("delete " + version));

        Directory.CreateDirectory(Path.GetDirectoryName(library)!);
        File.WriteAllBytes(library, []);
        string libTorch = Path.Combine(packages.Path, "libtorch-cpu-linux-x64", "2.10.0", "runtimes", "linux-x64", "native", "libtorch.so");
        var noLibTorch = Assert.Throws<DllNotFoundException>(() => NuGetNativeLibraries.Locate(assembly, "2.10.0"));
        Assert.That(noLibTorch!.Message, Does.Contain(libTorch).And.Contain("#r \"nuget: libtorch-cpu-linux-x64, 2.10.0\""));

        Directory.CreateDirectory(Path.GetDirectoryName(libTorch)!);
        File.WriteAllBytes(libTorch, []);
        Assert.That(NuGetNativeLibraries.Locate(assembly, "2.10.0")?.LibTorchFolder, Is.EqualTo(Path.GetDirectoryName(libTorch)));
    }

    [Test]
    public void AnApplicationsTorchSharpIsNotLookedUpInPackages()
    {
        Assert.That(NuGetNativeLibraries.Locate(typeof(torch).Assembly.Location, "2.10.0"), Is.Null, "this test's output folder");
        Assert.That(NuGetNativeLibraries.Locate("", "2.10.0"), Is.Null, "an assembly loaded from bytes");
    }

    [Test]
    public void PackageVersionsAreWrittenAsNuGetNamesTheirFolders()
    {
        Assert.That(NuGetNativeLibraries.FolderVersion("2.10.0.0"), Is.EqualTo("2.10.0"));
        Assert.That(NuGetNativeLibraries.FolderVersion("2.10.0"), Is.EqualTo("2.10.0"));
        Assert.That(NuGetNativeLibraries.FolderVersion("2.10.0.1"), Is.EqualTo("2.10.0.1"));
        Assert.That(NuGetNativeLibraries.FolderVersion("2.10.0.0-Preview.1"), Is.EqualTo("2.10.0-preview.1"));
    }

    [Test]
    public void TorchSharpStatesTheLibTorchOurBuildPins()
    {
        // TorchRuntime reads this private constant to find libtorch's package; if TorchSharp renames
        // it, the version pinned in Directory.Packages.props is used instead, and this test says so.
        object? stated = typeof(torch).GetField("libtorchPackageVersion", BindingFlags.NonPublic | BindingFlags.Static)?.GetRawConstantValue();
        string pinned = typeof(TorchRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(attribute => attribute.Key == "LibTorchVersion").Value!;

        Assert.That(stated, Is.InstanceOf<string>(), "TorchSharp still has the constant");
        Assert.That(NuGetNativeLibraries.FolderVersion((string)stated!), Is.EqualTo(pinned));
    }

    [Test]
    public void ADependencyNoFolderHoldsIsNamedWithTheFolders()
    {
        // A fixed copy whose DT_NEEDED libc10.so is renamed libc99.so: loaded by its path from
        // another folder, it finds its other dependencies loaded already and lacks that one.
        using var folder = new TemporaryDirectory();
        byte[] library = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);
        ElfVersionNeeds.Weaken(library, LibTorchSharpFiles.LibStdCxx, Missing);
        Assert.That(LibTorchSharpFiles.ReplaceString(library, "libc10.so", "libc99.so"), Is.EqualTo(1));
        string copy = folder.File("libLibTorchSharp.so");
        File.WriteAllBytes(copy, library);
        string libTorchFolder = Path.GetDirectoryName(LibTorchSharpFiles.BesideTests)!;

        var error = Assert.Throws<DllNotFoundException>(() => TorchRuntime.LoadWithDependencies(copy, [libTorchFolder], folder.Path));

        Assert.That(error!.Message, Does.Contain($"{copy} needs libc99.so").And.Contain(libTorchFolder).And.Contain("libtorch-cpu-linux-x64"));
    }
}
