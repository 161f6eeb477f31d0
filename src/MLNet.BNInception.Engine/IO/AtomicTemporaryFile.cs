using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace MLNet.BNInception.Engine.IO;

/// <summary>
/// The names of <see cref="AtomicFile"/>'s temporary files, and the removal of those that a process
/// ended outright (<c>kill -9</c>, the OOM killer, a crash) left beside their targets: no one else
/// would ever remove them, and a model's is about 40 MB.
/// </summary>
/// <remarks>
/// <para>
/// On Linux the name is <c>NAME.PID-START-HOST.RANDOM.tmp</c>: the target's name, the writer's process
/// id and start time (<see cref="ProcessOwner"/>), 8 hex digits of the SHA-256 of the boot's id and
/// the process-id namespace, which the id and start time need to mean anything, and 16 random hex
/// digits. The owner is that short, not the 70 characters <c>TemporaryModelFolder</c> spells out,
/// because the target's own name is part of a file name of 255 bytes at most. Before a write, the
/// temporary files of its target with this HOST whose writer provably no longer runs are removed, if
/// they are plain files (not links, not folders). Anything else is left alone: other targets' files,
/// other machines' and boots', and the <c>NAME.&lt;32 hex digits&gt;.tmp</c> of earlier versions and of
/// writers where /proc cannot tell the owner, which is the name such a writer still gives and which
/// nothing removes.
/// </para>
/// <para>
/// A target's name too long to leave room for the rest (over 193 bytes in UTF-8) stands in the
/// temporary name as its first bytes, <c>~</c> and 8 hex digits of its hash, so that it can still be
/// written; before, such a write failed.
/// </para>
/// <para>
/// A folder is listed once a minute at most by a process, not at each write: writing the demo's
/// 60,000 images into one folder would otherwise list 60,000 names 60,000 times. The temporary files
/// found are kept by target, and each write of a target judges its own. So an orphan that appears
/// after a process listed the folder is removed by that process only after the minute, or by the
/// next process that writes its target.
/// </para>
/// </remarks>
internal static partial class AtomicTemporaryFile
{
    private const int LongestName = 255;

    // "." PID (an int) "-" START (a ulong) "-" HOST "." RANDOM ".tmp": the most a name adds to its target's.
    private const int LongestSuffix = 1 + 10 + 1 + 20 + 1 + 8 + 1 + 16 + 4;

    // Plenty of names in a folder, and each listing is one read of it: nothing to keep long.
    private const int ListingsKept = 256;

    private static readonly TimeSpan ListingLifetime = TimeSpan.FromMinutes(1);

    /// <summary>8 hex digits for this boot and namespace; null where /proc cannot tell the owner.</summary>
    private static readonly string? Host = ProcessOwner.StartOfThisProcess is null ? null
        : Hash($"{ProcessOwner.BootId}/{ProcessOwner.PidNamespace}");

    private static readonly string? Owner = ProcessOwner.StartOfThisProcess is ulong start
        ? string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{start}-{Host}")
        : null;

    private static readonly Dictionary<string, Listing> Listings = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>A new name for a temporary file of <paramref name="target"/> (a full path), beside it.</summary>
    public static string NewFor(string target)
    {
        string name = Path.GetFileName(target);
        string unique = Owner is null ? Guid.NewGuid().ToString("N") : $"{Owner}.{RandomNumberGenerator.GetHexString(16, lowercase: true)}";
        return $"{target[..^name.Length]}{StemOf(name)}.{unique}.tmp";
    }

    /// <summary>
    /// Deletes the temporary files of <paramref name="target"/> (a full path) that processes which
    /// provably no longer run left; never fails, since the write itself must not.
    /// </summary>
    public static void RemoveOrphansOf(string target)
    {
        string? folder = Path.GetDirectoryName(target);
        if (Host is null || folder is null)
        {
            return;
        }

        string stem = StemOf(Path.GetFileName(target));
        lock (Gate)
        {
            if (!Listings.TryGetValue(folder, out Listing? listing) || Stopwatch.GetElapsedTime(listing.ListedAt) > ListingLifetime)
            {
                if (Listings.Count >= ListingsKept)
                {
                    Listings.Clear();
                }

                listing = new Listing(Stopwatch.GetTimestamp(), List(folder));
                Listings[folder] = listing;
            }

            if (listing.ByStem.TryGetValue(stem, out List<Written>? written))
            {
                // A running writer's file stays in the list: a later write may find that writer ended.
                written.RemoveAll(IsDoneWith);
            }
        }
    }

    // The temporary files of this HOST in folder, by their target's stem.
    private static Dictionary<string, List<Written>> List(string folder)
    {
        var byStem = new Dictionary<string, List<Written>>(StringComparer.Ordinal);
        try
        {
            var options = new EnumerationOptions { MatchType = MatchType.Simple, AttributesToSkip = 0, IgnoreInaccessible = true };
            foreach (string path in Directory.EnumerateFiles(folder, "*.tmp", options))
            {
                Match owned = OwnedName().Match(Path.GetFileName(path));
                if (owned.Success && owned.Groups["host"].Value == Host
                    && int.TryParse(owned.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && ulong.TryParse(owned.Groups["start"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
                {
                    string stem = owned.Groups["stem"].Value;
                    if (!byStem.TryGetValue(stem, out List<Written>? written))
                    {
                        byStem[stem] = written = [];
                    }

                    written.Add(new Written(path, pid, start));
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder that cannot be read now: what was found is judged, the rest left.
        }

        return byStem;
    }

    // Whether a file is judged for good: gone, not a plain file (a link of that name is left alone,
    // whatever it points to, and so is a folder), or its writer ended and it is deleted.
    private static bool IsDoneWith(Written file)
    {
        try
        {
            var info = new FileInfo(file.Path);
            if (!info.Exists || info.LinkTarget is not null)
            {
                return true;
            }

            if (!ProcessOwner.HasEnded(file.Pid, file.Start))
            {
                return false;
            }

            info.Delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not ours to delete after all (another user's folder), or gone already: the write goes on.
        }

        return true;
    }

    // The target's name as its temporary files start: itself, or, when the rest would not fit in a
    // file name, its first bytes (whole characters), "~" and 8 hex digits of its hash.
    private static string StemOf(string name)
    {
        if (Encoding.UTF8.GetByteCount(name) + LongestSuffix <= LongestName)
        {
            return name;
        }

        int room = LongestName - LongestSuffix - 9, bytes = 0, length = 0;
        foreach (Rune rune in name.EnumerateRunes())
        {
            if (bytes + rune.Utf8SequenceLength > room)
            {
                break;
            }

            bytes += rune.Utf8SequenceLength;
            length += rune.Utf16SequenceLength;
        }

        return $"{name[..length]}~{Hash(name)}";
    }

    // A hash the same in every process and version, unlike string.GetHashCode.
    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];

    [GeneratedRegex(@"^(?<stem>[\s\S]+)\.(?<pid>[0-9]{1,10})-(?<start>[0-9]{1,20})-(?<host>[0-9a-f]{8})\.[0-9a-f]{16}\.tmp\z")]
    private static partial Regex OwnedName();

    private sealed record Listing(long ListedAt, Dictionary<string, List<Written>> ByStem);

    private readonly record struct Written(string Path, int Pid, ulong Start);
}
