using System.Globalization;
using Microsoft.ML.Data;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// Gives the fetched rows of a pass through ML.NET's shuffle pool (<c>ShuffleRows</c>, for a view that
/// cannot be read in any order) in the pool's order, which the pass's <see cref="PassPlan"/> read from the
/// rows' ids alone, while <see cref="NeededRowFetcher"/> fetches their values in the view's own order: a
/// row waits here from its fetch until its turn. ML.NET's pool gives at position k a row drawn from the
/// first k + P rows of its input (P: the pool's rows; the rows it has not given yet among those are its
/// pool), so a row is fetched at most P rows of the view ahead of its turn, and no more than P rows wait
/// here: fewer, since only the pass's own rows are fetched, where ML.NET's pool holds P rows of every
/// row's values on every rank. A view that gives other rows, or another order, to the fetching pass than
/// to the id pass would leave a row awaited forever, or more than P waiting: refused, naming the row.
/// </summary>
/// <param name="fetcher">Fetches the pass's rows over the view itself, in its own order.</param>
/// <param name="poolRows">The rows of ML.NET's pool that gave the plan's order.</param>
/// <param name="what">Names the data in messages ("training", "validation").</param>
internal sealed class PoolOrderedRows(NeededRowFetcher fetcher, int poolRows, string what)
{
    private readonly Dictionary<DataViewRowId, FetchedRow> _waiting = [];

    /// <summary>
    /// Row <paramref name="id"/>'s values, the row at <paramref name="position"/> of the pass's batches: the
    /// fetcher's rows before it wait for their turn. Raises the failure of a bad row fetched on the way.
    /// </summary>
    public FetchedRow Take(DataViewRowId id, int position, CancellationToken stop)
    {
        FetchedRow row;
        while (!_waiting.Remove(id, out row))
        {
            stop.ThrowIfCancellationRequested();
            if (!fetcher.TryNext(out FetchedRow fetched))
            {
                throw Refused(id, position, "reading the view in its own order to fetch the values ended without it");
            }

            if (!_waiting.TryAdd(fetched.Id, fetched))
            {
                throw Refused(id, position, string.Create(CultureInfo.InvariantCulture,
                    $"reading the view in its own order to fetch the values gave row {fetched.Id.Low} twice first"));
            }

            if (_waiting.Count > poolRows)
            {
                throw Refused(id, position, string.Create(CultureInfo.InvariantCulture,
                    $"reading the view in its own order to fetch the values has given {_waiting.Count} of the pass's rows that are due later and not it, where ML.NET's pool of {poolRows} rows gives each row within {poolRows} rows of reading it"));
            }
        }

        return row;
    }

    private InvalidOperationException Refused(DataViewRowId id, int position, string reason) => new(string.Create(CultureInfo.InvariantCulture,
        $"The {what} data's pass through ML.NET's shuffle pool gave row {id.Low} at row {position} of this pass's batches, reading the rows' ids alone, but {reason}: the view does not give the same rows in the same order each time it is read, and this pass reads the pool's order from the ids before it fetches the values of the rows it needs."));
}
