using Microsoft.ML.Data;

namespace MLNet.BNInception.Images;

/// <summary>
/// Whether each row of a <see cref="InvalidImagePolicy.Skip"/> view has a loadable image, decided once per
/// view and keyed by the input's row ID (which ML.NET's contract keeps the same for a row in every cursor of
/// a view, shuffled or not). It is what makes every cursor see the same rows, whichever columns it asks for
/// and even if a file changes between passes, and what lets a cursor without the image column skip rows
/// without opening their files again. About 36 bytes per row. Thread-safe.
/// </summary>
internal sealed class RowVerdictCache
{
    private readonly Dictionary<DataViewRowId, Verdict> _verdicts = [];
    private readonly Lock _lock = new();

    /// <summary>Whether a row's image loaded, and a hash of the path it was read from, to catch unstable row IDs.</summary>
    public readonly record struct Verdict(bool Loadable, int PathHash);

    /// <summary>The verdict already recorded for <paramref name="row"/>, if any.</summary>
    public bool TryGet(DataViewRowId row, out Verdict verdict)
    {
        lock (_lock)
        {
            return _verdicts.TryGetValue(row, out verdict);
        }
    }

    /// <summary>
    /// Records <paramref name="verdict"/> unless another cursor recorded one first; returns the verdict that
    /// holds, and whether it is this one.
    /// </summary>
    public Verdict Record(DataViewRowId row, Verdict verdict, out bool recorded)
    {
        lock (_lock)
        {
            recorded = _verdicts.TryAdd(row, verdict);
            return recorded ? verdict : _verdicts[row];
        }
    }
}
