using System.Globalization;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// Which rows of the input one process scores when N processes split it: the rows are cut into
/// blocks of <see cref="BlockRows"/> consecutive rows, and shard K (counting from 0) takes blocks
/// K, K + N, K + 2N, …. Blocks, not single rows, keep each shard's output in runs that interleave
/// back into the unsharded order, and keep the network's batches the same as an unsharded run's
/// (a block is a whole number of batches), so the union of the shards' outputs is the unsharded
/// output, byte for byte.
/// </summary>
internal sealed record ShardSelection(int Index, int Count, int BlockRows)
{
    /// <summary>The whole input: one shard.</summary>
    public static ShardSelection All(int blockRows) => new(0, 1, blockRows);

    /// <summary>True for the row at <paramref name="rowIndex"/> (from 0, header not counted).</summary>
    public bool Contains(long rowIndex) => Count == 1 || (rowIndex / BlockRows) % Count == Index;

    /// <summary>Reads "K/N" with 0 ≤ K &lt; N; returns null and a reason when the text is not that.</summary>
    public static ShardSelection? Parse(string text, int blockRows, out string? error)
    {
        error = null;
        string[] parts = text.Split('/');
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count))
        {
            error = $"--shard '{text}' is not K/N (shard K of N, K counting from 0: 0/4, 1/4, 2/4, 3/4)";
            return null;
        }

        if (count < 1 || index >= count)
        {
            error = $"--shard {text}: K counts from 0 and must be below N (for 4 shards: 0/4 to 3/4)";
            return null;
        }

        return new ShardSelection(index, count, blockRows);
    }

    public override string ToString() => Count == 1 ? "all rows" : $"shard {Index}/{Count} (blocks of {BlockRows} rows)";
}
