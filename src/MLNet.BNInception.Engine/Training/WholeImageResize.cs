using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Every image of a batch resized as a whole to S × S, for the network to see an image larger than
/// its input where nothing crops it: validation, evaluation, training without augmentation, the
/// scorer and the ONNX export (docs/engine.md, "Augmentation on the device"). The weights are the
/// augmenter's (<see cref="ImageAugmenter.AxisWeights"/>) for a box that covers the whole image and
/// is not mirrored, so the result is what <c>interpolate(images, mode: Bilinear,
/// align_corners: false, antialias: true)</c> gives. The weights are the same for every image, so
/// the resize is two matrix products: across columns by W × S, then across rows by S × H, which is
/// also how the ONNX export writes it.
/// </summary>
internal static class WholeImageResize
{
    /// <summary>
    /// <paramref name="images"/> (N × C × H × W, H and W at least <paramref name="side"/>) resized to
    /// N × C × <paramref name="side"/> × <paramref name="side"/>, in the images' type and on their
    /// device. Images already of that size are returned as they are, the same tensor, not a copy.
    /// </summary>
    public static Tensor ToSide(Tensor images, long side)
    {
        ArgumentNullException.ThrowIfNull(images);
        long height = images.size(2), width = images.size(3);
        if (height == side && width == side)
        {
            return images;
        }

        using DisposeScope scope = NewDisposeScope();
        (Tensor rows, Tensor columns) = Weights(height, width, side, images.dtype, images.device);
        // Across columns: the last dimension times W x S gives N x C x H x S; then S x H times each
        // image's H x S plane (matmul broadcasts the matrix over N and C) gives N x C x S x S.
        Tensor acrossColumns = images.matmul(columns.t());
        return rows.matmul(acrossColumns).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The two weight matrices of the resize: rows S × H and columns S × W, each row of either
    /// summing to one, in <paramref name="type"/> on <paramref name="device"/>. Output pixel (i, j)
    /// is Σ rows[i, y] · columns[j, x] · image[y, x]. The tensors belong to the caller's dispose scope.
    /// </summary>
    public static (Tensor Rows, Tensor Columns) Weights(long height, long width, long side, ScalarType type, Device device)
    {
        using DisposeScope scope = NewDisposeScope();
        // The box's numbers are filled in on the device: a tensor made there from an array is copied
        // blocking, which on a GPU waits for everything queued before it (a training step's work).
        using Scalar heightValue = ((double)height).ToScalar(), widthValue = ((double)width).ToScalar();
        Tensor start = zeros([1], ScalarType.Float64, device);
        Tensor rows = ImageAugmenter.AxisWeights(start, full([1], heightValue, ScalarType.Float64, device), height, side, type, mirrored: null);
        Tensor columns = ImageAugmenter.AxisWeights(start, full([1], widthValue, ScalarType.Float64, device), width, side, type, mirrored: null);
        return (rows.squeeze(0).MoveToOuterDisposeScope(), columns.squeeze(0).MoveToOuterDisposeScope());
    }
}
