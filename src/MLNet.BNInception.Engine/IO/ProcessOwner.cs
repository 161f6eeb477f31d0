using System.Globalization;

namespace MLNet.BNInception.Engine.IO;

/// <summary>
/// Whether the process that made a temporary file or folder still runs, as Linux's /proc tells it;
/// nothing anywhere else. A process is named by its id and its start time (clock ticks after boot: an
/// id used again by another process has another start time), which mean something only in the boot
/// and the process-id namespace they were read in: the names that hold them hold those too.
/// </summary>
internal static class ProcessOwner
{
    /// <summary>The start time of a process that does not exist.</summary>
    public const ulong Gone = ulong.MaxValue;

    /// <summary>The boot's id, 32 hex digits; null where /proc cannot tell.</summary>
    public static string? BootId { get; } = Read(() => File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim().Replace("-", "", StringComparison.Ordinal));

    /// <summary>The process-id namespace's inode, in digits (from the link <c>pid:[4026531836]</c>); null where /proc cannot tell.</summary>
    public static string? PidNamespace { get; } = Read(() => new FileInfo("/proc/self/ns/pid").LinkTarget?.Trim('p', 'i', 'd', ':', '[', ']'));

    /// <summary>
    /// This process's start time; null where /proc cannot tell the owner of anything (not Linux, a
    /// /proc of another namespace, or one that hides other users' processes): then no name says its
    /// owner, and nothing is judged.
    /// </summary>
    public static ulong? StartOfThisProcess { get; } =
        OperatingSystem.IsLinux() && ProcShowsThisNamespace() && ProcShowsEveryProcess()
        && BootId is { Length: 32 } && PidNamespace is { Length: > 0 }
        && StartTimeOf(Environment.ProcessId) is ulong start and not Gone
            ? start
            : null;

    /// <summary>
    /// Whether the process <paramref name="pid"/> that started at <paramref name="start"/> (in this
    /// boot and namespace) provably no longer runs: no process has that id, or the one that has it
    /// started at another time. False when /proc cannot tell.
    /// </summary>
    public static bool HasEnded(int pid, ulong start) => StartTimeOf(pid) switch
    {
        Gone => true,
        ulong running => running != start,
        null => false,
    };

    /// <summary>The start time of process <paramref name="pid"/> in clock ticks after boot; <see cref="Gone"/> when there is no such process; null when /proc cannot tell.</summary>
    public static ulong? StartTimeOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Gone;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A process that exits while its file is read is gone, but cannot be told from an
            // unreadable one: left for the next run.
            return null;
        }

        // The command name (field 2) is in parentheses and may hold spaces and parentheses
        // itself; the fields after its last ')' start at field 3, and the start time is field 22.
        string[] fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out ulong start) ? start : null;
    }

    // A /proc mounted for another pid namespace (unshare -p without --mount-proc, some sandboxes)
    // would answer for other processes than the ones our pids name: then nothing is judged.
    private static bool ProcShowsThisNamespace()
    {
        try
        {
            return new DirectoryInfo("/proc/self").LinkTarget == Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the /proc of <paramref name="mountInfo"/> (the lines of /proc/self/mountinfo; the last
    /// mount on /proc is the one seen) shows every user's processes. Mounted with hidepid=2
    /// (invisible) or 4 (ptraceable), another user's running process has no /proc entry and would
    /// look ended, and its files would be removed; with 1 (noaccess) its entry cannot be read. So any
    /// hidepid but 0 (off) is "cannot tell", as is a /proc that cannot be found.
    /// </summary>
    internal static bool ProcShowsEveryProcess(IEnumerable<string> mountInfo)
    {
        bool? showsEvery = null;
        foreach (string line in mountInfo)
        {
            // ID PARENT MAJOR:MINOR ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER-OPTIONS
            string[] fields = line.Split(' ');
            int separator = fields.Length > 6 ? Array.IndexOf(fields, "-", 6) : -1;
            if (fields.Length > 5 && fields[4] == "/proc" && separator > 0 && separator + 3 < fields.Length && fields[separator + 1] == "proc")
            {
                showsEvery = !$"{fields[5]},{fields[separator + 3]}".Split(',')
                    .Any(option => option.StartsWith("hidepid=", StringComparison.Ordinal) && option is not ("hidepid=0" or "hidepid=off"));
            }
        }

        return showsEvery ?? false;
    }

    private static bool ProcShowsEveryProcess()
    {
        try
        {
            return ProcShowsEveryProcess(File.ReadAllLines("/proc/self/mountinfo"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string? Read(Func<string?> read)
    {
        try
        {
            return OperatingSystem.IsLinux() ? read() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
