using System.Collections.Concurrent;
using System.Globalization;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// The rows <c>--on-invalid-image skip</c> left out, counted by reason, for the summary: the loader's
/// <see cref="SafeImageLoadingOptions.ImageSkipped"/> callback reports each row once per view, on whichever
/// thread reads it.
/// </summary>
internal sealed class SkippedImages
{
    private readonly ConcurrentDictionary<InvalidImageReason, long> _byReason = new();

    public void Add(SkippedImage skipped) => _byReason.AddOrUpdate(skipped.Reason, 1, (_, count) => count + 1);

    /// <summary>The counts so far, most frequent reason first.</summary>
    public IReadOnlyList<(InvalidImageReason Reason, long Rows)> ByReason() =>
        [.. _byReason.Select(pair => (pair.Key, pair.Value)).OrderByDescending(pair => pair.Value).ThenBy(pair => pair.Key)];

    /// <summary>"3 Truncated, 1 FileNotFound": the reasons as the warnings name them.</summary>
    public static string Describe(IEnumerable<(InvalidImageReason Reason, long Rows)> byReason) =>
        string.Join(", ", byReason.Select(pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Rows} {pair.Reason}")));
}
