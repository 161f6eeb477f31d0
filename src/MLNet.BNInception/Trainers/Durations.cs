using System.Globalization;

namespace MLNet.BNInception.Trainers;

/// <summary>How the trainer's log and the tool write a duration, days included.</summary>
internal static class Durations
{
    /// <summary>"40 d 13:48:17", "1:02:03" or "2:03": the whole seconds, with the days when there are any.</summary>
    public static string Format(TimeSpan duration)
    {
        // Whole seconds, rounded down, as TimeSpan's own formats write them; a negative span is none.
        duration = TimeSpan.FromSeconds(Math.Floor(Math.Max(duration.TotalSeconds, 0)));
        return duration.Days > 0
            ? duration.ToString(@"d\ \d\ hh\:mm\:ss", CultureInfo.InvariantCulture)
            : duration.TotalHours >= 1
                ? duration.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture)
                : duration.ToString(@"m\:ss", CultureInfo.InvariantCulture);
    }
}
