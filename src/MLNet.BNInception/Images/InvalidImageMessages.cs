using MLNet.BNInception.IO;

namespace MLNet.BNInception.Images;

/// <summary>The words for a row whose image cannot be loaded, the same in exceptions and in the log.</summary>
internal static class InvalidImageMessages
{
    /// <summary>The message of the <see cref="InvalidImageException"/> that <see cref="InvalidImagePolicy.Fail"/> throws.</summary>
    public static InvalidImageException Exception(long row, string column, string path, ImageReadFailure failure) => new(
        $"LoadImagesSafely cannot load the image of {Row(row)}, column '{column}', path '{FileNameBytes.Printable(path)}': {failure.Detail} [{failure.Reason}]. "
        + "Fix or remove the file, or load with InvalidImagePolicy.Skip to drop such rows.",
        row, column, path, failure.Reason, failure.Detail);

    /// <summary>The warning for a row that <see cref="InvalidImagePolicy.Skip"/> drops.</summary>
    public static SkippedImage Skipped(long row, string column, string path, ImageReadFailure failure) => new(
        row, path, failure.Reason,
        $"LoadImagesSafely skips {Row(row)}, column '{column}', path '{FileNameBytes.Printable(path)}': {failure.Detail} [{failure.Reason}].");

    /// <summary>
    /// The exception for a row this view kept in an earlier pass whose file no longer loads: dropping it now
    /// would give this pass different rows from the earlier ones.
    /// </summary>
    public static InvalidImageException ChangedSinceKept(long row, string column, string path, ImageReadFailure failure) => new(
        $"LoadImagesSafely cannot load the image of {Row(row)}, column '{column}', path '{FileNameBytes.Printable(path)}': {failure.Detail} [{failure.Reason}]. "
        + "An earlier pass over this data view loaded it, so the file changed while the data was in use; the row cannot be "
        + "skipped now, because every pass over a view must see the same rows. Restore the file, or transform the data again.",
        row, column, path, failure.Reason, failure.Detail);

    private static string Row(long row) => row >= 0 ? $"row {row} (counting from 0)" : "the input row";
}
