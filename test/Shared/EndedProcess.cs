using System.Diagnostics;
using System.Globalization;

namespace MLNet.BNInception.Tests;

/// <summary>Processes as Linux's /proc names them, for the tests of what a killed process leaves.</summary>
internal static class EndedProcess
{
    /// <summary>The id and start time of a process that ran and was killed (and reaped): one that provably no longer runs.</summary>
    public static (int Pid, ulong Start) Make()
    {
        using Process ended = Process.Start("sleep", "60");
        ulong start = StartTime(ended.Id);
        ended.Kill();
        ended.WaitForExit();
        return (ended.Id, start);
    }

    /// <summary>Field 22 of /proc/PID/stat: clock ticks after boot; the fields after the command's ')' start at field 3.</summary>
    public static ulong StartTime(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        return ulong.Parse(stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[19], CultureInfo.InvariantCulture);
    }
}
