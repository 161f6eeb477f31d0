using Microsoft.ML.Transforms.Image;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Tests.Images;

/// <summary>The loader's schema: ML.NET's image type out; a missing or non-text path column, or a missing folder, named in the error.</summary>
public sealed class SafeImageLoadingSchemaTests
{
    public sealed class NumberRow
    {
        public float ImagePath { get; set; }
    }

    [Test]
    public void AddsAnImageColumnOfMLNetsImageType()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("a", "a.png"));

        DataViewSchema separate = mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, null, ImageRows.PathColumn).Fit(input).GetOutputSchema(input.Schema);
        DataViewSchema sameName = mlContext.Transforms.LoadImagesSafely(ImageRows.PathColumn, null).Fit(input).GetOutputSchema(input.Schema);

        Assert.That(separate[ImageRows.ImageColumn].Type, Is.EqualTo(new ImageDataViewType()));
        Assert.That(separate[ImageRows.PathColumn].Type, Is.EqualTo(TextDataViewType.Instance));
        Assert.That(sameName[ImageRows.PathColumn].Type, Is.EqualTo(new ImageDataViewType()), "as in ML.NET, the image column hides the path column of its name");
        Assert.That(sameName.Count(c => c.IsHidden), Is.EqualTo(1));
    }

    [Test]
    public void AMissingPathColumnIsNamedWithTheColumnsThereAre()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("a", "a.png"));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Transforms.LoadImagesSafely("Image", null, "Path").Fit(input))!;
        Assert.That(error.Message, Does.Contain("'Path'").And.Contain("'Name', 'ImagePath'"));
    }

    [Test]
    public void ANonTextPathColumnIsAnError()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = mlContext.Data.LoadFromEnumerable(new[] { new NumberRow() });

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => mlContext.Transforms.LoadImagesSafely("Image", null, "ImagePath").Fit(input))!;
        Assert.That(error.Message, Does.Contain("'ImagePath'").And.Contain("Single").And.Contain("must be a text column"));
    }

    [Test]
    public void AMissingImageFolderIsNamed()
    {
        var mlContext = new MLContext(seed: 1);
        string folder = Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<DirectoryNotFoundException>(() => mlContext.Transforms.LoadImagesSafely("Image", folder, "ImagePath"))!;
        Assert.That(error.Message, Does.Contain(folder));
    }

    [Test]
    public void APipelineAfterItChecksItsSchemaThroughIt()
    {
        // EstimatorChain.Fit propagates schemas through GetOutputSchema(SchemaShape) before fitting: ResizeImages
        // accepts what the loader says it outputs.
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("a", "a.png"));

        var pipeline = mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, null, ImageRows.PathColumn, InvalidImagePolicy.Skip)
            .Append(mlContext.Transforms.ResizeImages("Small", 4, 4, ImageRows.ImageColumn));

        Assert.That(pipeline.Fit(input).GetOutputSchema(input.Schema)["Small"].Type, Is.EqualTo(new ImageDataViewType(4, 4)));
        var wrongColumn = mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, null, "Name")
            .Append(mlContext.Transforms.ResizeImages("Small", 4, 4, "Missing"));
        Assert.That(() => wrongColumn.Fit(input), Throws.Exception.With.Message.Contain("Missing"));
    }
}
