namespace MLNet.BNInception.Images;

/// <summary>
/// What one pass over a <see cref="InvalidImagePolicy.Skip"/> view did: one summary per cursor, or per
/// cursor set (the counts then add up its cursors), when the last of them ends or is disposed.
/// </summary>
/// <param name="RowsRead">Input rows the pass read, kept and skipped.</param>
/// <param name="RowsSkipped">Rows the pass dropped because their image cannot be loaded.</param>
/// <param name="Completed">True when every cursor of the pass reached the end of its input; false when one was disposed before.</param>
public sealed record ImageLoadingPassSummary(long RowsRead, long RowsSkipped, bool Completed);
