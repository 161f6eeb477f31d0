using System.Runtime.Versioning;
using System.Security.Cryptography;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using MLNet.BNInception.Build;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The build step that marks libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak
/// (LibTorchSharpVersionFix.cs), run on copies of the library TorchSharp's package ships and checked
/// against binutils' readelf.
/// </summary>
[SupportedOSPlatform("linux")]
public class LibTorchSharpVersionFixTests
{
    private const ushort VerFlgWeak = 0x2; // elf.h

    private static string CopyOfOriginal(TemporaryDirectory folder, string name = "libLibTorchSharp.so")
    {
        string copy = folder.File(name);
        File.Copy(LibTorchSharpFiles.PackageOriginal, copy);
        return copy;
    }

    [Test]
    public void ReaderListsTheRequirementsReadelfLists()
    {
        List<ReadElf.Need> reference = ReadElf.Needs(LibTorchSharpFiles.PackageOriginal);
        IList<(string Library, string Version, bool Weak)> ours = ElfVersionNeeds.Needs(File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal));

        Assert.That(ours, Is.EqualTo(reference.Select(need => (need.Library, need.Version, need.Weak))));
        Assert.That(ours, Does.Contain((LibTorchSharpFiles.LibStdCxx, LibTorchSharpFiles.MissingVersion, false)),
            "TorchSharp's own library needs GLIBCXX_3.4.32, and not weakly: the reason the fix exists");
    }

    [Test]
    public void ReaderListsTheVersionsTheMachinesLibStdCxxDefinesAsReadelfDoes()
    {
        HashSet<string> ours = ElfVersionNeeds.DefinedVersions(File.ReadAllBytes(LibTorchSharpFiles.MachineLibStdCxx));

        Assert.That(ours, Is.EquivalentTo(ReadElf.DefinedVersions(LibTorchSharpFiles.MachineLibStdCxx)));
        Assert.That(ours, Does.Contain("GLIBCXX_3.4").And.Contain("CXXABI_1.3"), "every libstdc++ since GCC 3.4 defines these");
    }

    [Test]
    public void WeakeningACopyChangesOnlyTheFlagsOfThatRequirement()
    {
        using var folder = new TemporaryDirectory();
        string copy = CopyOfOriginal(folder);
        // A mode and time no copy step would give by chance, to see that both survive the rewrite.
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead;
        var modified = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetUnixFileMode(copy, mode);
        File.SetLastWriteTimeUtc(copy, modified);
        byte[] original = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);

        IList<string> changed = ElfVersionNeeds.WeakenFile(copy, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]);

        Assert.That(changed, Is.EqualTo(new[] { LibTorchSharpFiles.MissingVersion }));
        List<ReadElf.Need> before = ReadElf.Needs(LibTorchSharpFiles.PackageOriginal);
        List<ReadElf.Need> after = ReadElf.Needs(copy);
        ReadElf.Need target = before.Single(need => need.Library == LibTorchSharpFiles.LibStdCxx && need.Version == LibTorchSharpFiles.MissingVersion);
        Assert.That(after, Is.EqualTo(before.Select(need => need == target ? need with { Weak = true } : need)),
            "readelf sees that requirement, and only it, weak");

        byte[] patched = File.ReadAllBytes(copy);
        Assert.That(patched, Has.Length.EqualTo(original.Length));
        long[] differences = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).Select(i => (long)i).ToArray();
        Assert.That(differences, Is.Not.Empty.And.All.InRange(target.FlagsOffset, target.FlagsOffset + 1),
            $"only the two bytes of vna_flags at 0x{target.FlagsOffset:x} (where readelf puts that entry) differ");
        ushort flagsBefore = BitConverter.ToUInt16(original, (int)target.FlagsOffset);
        Assert.That(BitConverter.ToUInt16(patched, (int)target.FlagsOffset), Is.EqualTo(flagsBefore | VerFlgWeak));

        Assert.That(File.GetUnixFileMode(copy), Is.EqualTo(mode), "file mode kept");
        Assert.That(File.GetLastWriteTimeUtc(copy), Is.EqualTo(modified), "modification time kept, so an incremental build does not copy the original back");
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { copy }), "no temporary file left behind");
    }

    [Test]
    public void WeakeningTwiceChangesNothingTheSecondTime()
    {
        using var folder = new TemporaryDirectory();
        string copy = CopyOfOriginal(folder);
        ElfVersionNeeds.WeakenFile(copy, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]);
        byte[] once = File.ReadAllBytes(copy);
        DateTime modified = File.GetLastWriteTimeUtc(copy);

        IList<string> changed = ElfVersionNeeds.WeakenFile(copy, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]);

        Assert.That(changed, Is.Empty);
        Assert.That(File.ReadAllBytes(copy), Is.EqualTo(once));
        Assert.That(File.GetLastWriteTimeUtc(copy), Is.EqualTo(modified));
    }

    [Test]
    public void WeakeningTouchesNoOtherLibraryOrVersion()
    {
        byte[] elf = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);
        byte[] untouched = (byte[])elf.Clone();

        // GLIBCXX_3.4.32 from another library, and a version this one does not need at all.
        Assert.That(ElfVersionNeeds.Weaken(elf, "libc.so.6", [LibTorchSharpFiles.MissingVersion]), Is.Empty);
        Assert.That(ElfVersionNeeds.Weaken(elf, LibTorchSharpFiles.LibStdCxx, ["GLIBCXX_3.4.99"]), Is.Empty);
        Assert.That(elf, Is.EqualTo(untouched));
    }

    [Test]
    public void WeakeningAHardLinkedCopyLeavesTheFileItIsLinkedToAlone()
    {
        // MSBuild can hard-link copy-local files to the NuGet cache (CreateHardLinksForCopyLocalIfPossible);
        // writing the copy in place would then change the cache's file for every project on the machine.
        using var folder = new TemporaryDirectory();
        string cached = CopyOfOriginal(folder, "cached.so");
        string output = folder.File("libLibTorchSharp.so");
        ExternalProcess.Run("ln", [cached, output]).AssertSucceeded();
        byte[] originalHash = SHA256.HashData(File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal));

        ElfVersionNeeds.WeakenFile(output, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]);

        Assert.That(LibTorchSharpFiles.MissingVersionNeed(output).Weak, Is.True);
        Assert.That(SHA256.HashData(File.ReadAllBytes(cached)), Is.EqualTo(originalHash), "the linked file is unchanged");
        Assert.That(SHA256.HashData(File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal)), Is.EqualTo(originalHash));
    }

    [Test]
    public void TheNuGetCachesLibraryIsUntouchedByTheBuild()
    {
        // This test project's build ran the step on the copy beside it; the package's file must still
        // be as TorchSharp ships it, requirement strong, whatever this machine's libstdc++.
        Assert.That(ReadElf.Needs(LibTorchSharpFiles.PackageOriginal).Single(need => need.Version == LibTorchSharpFiles.MissingVersion).Weak, Is.False);
    }

    [Test]
    public void RefusesWhatIsNotA64BitLittleEndianElfFile()
    {
        byte[] original = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);
        byte[] bigEndian = (byte[])original.Clone();
        bigEndian[5] = 2; // EI_DATA = ELFDATA2MSB
        byte[] thirtyTwoBit = (byte[])original.Clone();
        thirtyTwoBit[4] = 1; // EI_CLASS = ELFCLASS32
        var inputs = new Dictionary<string, byte[]>
        {
            ["empty"] = [],
            ["text"] = System.Text.Encoding.ASCII.GetBytes("#!/bin/sh\necho this is not a shared library, but it is long enough to have an ELF header\n"),
            ["header only"] = original[..64],
            ["first half"] = original[..(original.Length / 2)],
            ["all but the last byte"] = original[..^1],
            ["big-endian"] = bigEndian,
            ["32-bit"] = thirtyTwoBit,
        };

        foreach ((string what, byte[] elf) in inputs)
        {
            Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Needs(elf), what);
            Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.DefinedVersions(elf), what);
            Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Weaken(elf, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]), what);
        }

        using var folder = new TemporaryDirectory();
        string truncated = folder.File("libLibTorchSharp.so");
        File.WriteAllBytes(truncated, inputs["first half"]);
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.WeakenFile(truncated, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion]));
        Assert.That(File.ReadAllBytes(truncated), Is.EqualTo(inputs["first half"]), "a refused file is left as it was");
    }

    [Test]
    public void CorruptHeadersOrVersionEntriesAreRefusedWithInvalidDataOnly()
    {
        // The MSBuild task turns InvalidDataException into an error that names the file; anything else
        // would surface as MSBuild's "task failed unexpectedly" with a stack trace.
        byte[] original = File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal);
        long sectionHeaders = BitConverter.ToInt64(original, 0x28); // e_shoff
        int headersLength = BitConverter.ToUInt16(original, 0x3a) * BitConverter.ToUInt16(original, 0x3c); // e_shentsize × e_shnum
        List<ReadElf.Need> needs = ReadElf.Needs(LibTorchSharpFiles.PackageOriginal);
        long needsStart = needs.Min(need => need.FlagsOffset) - 4 - 16; // the first Elf64_Verneed precedes its first Elf64_Vernaux
        long needsEnd = needs.Max(need => need.FlagsOffset) - 4 + 16;
        (long Start, long Length)[] regions = [(0x28, 0x40 - 0x28), (sectionHeaders, headersLength), (needsStart, needsEnd - needsStart)];
        uint[] awkward = [0, 1, 8, 0x10, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
        var random = new Random(20260507);
        byte[] elf = new byte[original.Length];

        for (int trial = 0; trial < 400; trial++)
        {
            original.CopyTo(elf, 0);
            var edits = new List<string>();
            for (int edit = random.Next(1, 4); edit > 0; edit--)
            {
                (long start, long length) = regions[random.Next(regions.Length)];
                int at = (int)(start + (random.NextInt64(length - 4) & ~1L));
                uint value = random.Next(2) == 0 ? awkward[random.Next(awkward.Length)] : (uint)random.NextInt64(1L << 32);
                BitConverter.TryWriteBytes(elf.AsSpan(at, 4), value);
                edits.Add($"0x{at:x}=0x{value:x}");
            }

            foreach ((string what, Action read) in new (string, Action)[]
                     {
                         ("Needs", () => ElfVersionNeeds.Needs(elf)),
                         ("DefinedVersions", () => ElfVersionNeeds.DefinedVersions(elf)),
                         ("Weaken", () => ElfVersionNeeds.Weaken(elf, LibTorchSharpFiles.LibStdCxx, [LibTorchSharpFiles.MissingVersion])),
                     })
            {
                try
                {
                    read();
                }
                catch (InvalidDataException)
                {
                }
                catch (Exception error)
                {
                    Assert.Fail($"{what} after writing {string.Join(", ", edits)} threw {error.GetType().Name} rather than InvalidDataException: {error}");
                }
            }
        }
    }

    [Test]
    public void TaskWeakensOnlyTheVersionsTheGivenLibStdCxxLacks()
    {
        using var folder = new TemporaryDirectory();
        string lacking = LibStdCxxVariant(folder, defines: false);
        string having = LibStdCxxVariant(folder, defines: true);
        string first = CopyOfOriginal(folder, "first.so");
        string second = CopyOfOriginal(folder, "second.so");

        RecordingBuildEngine notNeeded = RunTask([first], [LibTorchSharpFiles.MissingVersion], having, expectSuccess: true);
        Assert.That(File.ReadAllBytes(first), Is.EqualTo(File.ReadAllBytes(LibTorchSharpFiles.PackageOriginal)), "a libstdc++ with the version: nothing to fix");
        Assert.That(notNeeded.Errors.Concat(notNeeded.Warnings), Is.Empty);

        // GLIBCXX_3.4.30 is needed too, but defined by both libraries: the task must leave it alone.
        RunTask([first, second], [LibTorchSharpFiles.MissingVersion, "GLIBCXX_3.4.30"], lacking, expectSuccess: true);
        foreach (string path in new[] { first, second })
        {
            Assert.That(ReadElf.Needs(path).Where(need => need.Weak).Select(need => need.Version), Is.EqualTo(new[] { LibTorchSharpFiles.MissingVersion }), path);
        }
    }

    [Test]
    public void TaskReportsAFileItCannotFixAsAnErrorNamingIt()
    {
        using var folder = new TemporaryDirectory();
        string lacking = LibStdCxxVariant(folder, defines: false);
        string notElf = folder.File("libLibTorchSharp.so");
        File.WriteAllText(notElf, "not a shared library");

        RecordingBuildEngine engine = RunTask([notElf], [LibTorchSharpFiles.MissingVersion], lacking, expectSuccess: false);

        Assert.That(engine.Errors, Has.One.Contains(notElf).And.Contains("not an ELF file"));
    }

    private static RecordingBuildEngine RunTask(string[] files, string[] versions, string libStdCxx, bool expectSuccess)
    {
        var engine = new RecordingBuildEngine();
        var task = new WeakenMissingLibStdCxxVersions
        {
            BuildEngine = engine,
            Files = files.Select(file => (ITaskItem)new TaskItem(file)).ToArray(),
            Versions = versions,
            LibStdCxxPath = libStdCxx,
        };
        Assert.That(task.Execute(), Is.EqualTo(expectSuccess), string.Join("\n", engine.Errors));
        return engine;
    }

    /// <summary>
    /// The machine's libstdc++ renamed so that it does, or does not, define GLIBCXX_3.4.32 (whatever
    /// the machine has), so that both of the task's cases run on every machine; readelf confirms it.
    /// </summary>
    private static string LibStdCxxVariant(TemporaryDirectory folder, bool defines)
    {
        byte[] library = File.ReadAllBytes(LibTorchSharpFiles.MachineLibStdCxx);
        if (defines && !LibTorchSharpFiles.MachineHasMissingVersion)
        {
            // An older version takes GCC 13's name (same length, so nothing moves); 3.4.30 stays for the second case.
            Assert.That(LibTorchSharpFiles.ReplaceString(library, "GLIBCXX_3.4.29", LibTorchSharpFiles.MissingVersion), Is.GreaterThan(0));
        }
        else if (!defines && LibTorchSharpFiles.MachineHasMissingVersion)
        {
            Assert.That(LibTorchSharpFiles.ReplaceString(library, LibTorchSharpFiles.MissingVersion, "GLIBCXX_3.9.99"), Is.GreaterThan(0));
        }

        string path = folder.File(defines ? "libstdc++-with.so.6" : "libstdc++-without.so.6");
        File.WriteAllBytes(path, library);
        Assert.That(ReadElf.DefinedVersions(path).Contains(LibTorchSharpFiles.MissingVersion), Is.EqualTo(defines), path);
        Assert.That(ReadElf.DefinedVersions(path), Does.Contain("GLIBCXX_3.4.30"), "the task's second case needs a version both define");
        return path;
    }
}
