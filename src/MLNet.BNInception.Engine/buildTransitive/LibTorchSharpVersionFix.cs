// One source, compiled three ways:
// - by MSBuild's RoslynCodeTaskFactory from MLNet.BNInception.Engine.targets: the task and the ELF
//   reader (so it targets netstandard2.0 and avoids newer APIs);
// - into the engine with BNINCEPTION_ELF_READER_ONLY: the reader alone, for TorchRuntime, which
//   makes a fixed copy at run time where no build step ran (notebooks, scripts);
// - into the engine's tests with BNINCEPTION_BUILD_TASK_ONLY: the task alone, over the engine's
//   reader (visible to them as an internal), so no test process holds two types of one name.
//
// Why it exists: TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and
// so lists GLIBCXX_3.4.32 among the versions it needs from libstdc++.so.6. Debian 12 ships GCC 12's
// libstdc++ (up to GLIBCXX_3.4.30), and the dynamic loader refuses the library. The only symbol of
// that version the library names is std::ios_base_library_init(), which GCC 13's <iostream> refers
// to from a .globl directive to pull in the stream initialisation; nothing relocates against it and
// nothing calls it. Marking the requirement weak (VER_FLG_WEAK in .gnu.version_r) turns the loader's
// error into nothing at all, and changes no other byte. Remove this file and its target once
// TorchSharp ships a library built against libstdc++ 3.4.30 or older, or Debian 12 is no longer
// supported.
#nullable disable
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
#if !BNINCEPTION_ELF_READER_ONLY
using Microsoft.Build.Framework;
#endif

namespace MLNet.BNInception.Build
{
#if !BNINCEPTION_ELF_READER_ONLY
    /// <summary>
    /// MSBuild task: marks the named libstdc++ version requirements of each file weak, but only those
    /// the machine's libstdc++ lacks. Files are rewritten through a temporary file and a rename, so a
    /// hard-linked copy never changes its source (the NuGet cache) and a crash never leaves half a file.
    /// </summary>
    public sealed class WeakenMissingLibStdCxxVersions : Microsoft.Build.Utilities.Task
    {
        /// <summary>The ELF files to fix (the copies of libLibTorchSharp.so in the output).</summary>
        [Required]
        public ITaskItem[] Files { get; set; }

        /// <summary>The version names that may be weakened, e.g. GLIBCXX_3.4.32; others are never touched.</summary>
        [Required]
        public string[] Versions { get; set; }

        /// <summary>The libstdc++.so.6 to check; empty to use the one this process loaded, else the usual folders.</summary>
        public string LibStdCxxPath { get; set; }

        public override bool Execute()
        {
            string libStdCxx = string.IsNullOrEmpty(LibStdCxxPath) ? ElfVersionNeeds.FindLoadedLibStdCxx() : LibStdCxxPath;
            if (libStdCxx == null)
            {
                Log.LogWarning("MLNet.BNInception: libstdc++.so.6 was not found, so TorchSharp's native library was left as it is.");
                return true;
            }

            HashSet<string> provided = ElfVersionNeeds.DefinedVersions(File.ReadAllBytes(libStdCxx));
            string[] missing = Versions.Where(version => !provided.Contains(version)).ToArray();
            if (missing.Length == 0)
            {
                Log.LogMessage(MessageImportance.Low, $"MLNet.BNInception: {libStdCxx} defines {string.Join(", ", Versions)}; nothing to fix.");
                return true;
            }

            foreach (ITaskItem item in Files)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    IList<string> weakened = ElfVersionNeeds.WeakenFile(path, "libstdc++.so.6", missing);
                    if (weakened.Count > 0)
                    {
                        Log.LogMessage(MessageImportance.Normal,
                            $"MLNet.BNInception: marked {string.Join(", ", weakened)} weak in {path}: {libStdCxx} lacks it and no code of the library calls it.");
                    }
                }
                catch (InvalidDataException error)
                {
                    Log.LogError($"MLNet.BNInception: cannot fix {path}: {error.Message}");
                }
            }

            return !Log.HasLoggedErrors;
        }
    }
