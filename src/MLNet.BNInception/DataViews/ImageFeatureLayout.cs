using Microsoft.ML.Data;
using Microsoft.ML;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// The image a features column holds, as ML.NET's <c>ExtractPixels</c> writes it: planar
/// (channels × height × width), 1 or 3 channels, a square side. Worked out from the column's type,
/// and checked against the trainer's settings before any row is read.
/// </summary>
internal sealed record ImageFeatureLayout(int Channels, int Side)
{
    public int Size => Channels * Side * Side;

    /// <summary>
    /// The layout of <paramref name="column"/> for images of side <paramref name="imageSize"/> (the
    /// trainer's ImageSize, checked by its options); the message of a mismatch names the column, what
    /// it is and what is expected.
    /// </summary>
    public static ImageFeatureLayout Of(DataViewSchema.Column column, int imageSize)
    {
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType } vector || vector.ItemType != NumberDataViewType.Single || !vector.IsKnownSize)
        {
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} is {column.Type}: a known-size vector of Single (pixels, as ExtractPixels writes them) is expected.");
        }

        long size = vector.Size;
        string expected = $"{3 * imageSize * imageSize} (3×{imageSize}×{imageSize}, colour) or {imageSize * imageSize} (1×{imageSize}×{imageSize}, grayscale)";
        if (vector.Dimensions.Length == 3 && vector.Dimensions[2] is 1 or 3 && vector.Dimensions[0] == vector.Dimensions[1] && vector.Dimensions[0] > 4)
        {
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} is {vector.Dimensions[0]}×{vector.Dimensions[1]}×{vector.Dimensions[2]} (height × width × channels): pixels interleaved. " +
                "BN-Inception reads planar pixels, channels first: leave ExtractPixels' interleavePixelColors at false.");
        }

        int channels = size == 3L * imageSize * imageSize ? 3 : size == (long)imageSize * imageSize ? 1 : 0;
        if (channels == 0)
        {
            string what = vector.Dimensions.Length == 3 ? $" ({string.Join("×", vector.Dimensions)})" : "";
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} has {size} values{what}: {expected} expected for ImageSize {imageSize}; set ImageSize to the images' side, " +
                $"or resize them to {imageSize}×{imageSize} with ResizeImages.");
        }

        if (vector.Dimensions.Length == 3 && (vector.Dimensions[0] != channels || vector.Dimensions[1] != imageSize || vector.Dimensions[2] != imageSize))
        {
            throw new ArgumentOutOfRangeException(null,
                $"{column.Name} is {string.Join("×", vector.Dimensions)}: {channels}×{imageSize}×{imageSize} (channels × height × width) expected for ImageSize {imageSize}.");
        }

        return new ImageFeatureLayout(channels, imageSize);
    }
}
