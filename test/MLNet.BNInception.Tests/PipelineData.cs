using MLNet.BNInception.DemoData;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>Rows and data views for the pipeline tests: Fashion-MNIST images in memory, or as files listed in a CSV.</summary>
internal static class PipelineData
{
    public static readonly string[] ClassNames = [.. FashionMnist.ClassNames];

    /// <summary>A row of pixels as ExtractPixels would give them, and a text label.</summary>
    public sealed class PixelRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    /// <summary>The first <paramref name="count"/> images of a Fashion-MNIST split at 64×64 in [0, 1], with their class names.</summary>
    public static PixelRow[] FashionRows(string split, int count, int skip = 0)
    {
        (Tensor images, Tensor labels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, split, skip, count, 64);
        using (images)
        using (labels)
        {
            float[] pixels = images.data<float>().ToArray();
            long[] classes = labels.data<long>().ToArray();
            return Enumerable.Range(0, count).Select(i => new PixelRow
            {
                Features = pixels[(i * 64 * 64)..((i + 1) * 64 * 64)],
                Label = ClassNames[classes[i]],
            }).ToArray();
        }
    }

    /// <summary>The rows as a data view with the label mapped to a key (class names in class order).</summary>
    public static IDataView KeyedView(MLContext ml, IEnumerable<PixelRow> rows)
    {
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        IDataView keys = ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
        return ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys).Fit(view).Transform(view);
    }
}
