namespace MLNet.BNInception.Images;

/// <summary>A row that <see cref="InvalidImagePolicy.Skip"/> dropped, as reported to the log and to <see cref="SafeImageLoadingOptions.ImageSkipped"/>.</summary>
/// <param name="Row">The row's position (from 0) in the order the cursor read its input: the input's own order unless the cursor was shuffled.</param>
/// <param name="Path">The path as the row holds it.</param>
/// <param name="Reason">Why the image cannot be loaded.</param>
/// <param name="Message">The warning written to the log: row, column, path and reason in words.</param>
public sealed record SkippedImage(long Row, string Path, InvalidImageReason Reason, string Message);
