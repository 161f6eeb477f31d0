using System.Security.Cryptography;
using MLNet.BNInception.Build;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Engine;

/// <summary>
/// The fixed copy of TorchSharp's native library that <see cref="TorchRuntime"/> loads where no build
/// step made one (a notebook's <c>#r "nuget: …"</c>, a script host): the package's
/// libLibTorchSharp.so with the libstdc++ versions this machine lacks marked weak, as the build step
/// of <c>buildTransitive/</c> does to an application's copy (docs/engine.md says why that is safe).
/// It lives in a cache folder of ours, never in the NuGet cache, under a name made of TorchSharp's
/// version and a hash of the package's file, so another TorchSharp, or another file, gets another
/// copy. It is written once, through a temporary file and a rename (two processes that make it at
/// once each rename a whole file over the other's, the same bytes), and reused after.
/// </summary>
internal static class LibTorchSharpCopy
{
    /// <summary>The library the versions are needed from.</summary>
    public const string LibStdCxx = "libstdc++.so.6";

    /// <summary>The folder under the cache folder that holds the copies, one folder per TorchSharp version and file.</summary>
    public const string CopiesFolder = "libtorchsharp";

    /// <summary>
    /// The versions that may be marked weak: the one TorchSharp 0.107's library needs and Debian 12's
    /// libstdc++ lacks (the build step's BnInceptionWeakLibStdCxxVersions names the same).
    /// </summary>
    public static IReadOnlyList<string> WeakenableVersions { get; } = ["GLIBCXX_3.4.32"];

    /// <summary>What to load, and how it came about.</summary>
    /// <param name="Path">The library to load by its path: the fixed copy, or the package's own file when nothing needed fixing.</param>
    /// <param name="Weakened">The versions marked weak in the copy; empty when <paramref name="Path"/> is the package's file.</param>
    /// <param name="MadeNow">Whether this call wrote the copy (false: an earlier one had).</param>
    public sealed record Loadable(string Path, IReadOnlyList<string> Weakened, bool MadeNow);

    /// <summary>
    /// The cache folder: <see cref="TorchRuntime.NativeCacheVariable"/> when set, else
    /// <c>$XDG_CACHE_HOME/mlnet-bninception</c>, else <c>~/.cache/mlnet-bninception</c>.
    /// </summary>
    /// <param name="environment">Reads an environment variable (the process's, or a test's).</param>
    /// <exception cref="DllNotFoundException">None of them is set: the message says which variable to set.</exception>
    public static string CacheFolder(Func<string, string?> environment)
    {
        string? chosen = environment(TorchRuntime.NativeCacheVariable);
        if (!string.IsNullOrWhiteSpace(chosen))
        {
            return Path.GetFullPath(chosen);
        }

        // The XDG base-directory rule: a relative XDG_CACHE_HOME is invalid and is ignored.
        string? xdg = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "mlnet-bninception");
        }

        string? home = environment("HOME");
        if (!string.IsNullOrWhiteSpace(home))
        {
            return Path.Combine(home, ".cache", "mlnet-bninception");
        }

        throw new DllNotFoundException(
            $"TorchSharp's native library needs a fixed copy, and there is no folder to keep it in: HOME and XDG_CACHE_HOME are not set. " +
            $"Set {TorchRuntime.NativeCacheVariable} to a folder this process can write.");
    }

    /// <summary>
    /// The library to load for <paramref name="source"/>: <paramref name="source"/> itself when it
    /// needs none of <paramref name="missingVersions"/> strongly, else its fixed copy under
    /// <paramref name="cacheFolder"/>, reused when an earlier call made it, written now otherwise.
    /// <paramref name="source"/> is only read.
    /// </summary>
    /// <param name="source">The package's libLibTorchSharp.so.</param>
    /// <param name="torchSharpVersion">TorchSharp's package version, part of the copy's folder name.</param>
    /// <param name="cacheFolder">The cache folder (<see cref="CacheFolder"/>); created when missing.</param>
    /// <param name="missingVersions">The weakenable versions this machine's libstdc++ lacks.</param>
    /// <exception cref="IOException">The copy cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The cache folder cannot be written.</exception>
    /// <exception cref="InvalidDataException"><paramref name="source"/> is not a 64-bit little-endian ELF library.</exception>
    public static Loadable Prepare(string source, string torchSharpVersion, string cacheFolder, IReadOnlyCollection<string> missingVersions)
    {
        byte[] library = File.ReadAllBytes(source);
        string[] toWeaken = StrongNeeds(library, missingVersions);
        if (toWeaken.Length == 0)
        {
            return new Loadable(source, [], MadeNow: false);
        }

        string folder = Path.Combine(cacheFolder, CopiesFolder, $"{torchSharpVersion}-{Convert.ToHexStringLower(SHA256.HashData(library))[..16]}");
        string copy = Path.Combine(folder, Path.GetFileName(source));
        if (IsFixed(copy, toWeaken))
        {
            return new Loadable(copy, toWeaken, MadeNow: false);
        }

        ElfVersionNeeds.Weaken(library, LibStdCxx, toWeaken);
        Directory.CreateDirectory(folder);
        // Flushed before the rename: the copy is made once and then trusted on every start.
        AtomicFile.WriteAllBytes(copy, library, flushToDisk: true);
        return new Loadable(copy, toWeaken, MadeNow: true);
    }

    // The versions of libstdc++ among missingVersions that the library needs and has not marked weak.
    private static string[] StrongNeeds(byte[] library, IReadOnlyCollection<string> missingVersions) =>
        ElfVersionNeeds.Needs(library).Where(need => need.Library == LibStdCxx && !need.Weak && missingVersions.Contains(need.Version))
            .Select(need => need.Version).Distinct().ToArray();

    // An existing copy is reused only when it still reads as a library whose needs are now weak: a
    // file changed by hand, or cut short by a full disk outside this code, is made again.
    private static bool IsFixed(string copy, IReadOnlyCollection<string> versions)
    {
        if (!File.Exists(copy))
        {
            return false;
        }

        try
        {
            byte[] library = File.ReadAllBytes(copy);
            return ElfVersionNeeds.Needs(library).Any(need => need.Library == LibStdCxx && versions.Contains(need.Version)) &&
                   StrongNeeds(library, versions).Length == 0;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
