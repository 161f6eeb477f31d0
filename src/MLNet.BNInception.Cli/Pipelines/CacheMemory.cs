using System.Globalization;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// <c>train --cache</c> fills ML.NET's cache with every decoded image before the first step, 4 bytes per
/// value: 4 × channels × <c>--size</c>² bytes per row. ImageNet's 1.28M rows are some 21 GB at 64×64 in gray
/// and 770 GB at 224×224 in RGB, found out of memory only after the reading. The row count is known before
/// any image is read, so a cache larger than the memory available is refused then.
/// </summary>
internal static class CacheMemory
{
    /// <summary>The bytes the cache holds for <paramref name="rows"/> images: their pixels as floats (the least it holds).</summary>
    public static long Estimate(long rows, int channels, int side) => checked(rows * 4L * channels * side * side);

    /// <summary>MemAvailable of /proc/meminfo in bytes; null where it cannot be read (not Linux, or no such line).</summary>
    public static long? Available(string meminfo = "/proc/meminfo")
    {
        try
        {
            foreach (string line in File.ReadLines(meminfo))
            {
                // "MemAvailable:   16123456 kB"
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && line["MemAvailable:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries) is [string value, "kB"]
                    && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long kilobytes))
                {
                    return kilobytes * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }

    /// <summary>Refuses (exit code 2) a cache of <paramref name="rows"/> images larger than <paramref name="available"/> bytes; null: not known, not checked.</summary>
    public static void Check(TrainingSettings settings, long rows, long? available)
    {
        int channels = settings.Grayscale ? 1 : 3;
        long needed = Estimate(rows, channels, settings.ImageSize);
        if (available is { } free && needed > free)
        {
            string perRow = FormattableString.Invariant($"4 bytes × {channels} channel{(channels == 1 ? "" : "s")} × {settings.ImageSize}² per row");
            throw CommandLineException.BadArguments(
                $"--cache would hold the {rows.ToString(CultureInfo.InvariantCulture)} decoded images of '{Printable.Escaped(settings.TrainPath)}' in memory " +
                $"before the first step: about {Gigabytes(needed)} ({perRow}), more than the {Gigabytes(free)} this machine has available " +
                "(MemAvailable in /proc/meminfo). Drop --cache: each epoch then decodes the images again, still in a fresh order of all the rows");
        }
    }

    private static string Gigabytes(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F1} GB");
}
