using System.Globalization;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Class names for a message: the first <see cref="Listed"/> and how many more there are, since a
/// message naming ImageNet's 1,000 classes was a line of tens of kilobytes. The trainer's messages and
/// the tool's share it.
/// </summary>
internal static class ClassNameList
{
    /// <summary>The most class names a message lists.</summary>
    public const int Listed = 20;

    /// <summary>"c0, c1, … and 980 more classes": the first <see cref="Listed"/> names, each as <paramref name="format"/> writes it, and how many more there are.</summary>
    public static string First(IReadOnlyList<string> names, Func<string, string>? format = null)
    {
        IEnumerable<string> listed = names.Take(Listed).Select(format ?? (name => name));
        return names.Count <= Listed
            ? string.Join(", ", listed)
            : string.Join(", ", listed) + string.Create(CultureInfo.InvariantCulture, $", … and {names.Count - Listed} more classes");
    }
}
