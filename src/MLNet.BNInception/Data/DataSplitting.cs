using System.Collections;

namespace MLNet.BNInception.Data;

/// <summary>The train/test split's row assignment.</summary>
internal static class DataSplitting
{
    public static TrainTestData Hashed(IDataView data, double testFraction, string? keyColumnName, int seed)
    {
        string[] inputs = keyColumnName is null ? [] : [data.Schema[keyColumnName].Name];
        Func<DataViewRow, Func<bool>> IsTest()
        {
            return row =>
            {
                if (keyColumnName is null)
                {
                    return () => UnitInterval(seed, (ulong)row.Position) < testFraction;
                }

                Func<object?> key = RowValues.BoxedGetter(row, row.Schema[keyColumnName]);
                return () => UnitInterval(seed, StableHash(RowValues.Format(key(), int.MaxValue))) < testFraction;
            };
        }

        Func<DataViewRow, Func<bool>> isTest = IsTest();
        return new TrainTestData(
            new FilteredDataView(data, inputs, row => { Func<bool> test = isTest(row); return () => !test(); }),
            new FilteredDataView(data, inputs, isTest));
    }

    public static TrainTestData Stratified(IDataView data, double testFraction, string columnName, int seed)
    {
        DataViewSchema.Column column = data.Schema[columnName];
        var rowsByValue = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        long count = 0;
        using (DataViewRowCursor cursor = data.GetRowCursor([column]))
        {
            Func<object?> value = RowValues.BoxedGetter(cursor, column);
            while (cursor.MoveNext())
            {
                string key = RowValues.Format(value(), int.MaxValue);
                if (!rowsByValue.TryGetValue(key, out List<long>? rows))
                {
                    rowsByValue[key] = rows = [];
                }

                rows.Add(cursor.Position);
                count++;
            }
        }

        var test = new BitArray(checked((int)count));
        var random = new Random(seed);
        foreach (List<long> rows in rowsByValue.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => pair.Value))
        {
            long[] shuffled = [.. rows];
            random.Shuffle(shuffled);
            int take = (int)Math.Round(testFraction * shuffled.Length, MidpointRounding.AwayFromZero);
            foreach (long row in shuffled.Take(take))
            {
                test[(int)row] = true;
            }
        }

        return new TrainTestData(
            new FilteredDataView(data, [], row => () => !test[(int)row.Position]),
            new FilteredDataView(data, [], row => () => test[(int)row.Position]));
    }

    /// <summary>A uniform number in [0, 1) from a seed and a value (SplitMix64's finaliser).</summary>
    private static double UnitInterval(int seed, ulong value)
    {
        ulong z = value + ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>FNV-1a over the text, stable across runs and processes (string.GetHashCode is not).</summary>
    private static ulong StableHash(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
