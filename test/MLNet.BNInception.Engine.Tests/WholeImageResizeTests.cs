using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The whole-image resize that evaluation, training without augmentation and the scorer apply to
/// images larger than the network's input: against TorchSharp's antialiased bilinear interpolate,
/// and the scorer on larger images against the scorer on images resized beforehand.
/// </summary>
public class WholeImageResizeTests : SingleThreadedFixture
{
    private static Tensor Interpolated(Tensor images, long side) =>
        F.interpolate(images, [side, side], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);

    /// <summary>Taller and wider images, shrunk by different ratios on each axis, in either memory layout.</summary>
    [TestCase(100, 77, false)]
    [TestCase(100, 77, true)]
    [TestCase(70, 130, false)]
    [TestCase(70, 130, true)]
    public void ResizesAsInterpolateDoes(int height, int width, bool channelsLast)
    {
        const int side = 64;
        using DisposeScope scope = NewDisposeScope();
        manual_seed(31);
        Tensor images = rand([5, 3, height, width]);
        Tensor resized = WholeImageResize.ToSide(channelsLast ? ChannelsLast.Of(images) : images, side);
        Assert.That(resized.shape, Is.EqualTo(new long[] { 5, 3, side, side }));

        double worst = resized.sub(Interpolated(images, side)).abs().max().item<float>();
        TestContext.Out.WriteLine($"max |resize - interpolate| = {worst:G3}");
        Assert.That(worst, Is.LessThan(1e-5));
    }

    [Test]
    public void WeightsAreOneMatrixPerAxisWhoseRowsSumToOne()
    {
        using DisposeScope scope = NewDisposeScope();
        (Tensor rows, Tensor columns) = WholeImageResize.Weights(100, 77, 64, ScalarType.Float32, CPU);
        Assert.That(rows.shape, Is.EqualTo(new long[] { 64, 100 }));
        Assert.That(columns.shape, Is.EqualTo(new long[] { 64, 77 }));
        Assert.That(rows.sum(1).sub(ones(64)).abs().max().item<float>(), Is.LessThan(1e-6));
        Assert.That(columns.sum(1).sub(ones(64)).abs().max().item<float>(), Is.LessThan(1e-6));
    }

    [Test]
    public void ImagesOfTheSideAreReturnedAsTheyAre()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor images = rand([2, 3, 64, 64]);
        Assert.That(ReferenceEquals(WholeImageResize.ToSide(images, 64), images), "no copy is made");
    }

    /// <summary>The scorer resizes larger images, square or not, as interpolate does before it is called.</summary>
    [TestCase(96, 96)]
    [TestCase(80, 112)]
    public void ScorerOnLargerImagesScoresTheResizedImages(int height, int width)
    {
        using DisposeScope scope = NewDisposeScope();
        using BnInception model = TestModels.WithTrainedLikeBatchNorm(new BnInceptionOptions { InputSize = 64, NumClasses = 5 }, seed: 17);
        using var scorer = new BnInceptionScorer(model, new ScorerOptions { BatchSize = 3 });
        manual_seed(37);
        Tensor larger = rand([4, 3, height, width]);
        float[] direct = TestModels.Values(scorer.Logits(larger));
        float[] beforehand = TestModels.Values(scorer.Logits(Interpolated(larger, 64)));
        TestModels.AssertCloseToScale(direct, beforehand, "logits of larger images", relative: 1e-5);

        // And a different image would score differently: the comparison can tell.
        float[] other = TestModels.Values(scorer.Logits(Interpolated(larger.flip(3), 64)));
        Assert.That(other.Zip(beforehand, (a, b) => Math.Abs(a - b)).Max(), Is.GreaterThan(1e-3));
    }
}
