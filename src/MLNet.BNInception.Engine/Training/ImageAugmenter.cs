using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Random resized crop and horizontal flip on a batch of N × C × H × W images, as torchvision's
/// RandomResizedCrop and RandomHorizontalFlip do them, computed where the batch is (the GPU when
/// training runs there) with nothing read back to the host: <see cref="CropBoxes"/> draws the boxes,
/// and two batched matrix products resample every box to S × S (docs/engine.md, "Augmentation on
/// the device").
/// </summary>
internal static class ImageAugmenter
{
    /// <summary>
    /// A new N × C × <paramref name="outputSize"/> × <paramref name="outputSize"/> batch, each image
    /// cropped and flipped on its own, with randomness from <paramref name="generator"/> (a CPU
    /// generator; null for libtorch's global one). The images may be larger than the output and need
    /// not be square; all share one size.
    /// </summary>
    public static Tensor Augment(Tensor images, AugmentationOptions options, long outputSize, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        using DisposeScope scope = NewDisposeScope();
        CropBoxes boxes = CropBoxes.Draw(images.size(0), images.size(2), images.size(3), options, images.device, generator);
        return Resample(images, boxes, outputSize).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each image's box resized to <paramref name="outputSize"/> × <paramref name="outputSize"/>, and
    /// mirrored where the box says so: for every image at once, what
    /// <c>interpolate(crop, mode: Bilinear, align_corners: false, antialias: true)</c> gives for its
    /// crop alone. Works in the images' type and on their device, for either memory layout.
    /// </summary>
    public static Tensor Resample(Tensor images, CropBoxes boxes, long outputSize)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(boxes);
        long count = images.size(0), channels = images.size(1), height = images.size(2), width = images.size(3);
        using DisposeScope scope = NewDisposeScope();
        Tensor rowWeights = AxisWeights(boxes.Top, boxes.Height, height, outputSize, images.dtype, mirrored: null);    // N x S x H
        Tensor columnWeights = AxisWeights(boxes.Left, boxes.Width, width, outputSize, images.dtype, boxes.Flip);    // N x S x W

        // Columns first, (C·H) rows of each image at a time: N x CH x W times N x W x S. The reshape is
        // a view of a contiguous batch, and one copy of a channels-last one.
        Tensor acrossColumns = images.reshape(count, channels * height, width)
            .bmm(columnWeights.transpose(1, 2))
            .view(count, channels, height, outputSize);                                                              // N x C x H x S

        // Then rows, one channel at a time, so that the row weights are shared by the channels
        // rather than copied for each (as a broadcasting matmul would): N x S x H times N x H x S.
        var planes = new Tensor[channels];
        for (long channel = 0; channel < channels; channel++)
        {
            planes[channel] = rowWeights.bmm(acrossColumns.select(1, channel));
        }

        return stack(planes, 1).MoveToOuterDisposeScope();                                                         // N x C x S x S
    }

    // One axis's weights, N x S x L for a source axis of L pixels: output position i of image n
    // takes source pixel j with a triangle filter centred where i falls in n's box, its support
    // widened by the box-to-output ratio when shrinking (so that every source pixel counts, which is
    // what antialiasing means), zero outside the box, and normalised so each output's weights sum to
    // one. This is how PyTorch's antialiased bilinear interpolate (and PIL) weigh pixels, in the same
    // order of operations. With mirrored, a flipped image's output positions run right to left.
    // WholeImageResize takes its weights from here too, so that evaluation resizes a larger image
    // with the very filter training crops it with.
    internal static Tensor AxisWeights(Tensor start, Tensor length, long sourceLength, long outputSize, ScalarType type, Tensor? mirrored)
    {
        Device device = start.device;
        using Scalar zero = 0.ToScalar(), one = 1.ToScalar(), half = 0.5.ToScalar();
        using Scalar outputs = outputSize.ToScalar(), sources = sourceLength.ToScalar();
        Tensor boxLength = length.to_type(type).unsqueeze(1);                                                      // N x 1
        Tensor scale = boxLength.div(outputs);                                                                     // box pixels per output pixel
        Tensor inverseSupport = scale.clamp_min(one).reciprocal_().unsqueeze(2);                                   // N x 1 x 1; 1 when enlarging
        Tensor position = arange(zero, outputs, one, type, device).unsqueeze(0);                                   // 1 x S
        if (mirrored is not null)
        {
            position = where(mirrored.unsqueeze(1), position.flip(1), position);                                   // N x S
        }

        Tensor centre = position.add(half, one).mul(scale);                                                        // N x S, in box coordinates
        Tensor offset = arange(zero, sources, one, type, device).unsqueeze(0).sub(start.to_type(type).unsqueeze(1)); // N x L, pixel j in box coordinates
        Tensor inside = offset.ge(zero).logical_and_(offset.lt(boxLength));
        Tensor weights = offset.unsqueeze(1).sub(centre.unsqueeze(2)).add_(half, one).mul_(inverseSupport)         // N x S x L
            .abs_().neg_().add_(one, one).clamp_min_(zero)
            .mul_(inside.unsqueeze(1));
        return weights.div_(weights.sum(2, keepdim: true));
    }
}
