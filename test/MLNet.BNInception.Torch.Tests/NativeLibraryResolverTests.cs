using System.Runtime.InteropServices;
using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch.Tests;

public class NativeLibraryResolverTests
{
    [Test]
    public void OverridePointingAtAMissingFileListsThePathTried()
    {
        string missing = Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"), "libbninception_native.so");
        string? previous = Environment.GetEnvironmentVariable(NativeLibraryResolver.OverrideVariable);
        try
        {
            Environment.SetEnvironmentVariable(NativeLibraryResolver.OverrideVariable, missing);
            var error = Assert.Throws<DllNotFoundException>(() => NativeLibraryResolver.LoadFromEnvironment(typeof(Tensor).Assembly));
            Assert.That(error!.Message, Does.Contain("Paths tried"));
            Assert.That(error.Message, Does.Contain(missing + ": no such file"));
            Assert.That(error.Message, Does.Contain(NativeLibraryResolver.OverrideVariable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(NativeLibraryResolver.OverrideVariable, previous);
        }
    }

    [Test]
    public void WithoutOverrideEveryFolderAndTheSystemSearchAreListed()
    {
        // The real shim is loaded in this process already and dlopen would find it by name, so a
        // name that exists nowhere stands in for it.
        const string absent = "libbninception_absent_for_test.so";
        using var first = new TemporaryDirectory();
        using var second = new TemporaryDirectory();
        var error = Assert.Throws<DllNotFoundException>(() => NativeLibraryResolver.Load(null, [first.Path, second.Path], absent));
        Assert.That(error!.Message, Does.Contain(first.File(absent) + ": no such file"));
        Assert.That(error.Message, Does.Contain(second.File(absent) + ": no such file"));
        Assert.That(error.Message, Does.Contain("  " + absent + ": "), "the loader's own search is tried last");
    }

    [Test]
    public void AFileThatIsNotALibraryIsReportedWithTheLoadersReason()
    {
        using var folder = new TemporaryDirectory();
        string fake = folder.File(NativeLibraryResolver.FileName);
        File.WriteAllText(fake, "not an ELF file");
        var error = Assert.Throws<DllNotFoundException>(() => NativeLibraryResolver.Load(folder.Path, []));
        Assert.That(error!.Message, Does.Contain(fake + ": "));
        Assert.That(error.Message, Does.Not.Contain(fake + ": no such file"));
    }

    [Test]
    public void ALibraryWithoutTheAbiExportIsRefused()
    {
        IntPtr libm = NativeLibrary.Load("libm.so.6");
        var error = Assert.Throws<DllNotFoundException>(() => NativeLibraryResolver.CheckAbiVersion(libm));
        Assert.That(error!.Message, Does.Contain("bni_abi_version"));
    }

    [Test]
    public void TheLoadedShimHasTheBindingsAbiVersionAndUsesEveryCore()
    {
        Assert.That(NativeMethods.bni_abi_version(), Is.EqualTo(NativeMethods.AbiVersion));
        if (Environment.GetEnvironmentVariable(NativeLibraryResolver.ThreadsVariable) is null)
        {
            Assert.That(torch.get_num_threads(), Is.EqualTo(Environment.ProcessorCount));
        }
    }
}
