using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

public class AugmentationTests
{
    private static Tensor Ramp(int count) =>
        // Each image is a left-to-right ramp with its own offset, so flips and crops are visible.
        (arange(0, 8, dtype: ScalarType.Float32).reshape(1, 1, 1, 8).expand(count, 1, 8, 8)
         + arange(0, count, dtype: ScalarType.Float32).reshape(count, 1, 1, 1) * 100).contiguous();

    [Test]
    public void FlipsAboutHalfTheImagesAndLeavesTheRestUntouched()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor images = Ramp(200);
        manual_seed(3);
        Tensor augmented = ImageAugmenter.Augment(images, new AugmentationOptions { CropScale = (1, 1), CropAspectRatio = (1, 1) });
        int flipped = 0;
        for (int i = 0; i < 200; i++)
        {
            float[] row = augmented[i, 0].select(0, 0).data<float>().ToArray();
            float[] original = images[i, 0].select(0, 0).data<float>().ToArray();
            if (row.SequenceEqual(original.Reverse()))
            {
                flipped++;
            }
            else
            {
                Assert.That(row, Is.EqualTo(original), $"image {i} is neither itself nor its mirror");
            }
        }

        Assert.That(flipped, Is.InRange(70, 130));
    }

    [Test]
    public void CropsStayInsideTheImageAndAreSeeded()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor images = Ramp(50);
        var options = new AugmentationOptions { CropScale = (0.25, 0.5), HorizontalFlip = false };
        manual_seed(9);
        float[] first = ImageAugmenter.Augment(images, options).data<float>().ToArray();
        manual_seed(9);
        float[] again = ImageAugmenter.Augment(images, options).data<float>().ToArray();
        Assert.That(again, Is.EqualTo(first));

        Tensor cropped = tensor(first, [50, 1, 8, 8]);
        for (int i = 0; i < 50; i++)
        {
            float[] values = cropped[i].data<float>().ToArray();
            // A crop of at most half the area, stretched back: values stay within the image's own
            // range, and never span all of it.
            Assert.That(values.Min(), Is.GreaterThanOrEqualTo((i * 100) - 1e-3));
            Assert.That(values.Max(), Is.LessThanOrEqualTo((i * 100) + 7 + 1e-3));
            Assert.That(values.Max() - values.Min(), Is.LessThan(7));
        }
    }
}
