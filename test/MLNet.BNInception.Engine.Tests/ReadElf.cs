using System.Globalization;
using System.Text.RegularExpressions;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// binutils' readelf reading the symbol-version sections: the independent reference for what our
/// own reader (ElfVersionNeeds) finds, and for where each requirement's flags lie in the file.
/// </summary>
internal static partial class ReadElf
{
    /// <summary>One vernaux entry of .gnu.version_r, as readelf prints it.</summary>
    public sealed record Need(string Library, string Version, bool Weak, long FlagsOffset);

    /// <summary>The names in .gnu.version_d (the base entry, the library's own name, included).</summary>
    public static HashSet<string> DefinedVersions(string path)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in Section(path, "version_d"))
        {
            Match definition = Definition().Match(line);
            if (definition.Success)
            {
                names.Add(definition.Groups[1].Value);
            }
        }

        Assert.That(names, Is.Not.Empty, $"readelf listed no version definitions in {path}");
        return names;
    }

    /// <summary>Every requirement in .gnu.version_r, in file order, with the file offset of its vna_flags.</summary>
    public static List<Need> Needs(string path)
    {
        var needs = new List<Need>();
        long sectionOffset = -1;
        string? library = null;
        foreach (string line in Section(path, "version_r"))
        {
            Match header = SectionOffset().Match(line);
            Match file = NeedFile().Match(line);
            Match entry = NeedEntry().Match(line);
            if (header.Success)
            {
                sectionOffset = long.Parse(header.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            else if (file.Success)
            {
                library = file.Groups[1].Value;
            }
            else if (entry.Success)
            {
                Assert.That(library, Is.Not.Null, $"readelf printed a requirement before its file: {line}");
                Assert.That(sectionOffset, Is.GreaterThan(0), $"readelf printed no offset for .gnu.version_r of {path}");
                long entryOffset = long.Parse(entry.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                // Elf64_Vernaux: vna_hash (4 bytes), then vna_flags (2 bytes).
                needs.Add(new Need(library!, entry.Groups[2].Value, entry.Groups[3].Value.Contains("WEAK", StringComparison.Ordinal),
                                   sectionOffset + entryOffset + 4));
            }
        }

        Assert.That(needs, Is.Not.Empty, $"readelf listed no version requirements in {path}");
        return needs;
    }

    // The lines of one of readelf -V's sections ("version_d", "version_r"), up to the next section.
    private static IEnumerable<string> Section(string path, string name)
    {
        string output = ExternalProcess.Run("readelf", ["--version-info", "--wide", path]).AssertSucceeded().Output;
        bool inside = false;
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith("Version ", StringComparison.Ordinal) && line.Contains(" section '", StringComparison.Ordinal))
            {
                inside = line.Contains($"'.gnu.{name}'", StringComparison.Ordinal);
            }
            else if (inside)
            {
                yield return line;
            }
        }
    }

    [GeneratedRegex(@"Rev: \d+\s+Flags: .+?\s+Index: \d+\s+Cnt: \d+\s+Name: (\S+)")]
    private static partial Regex Definition();

    [GeneratedRegex(@"^\s*Addr: 0x[0-9a-fA-F]+\s+Offset: 0x([0-9a-fA-F]+)")]
    private static partial Regex SectionOffset();

    [GeneratedRegex(@"^\s*[0-9a-fA-Fx]+: Version: \d+\s+File: (\S+)\s+Cnt: \d+")]
    private static partial Regex NeedFile();

    [GeneratedRegex(@"^\s*0x([0-9a-fA-F]+):\s+Name: (\S+)\s+Flags: (.+?)\s+Version: \d+")]
    private static partial Regex NeedEntry();
}
