namespace MLNet.BNInception.Images;

/// <summary>
/// One pass over a <see cref="InvalidImagePolicy.Skip"/> view: a single cursor, or the cursors of one cursor
/// set, whose counts it adds up and reports once, when the last of them ends or is disposed. Thread-safe.
/// </summary>
internal sealed class ImageLoadingPass
{
    private readonly ImageLoadingReporter _reporter;
    private int _openCursors;
    private long _rowsRead;
    private long _rowsSkipped;
    private int _stoppedEarly;

    public ImageLoadingPass(ImageLoadingReporter reporter, int cursors)
    {
        _reporter = reporter;
        _openCursors = cursors;
    }

    /// <summary>One cursor of the pass is done; each cursor calls this exactly once.</summary>
    public void CursorEnded(long rowsRead, long rowsSkipped, bool completed)
    {
        Interlocked.Add(ref _rowsRead, rowsRead);
        Interlocked.Add(ref _rowsSkipped, rowsSkipped);
        if (!completed)
        {
            Interlocked.Exchange(ref _stoppedEarly, 1);
        }

        if (Interlocked.Decrement(ref _openCursors) == 0)
        {
            _reporter.PassEnded(new ImageLoadingPassSummary(
                Interlocked.Read(ref _rowsRead), Interlocked.Read(ref _rowsSkipped), Volatile.Read(ref _stoppedEarly) == 0));
        }
    }
}
