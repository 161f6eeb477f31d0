using MLNet.BNInception.Build;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Where TorchSharp's native library is (the untouched one in the NuGet cache, the copy the build put
/// beside the tests) and whether this machine's libstdc++ has the version that library asks for.
/// </summary>
internal static class LibTorchSharpFiles
{
    /// <summary>The version TorchSharp 0.107's library needs and Debian 12's libstdc++ (GCC 12) lacks.</summary>
    public const string MissingVersion = "GLIBCXX_3.4.32";

    /// <summary>The library it is needed from, as the requirement names it.</summary>
    public const string LibStdCxx = "libstdc++.so.6";

    /// <summary>The package's own native library in the NuGet cache, as TorchSharp ships it: never to be modified.</summary>
    public static string PackageOriginal { get; } =
        Path.Combine(BuildSettings.TorchSharpPackageFolder, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>The copy the build put in this test assembly's output folder, which this process loads.</summary>
    public static string BesideTests { get; } =
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>The libstdc++.so.6 this process (and so any .NET program started like it) runs with.</summary>
    public static string MachineLibStdCxx { get; } =
        ElfVersionNeeds.FindLoadedLibStdCxx() ?? throw new InvalidOperationException("this process has no libstdc++.so.6");

    /// <summary>Whether that libstdc++ defines <see cref="MissingVersion"/>, which decides whether the build step acts.</summary>
    public static bool MachineHasMissingVersion { get; } =
        ElfVersionNeeds.DefinedVersions(File.ReadAllBytes(MachineLibStdCxx)).Contains(MissingVersion);

    /// <summary>Which case this machine is, for assertion messages.</summary>
    public static string MachineCase { get; } = $"{MachineLibStdCxx} {(MachineHasMissingVersion ? "defines" : "lacks")} {MissingVersion}";

    /// <summary>The requirement of <see cref="MissingVersion"/> in a file, as our reader sees it; fails the test if there is not exactly one.</summary>
    public static (string Library, string Version, bool Weak) MissingVersionNeed(string path) =>
        ElfVersionNeeds.Needs(File.ReadAllBytes(path)).Single(need => need.Version == MissingVersion);

    /// <summary>
    /// Replaces every NUL-delimited occurrence of the string <paramref name="from"/> in an ELF image by
    /// <paramref name="to"/> (same length, so nothing moves): how the tests make a library define or
    /// need a different name. Returns how many were replaced.
    /// </summary>
    public static int ReplaceString(byte[] elf, string from, string to)
    {
        if (from.Length != to.Length)
        {
            throw new ArgumentException($"'{from}' and '{to}' differ in length; the edit must not move anything.", nameof(to));
        }

        byte[] pattern = [0, .. System.Text.Encoding.ASCII.GetBytes(from), 0];
        byte[] replacement = System.Text.Encoding.ASCII.GetBytes(to);
        int count = 0;
        for (int start = 0, found; (found = elf.AsSpan(start).IndexOf(pattern)) >= 0; start += found + pattern.Length - 1)
        {
            // The closing NUL may open the next string, so the search goes on from it.
            replacement.CopyTo(elf, start + found + 1);
            count++;
        }

        return count;
    }
}
