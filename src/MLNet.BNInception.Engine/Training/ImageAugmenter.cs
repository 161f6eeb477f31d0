using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Training;

/// <summary>Random resized crop and horizontal flip on a batch of N × C × H × W images, as torchvision does them.</summary>
internal static class ImageAugmenter
{
    private const int CropAttempts = 10;
    private const int DrawsPerImage = (CropAttempts * 4) + 1;

    /// <summary>A new batch, each image independently distorted; randomness comes from libtorch's default generator.</summary>
    public static Tensor Augment(Tensor images, AugmentationOptions options)
    {
        long count = images.size(0), height = images.size(2), width = images.size(3);
        using DisposeScope scope = NewDisposeScope();
        // Every random number for the batch is drawn in one call, so the stream's use does not
        // depend on how many crop attempts succeed.
        float[] draws = rand([count, DrawsPerImage]).data<float>().ToArray();
        var outputs = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<float> u = draws.AsSpan(i * DrawsPerImage, DrawsPerImage);
            (long top, long left, long cropHeight, long cropWidth) = CropBox(height, width, u, options);
            Tensor image = images.narrow(0, i, 1);
            Tensor crop = image.narrow(2, top, cropHeight).narrow(3, left, cropWidth);
            Tensor resized = cropHeight == height && cropWidth == width
                ? crop.clone()
                : F.interpolate(crop, [height, width], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
            outputs[i] = options.HorizontalFlip && u[^1] < 0.5f ? resized.flip(3) : resized;
        }

        return cat(outputs).MoveToOuterDisposeScope();
    }

    private static (long Top, long Left, long Height, long Width) CropBox(long height, long width, ReadOnlySpan<float> u, AugmentationOptions options)
    {
        double area = height * width;
        double logMin = Math.Log(options.CropAspectRatio.Min), logMax = Math.Log(options.CropAspectRatio.Max);
        for (int attempt = 0; attempt < CropAttempts; attempt++)
        {
            double targetArea = area * (options.CropScale.Min + (u[attempt * 4] * (options.CropScale.Max - options.CropScale.Min)));
            double ratio = Math.Exp(logMin + (u[(attempt * 4) + 1] * (logMax - logMin)));
            long w = (long)Math.Round(Math.Sqrt(targetArea * ratio));
            long h = (long)Math.Round(Math.Sqrt(targetArea / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
            {
                long top = (long)(u[(attempt * 4) + 2] * (height - h + 1));
                long left = (long)(u[(attempt * 4) + 3] * (width - w + 1));
                return (Math.Min(top, height - h), Math.Min(left, width - w), h, w);
            }
        }

        // No attempt fitted: fall back to the largest central crop within the allowed ratios.
        double imageRatio = (double)width / height;
        long cropWidth = width, cropHeight = height;
        if (imageRatio < options.CropAspectRatio.Min)
        {
            cropHeight = (long)Math.Round(width / options.CropAspectRatio.Min);
        }
        else if (imageRatio > options.CropAspectRatio.Max)
        {
            cropWidth = (long)Math.Round(height * options.CropAspectRatio.Max);
        }

        return ((height - cropHeight) / 2, (width - cropWidth) / 2, cropHeight, cropWidth);
    }
}
