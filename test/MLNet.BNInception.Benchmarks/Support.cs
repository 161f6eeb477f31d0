using Microsoft.ML.Data;

namespace MLNet.BNInception.Benchmarks;

/// <summary>A row of pixels, as ExtractPixels hands them to the network: channels × side × side.</summary>
internal sealed class FeatureRow
{
    public float[] Features { get; set; } = [];

    public static SchemaDefinition Schema(int side)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, side, side);
        return schema;
    }
}

/// <summary>Deletes a temporary file when disposed.</summary>
internal sealed class Deleting(string path) : IDisposable
{
    public void Dispose() => File.Delete(path);
}

internal static class Memory
{
    /// <summary>The process's peak resident set so far (VmHWM), as PyTorch's side reads it too.</summary>
    public static long? PeakResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return null;
    }
}

/// <summary>What a measurement reports of its timed steps.</summary>
internal static class Rates
{
    /// <summary>
    /// The median of <paramref name="values"/>: the middle one, or the mean of the middle two for an
    /// even count (the upper of the two would favour the faster half).
    /// </summary>
    public static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
