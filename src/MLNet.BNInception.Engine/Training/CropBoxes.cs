using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Where each image of a batch is cut, and whether it is mirrored: torchvision's RandomResizedCrop
/// rule for every image at once, computed on the batch's device with nothing read back to the host
/// (docs/engine.md, "Augmentation on the device"). Each tensor holds N values; the boxes are whole
/// numbers in float64, so that they equal the rule computed in double precision on the host.
/// </summary>
/// <param name="Top">First row of each crop.</param>
/// <param name="Left">First column of each crop.</param>
/// <param name="Height">Rows in each crop, at least 1.</param>
/// <param name="Width">Columns in each crop, at least 1.</param>
/// <param name="Flip">Whether each crop is mirrored left to right (bool).</param>
internal sealed record CropBoxes(Tensor Top, Tensor Left, Tensor Height, Tensor Width, Tensor Flip)
{
    /// <summary>The attempts at a random box before the central fallback, as torchvision makes them.</summary>
    public const int CropAttempts = 10;

    /// <summary>
    /// Uniform draws per image: four an attempt (area, log-ratio, top, left) and one for the flip,
    /// drawn whether or not they are used, so the generator advances the same way whatever the images.
    /// </summary>
    public const int DrawsPerImage = (CropAttempts * 4) + 1;

    /// <summary>
    /// Draws boxes for <paramref name="count"/> images of <paramref name="height"/> ×
    /// <paramref name="width"/> pixels. The draws come from <paramref name="generator"/>, a CPU
    /// generator (a training run's own, the one its checkpoint saves, so a resumed run cuts the same
    /// crops on any device), or from libtorch's global one when it is null; the
    /// <paramref name="count"/> × 41 numbers go to <paramref name="device"/> without waiting for it,
    /// and every step after that runs there. The tensors belong to the caller's dispose scope.
    /// </summary>
    public static CropBoxes Draw(long count, long height, long width, AugmentationOptions options, Device device, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The draws are in ordinary (pageable) host memory, which CUDA stages before the copy call
        // returns, so they may be freed at once; on the CPU the copy is the tensor itself.
        Tensor draws = rand([count, DrawsPerImage], generator: generator).to(device, non_blocking: true).to_type(ScalarType.Float64);
        Tensor attempts = draws.narrow(1, 0, CropAttempts * 4).view(count, CropAttempts, 4);
        double logRatioMin = Math.Log(options.CropAspectRatio.Min), logRatioMax = Math.Log(options.CropAspectRatio.Max);
        using Scalar area = ((double)height * width).ToScalar();
        using Scalar scaleMin = options.CropScale.Min.ToScalar(), scaleSpan = (options.CropScale.Max - options.CropScale.Min).ToScalar();
        using Scalar ratioMin = logRatioMin.ToScalar(), ratioSpan = (logRatioMax - logRatioMin).ToScalar();
        using Scalar zero = 0.ToScalar(), one = 1.ToScalar(), half = 0.5.ToScalar();
        using Scalar rows = height.ToScalar(), columns = width.ToScalar();
        using Scalar rowsAndOne = (height + 1).ToScalar(), columnsAndOne = (width + 1).ToScalar();

        // N × 10 attempts: an area drawn uniformly in the scale range, a ratio log-uniformly in the
        // ratio range, and the box's sides rounded half to even, as Python's round does.
        Tensor targetArea = attempts.select(2, 0).mul(scaleSpan).add_(scaleMin, one).mul_(area);
        Tensor ratio = attempts.select(2, 1).mul(ratioSpan).add_(ratioMin, one).exp_();
        Tensor cropWidth = targetArea.mul(ratio).sqrt_().round_();
        Tensor cropHeight = targetArea.div(ratio).sqrt_().round_();
        Tensor fits = cropWidth.gt(zero).logical_and_(cropHeight.gt(zero)).logical_and_(cropWidth.le(columns)).logical_and_(cropHeight.le(rows));

        // A box that fits is placed uniformly: each of the (side − crop + 1) offsets equally likely.
        Tensor top = attempts.select(2, 2).mul(cropHeight.neg().add_(rowsAndOne, one)).floor_().minimum(cropHeight.neg().add_(rows, one));
        Tensor left = attempts.select(2, 3).mul(cropWidth.neg().add_(columnsAndOne, one)).floor_().minimum(cropWidth.neg().add_(columns, one));

        // The first attempt that fits, found without a loop: the only fitting attempt whose running
        // count of fitting attempts is one. Where none fits, every attempt is masked out.
        Tensor notChosen = fits.logical_and(fits.cumsum(1).eq(one)).logical_not_();
        Tensor noneFits = fits.any(1).logical_not_();
        (long fallbackTop, long fallbackLeft, long fallbackHeight, long fallbackWidth) = CentralFallback(height, width, options.CropAspectRatio);
        using Scalar centralTop = fallbackTop.ToScalar(), centralLeft = fallbackLeft.ToScalar();
        using Scalar centralHeight = fallbackHeight.ToScalar(), centralWidth = fallbackWidth.ToScalar();
        Tensor flip = options.HorizontalFlip
            ? draws.select(1, DrawsPerImage - 1).lt(half)
            : zeros([count], ScalarType.Bool, device);
        return new CropBoxes(
            Chosen(top, notChosen, zero).masked_fill_(noneFits, centralTop),
            Chosen(left, notChosen, zero).masked_fill_(noneFits, centralLeft),
            Chosen(cropHeight, notChosen, zero).masked_fill_(noneFits, centralHeight),
            Chosen(cropWidth, notChosen, zero).masked_fill_(noneFits, centralWidth),
            flip);
    }

    /// <summary>
    /// The box taken when no attempt fits: the largest central crop whose ratio is within
    /// <paramref name="ratio"/>, the whole image when its own ratio is. It depends on the image's
    /// size only, so it is worked out here on the host, once for the batch. A side is kept at least
    /// one pixel, where torchvision's would round to nothing under an extreme ratio.
    /// </summary>
    public static (long Top, long Left, long Height, long Width) CentralFallback(long height, long width, (double Min, double Max) ratio)
    {
        double imageRatio = (double)width / height;
        long cropWidth = width, cropHeight = height;
        if (imageRatio < ratio.Min)
        {
            cropHeight = Math.Max(1, (long)Math.Round(width / ratio.Min));
        }
        else if (imageRatio > ratio.Max)
        {
            cropWidth = Math.Max(1, (long)Math.Round(height * ratio.Max));
        }

        return ((height - cropHeight) / 2, (width - cropWidth) / 2, cropHeight, cropWidth);
    }

    // One value per image: the chosen attempt's, or 0 where no attempt fitted. masked_fill rather
    // than a product, so that a value of no use (an infinite side from an extreme ratio) cannot
    // turn the sum into NaN.
    private static Tensor Chosen(Tensor perAttempt, Tensor notChosen, Scalar zero) =>
        perAttempt.masked_fill(notChosen, zero).sum(1);
}