#endif
#if !BNINCEPTION_BUILD_TASK_ONLY

    /// <summary>
    /// Reads and edits the GNU symbol-versioning sections of a 64-bit little-endian ELF file:
    /// .gnu.version_d (versions a library defines) and .gnu.version_r (versions a file needs).
    /// </summary>
    internal static class ElfVersionNeeds
    {
        private const uint SectionVersionDefinitions = 0x6ffffffd; // SHT_GNU_verdef
        private const uint SectionVersionNeeds = 0x6ffffffe;       // SHT_GNU_verneed
        private const ushort FlagWeak = 0x2;                       // VER_FLG_WEAK

        private static readonly string[] LibraryFolders =
        {
            "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
            "/lib64", "/usr/lib64", "/lib", "/usr/lib",
        };

        /// <summary>
        /// The libstdc++.so.6 the dynamic loader chose for this process (a .NET host links it), which
        /// is the one an application started the same way will get; else the first in the usual folders.
        /// </summary>
        public static string FindLoadedLibStdCxx()
        {
            try
            {
                foreach (string line in File.ReadLines("/proc/self/maps"))
                {
                    int start = line.IndexOf('/');
                    if (start >= 0 && (line.EndsWith("/libstdc++.so.6", StringComparison.Ordinal) || line.Contains("/libstdc++.so.6.")))
                    {
                        return line.Substring(start).Trim();
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }

            return LibraryFolders.Select(folder => Path.Combine(folder, "libstdc++.so.6")).FirstOrDefault(File.Exists);
        }

        /// <summary>The version names a shared library defines (its .gnu.version_d entries).</summary>
        public static HashSet<string> DefinedVersions(byte[] elf)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (Section section in Sections(elf).Where(s => s.Type == SectionVersionDefinitions))
            {
                Section strings = StringTable(elf, section);
                long entry = section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    ushort auxCount = U16(elf, entry + 6);
                    long aux = entry + U32(elf, entry + 12);
                    if (auxCount > 0)
                    {
                        names.Add(String(elf, strings, U32(elf, aux)));
                    }

                    uint next = U32(elf, entry + 16);
                    if (next == 0)
                    {
                        break;
                    }

                    entry += next;
                }
            }

            return names;
        }

        /// <summary>Every version requirement: the library it is needed from, its name, and whether it is weak.</summary>
        public static IList<(string Library, string Version, bool Weak)> Needs(byte[] elf) =>
            NeedEntries(elf).Select(need => (need.Library, need.Version, (need.Flags & FlagWeak) != 0)).ToList();

        /// <summary>
        /// Sets the weak flag on each requirement of <paramref name="library"/> named in
        /// <paramref name="versions"/>, in place in <paramref name="elf"/>; returns the names changed
        /// (none when they are weak already, or not needed at all).
        /// </summary>
        public static IList<string> Weaken(byte[] elf, string library, ICollection<string> versions)
        {
            var changed = new List<string>();
            foreach (NeedEntry need in NeedEntries(elf))
            {
                if (need.Library == library && versions.Contains(need.Version) && (need.Flags & FlagWeak) == 0)
                {
                    ushort flags = (ushort)(need.Flags | FlagWeak);
                    elf[need.FlagsOffset] = (byte)flags;
                    elf[need.FlagsOffset + 1] = (byte)(flags >> 8);
                    changed.Add(need.Version);
                }
            }

            return changed;
        }

        /// <summary>
        /// <see cref="Weaken"/> on a file. When something changes, the file is replaced through a
        /// temporary file and a rename, keeping its permissions and its modification time (so that an
        /// incremental build's copy step, which compares times and sizes, does not copy the unfixed
        /// library over it again).
        /// </summary>
        public static IList<string> WeakenFile(string path, string library, ICollection<string> versions)
        {
            byte[] elf = File.ReadAllBytes(path);
            IList<string> changed = Weaken(elf, library, versions);
            if (changed.Count == 0)
            {
                return changed;
            }

            DateTime modified = File.GetLastWriteTimeUtc(path);
            string temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                // The temporary file starts as a copy because .NET's File.Copy gives it the original's
                // mode on Unix, and netstandard2.0 (what MSBuild compiles this file against) has no
                // file-mode API; overwriting its contents keeps that mode.
                File.Copy(path, temporary);
                File.WriteAllBytes(temporary, elf);
                File.SetLastWriteTimeUtc(temporary, modified);
                // A rename over the original: atomic, and a hard link to the NuGet cache is
                // replaced, never written through.
                File.Replace(temporary, path, destinationBackupFileName: null);
            }
            finally
            {
                if (File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }

            return changed;
        }

        private struct Section
        {
            public uint Type;
            public long Offset;
            public long Size;
            public uint Link;
            public uint Info;
        }

        private struct NeedEntry
        {
            public string Library;
            public string Version;
            public ushort Flags;
            public long FlagsOffset;
        }

        private static IEnumerable<NeedEntry> NeedEntries(byte[] elf)
        {
            var entries = new List<NeedEntry>();
            foreach (Section section in Sections(elf).Where(s => s.Type == SectionVersionNeeds))
            {
                Section strings = StringTable(elf, section);
                long need = section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    ushort count = U16(elf, need + 2);
                    string library = String(elf, strings, U32(elf, need + 4));
                    long aux = need + U32(elf, need + 8);
                    for (int j = 0; j < count; j++)
                    {
                        entries.Add(new NeedEntry
                        {
                            Library = library,
                            Version = String(elf, strings, U32(elf, aux + 8)),
                            Flags = U16(elf, aux + 4),
                            FlagsOffset = aux + 4,
                        });
                        uint nextAux = U32(elf, aux + 12);
                        if (nextAux == 0)
                        {
                            break;
                        }

                        aux += nextAux;
                    }

                    uint next = U32(elf, need + 12);
                    if (next == 0)
                    {
                        break;
                    }

                    need += next;
                }
            }

            return entries;
        }

        private static List<Section> Sections(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            {
                throw new InvalidDataException("not an ELF file");
            }

            if (elf[4] != 2 || elf[5] != 1)
            {
                throw new InvalidDataException("not a 64-bit little-endian ELF file");
            }

            long headers = (long)U64(elf, 0x28);
            ushort size = U16(elf, 0x3a), count = U16(elf, 0x3c);
            if (headers == 0 || size < 64 || headers + ((long)size * count) > elf.Length)
            {
                throw new InvalidDataException("the ELF file has no usable section headers");
            }

            var sections = new List<Section>(count);
            for (int i = 0; i < count; i++)
            {
                long header = headers + ((long)i * size);
                var section = new Section
                {
                    Type = U32(elf, header + 4),
                    Offset = (long)U64(elf, header + 24),
                    Size = (long)U64(elf, header + 32),
                    Link = U32(elf, header + 40),
                    Info = U32(elf, header + 44),
                };
                if (section.Type != 8 /* SHT_NOBITS */ && (section.Offset < 0 || section.Offset + section.Size > elf.Length))
                {
                    throw new InvalidDataException($"section {i} lies outside the file (is it truncated?)");
                }

                sections.Add(section);
            }

            return sections;
        }

        private static Section StringTable(byte[] elf, Section owner)
        {
            List<Section> sections = Sections(elf);
            if (owner.Link >= sections.Count)
            {
                throw new InvalidDataException("a version section links to a missing string table");
            }

            return sections[(int)owner.Link];
        }

        private static string String(byte[] elf, Section table, uint offset)
        {
            long start = table.Offset + offset;
            long end = start;
            long limit = table.Offset + table.Size;
            while (end < limit && elf[end] != 0)
            {
                end++;
            }

            if (start >= limit || end >= limit)
            {
                throw new InvalidDataException("a version name lies outside its string table");
            }

            return Encoding.ASCII.GetString(elf, (int)start, (int)(end - start));
        }

        private static ushort U16(byte[] elf, long offset)
        {
            Check(elf, offset, 2);
            return (ushort)(elf[offset] | (elf[offset + 1] << 8));
        }

        private static uint U32(byte[] elf, long offset)
        {
            Check(elf, offset, 4);
            return (uint)(elf[offset] | (elf[offset + 1] << 8) | (elf[offset + 2] << 16) | (elf[offset + 3] << 24));
        }

        private static ulong U64(byte[] elf, long offset) => U32(elf, offset) | ((ulong)U32(elf, offset + 4) << 32);

        private static void Check(byte[] elf, long offset, int length)
        {
            if (offset < 0 || offset + length > elf.Length)
            {
                throw new InvalidDataException("the ELF file is truncated");
            }
        }
    }
#endif
}
