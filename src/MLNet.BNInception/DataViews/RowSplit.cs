using Microsoft.ML.Data;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// A seeded random split of a view's rows by their ids: a row is held out when the hash of its id
/// and the seed falls below <see cref="Fraction"/>. The same rows fall on the same side in every
/// pass and every order, so the view stays shufflable (ML.NET's TrainTestSplit adds a column that
/// makes it not).
/// </summary>
/// <param name="Seed">Chooses which rows are held out.</param>
/// <param name="Fraction">The share held out, in (0, 1).</param>
/// <param name="HeldOut">Keep the held-out rows (validation) rather than the others (training).</param>
internal sealed record RowSplit(ulong Seed, double Fraction, bool HeldOut)
{
    public bool Keeps(DataViewRowId id) => (Uniform(id) < Fraction) == HeldOut;

    // SplitMix64's finaliser over the id and the seed, to a double in [0, 1).
    private double Uniform(DataViewRowId id)
    {
        ulong z = id.Low ^ ((id.High << 32) | (id.High >> 32)) ^ (Seed * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }
}
