namespace MLNet.BNInception.Cli.Scoring;

/// <summary>What a scoring run did.</summary>
/// <param name="RowsInShard">The input's rows this run's shard holds.</param>
/// <param name="RowsAlreadyDone">Rows a resumed run found done in the output and did not score again.</param>
/// <param name="RowsWritten">Rows this run wrote.</param>
/// <param name="BadRows">Rows of <paramref name="RowsWritten"/> with an error instead of a prediction, by reason.</param>
/// <param name="Elapsed">From the first row read to the last row written.</param>
/// <param name="NetworkTime">The time the network spent scoring.</param>
/// <param name="Engine">The network's engine and settings.</param>
/// <param name="Interrupted">Stopped early by Ctrl-C or SIGTERM; the output holds whole batches and <c>--resume</c> continues it.</param>
internal sealed record ScoringSummary(long RowsInShard, long RowsAlreadyDone, long RowsWritten, IReadOnlyDictionary<RowErrorReason, long> BadRows,
    TimeSpan Elapsed, TimeSpan NetworkTime, string Engine, bool Interrupted)
{
    /// <summary>All bad rows.</summary>
    public long BadRowCount => BadRows.Values.Sum();

    /// <summary>Rows written per second.</summary>
    public double RowsPerSecond => Elapsed > TimeSpan.Zero ? RowsWritten / Elapsed.TotalSeconds : 0;
}
