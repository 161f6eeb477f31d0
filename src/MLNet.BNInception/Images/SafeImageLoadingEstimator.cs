using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace MLNet.BNInception.Images;

/// <summary>
/// Loads images from the paths in a text column, safely: the <see cref="IEstimator{TTransformer}"/> behind
/// <c>mlContext.Transforms.LoadImagesSafely</c>, a companion to ML.NET's <see cref="ImageLoadingEstimator"/>
/// that learns nothing from the data (fitting only checks the schema).
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>Needs to look at the data to train</term><description>No</description></item>
/// <item><term>Input column type</term><description>Text (<see cref="TextDataViewType"/>): a path, absolute or relative to the image folder</description></item>
/// <item><term>Output column type</term><description><see cref="ImageDataViewType"/>, values <see cref="MLImage"/></description></item>
/// <item><term>Saved by <c>mlContext.Model.Save</c> as</term><description>ML.NET's <see cref="ImageLoadingTransformer"/> (see <see cref="SafeImageLoadingTransformer"/>)</description></item>
/// </list>
/// What each option does, and its default, is on <see cref="SafeImageLoadingOptions"/>; what the output view
/// does with bad files, and what it costs, on <see cref="SafeImageLoadingTransformer"/>.
/// </remarks>
public sealed class SafeImageLoadingEstimator : IEstimator<SafeImageLoadingTransformer>
{
    private readonly SafeImageLoadingTransformer _transformer;

    internal SafeImageLoadingEstimator(SafeImageLoadingOptions options)
    {
        _transformer = new SafeImageLoadingTransformer(options);
    }

    /// <summary>Checks that <paramref name="input"/> has the path column, as text, and returns the transformer.</summary>
    public SafeImageLoadingTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _transformer.FindPathColumn(input.Schema);
        return _transformer;
    }

    /// <summary>The input shape with the image column added; the path column must be a text scalar.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        string name = _transformer.InputColumnName;
        SchemaShape.Column? column = inputSchema.Where(c => c.Name == name).Select(c => (SchemaShape.Column?)c).LastOrDefault();
        if (column is not { } found)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"LoadImagesSafely reads image paths from the text column '{name}', which the input does not have; "
                + $"its columns are {string.Join(", ", inputSchema.Select(c => $"'{c.Name}'"))}.");
        }

        if (found.ItemType is not TextDataViewType || found.Kind != SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"LoadImagesSafely reads image paths from column '{name}', which holds {found.Kind} {found.ItemType}; it must be a single text value (String) per row.");
        }

        // SchemaShape.Column has no public constructor; ML.NET's own loader, with the same columns, states the
        // image column's shape exactly as ML.NET's image transforms expect it.
        return _transformer.MLNetImageLoader().GetOutputSchema(inputSchema);
    }
}
