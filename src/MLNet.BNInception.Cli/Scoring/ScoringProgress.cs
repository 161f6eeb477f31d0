namespace MLNet.BNInception.Cli.Scoring;

/// <summary>A scoring run's progress, reported after every batch written.</summary>
/// <param name="RowsDone">Rows of the shard in the output, those of earlier runs included.</param>
/// <param name="RowsInShard">Rows of the shard in the input.</param>
/// <param name="BadRows">Bad rows this run wrote.</param>
/// <param name="RowsPerSecond">This run's rate so far.</param>
internal sealed record ScoringProgress(long RowsDone, long RowsInShard, long BadRows, double RowsPerSecond);
