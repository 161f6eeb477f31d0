using MLNet.BNInception.Images;

namespace MLNet.BNInception.Tests.Images;

/// <summary>Builds the tests' input views and reads the loader's output back.</summary>
internal static class ImageRows
{
    public const string PathColumn = "ImagePath";
    public const string ImageColumn = "Image";

    public static IDataView Load(MLContext mlContext, params (string Name, string Path)[] rows) =>
        mlContext.Data.LoadFromEnumerable(rows.Select(row => new ImageRow { Name = row.Name, ImagePath = row.Path }).ToList());

    public static SafeImageLoadingTransformer Loader(MLContext mlContext, string folder, InvalidImagePolicy policy, IDataView input) =>
        mlContext.Transforms.LoadImagesSafely(ImageColumn, folder, PathColumn, policy, log: mlContext).Fit(input);

    /// <summary>The Name of every row a cursor over <paramref name="view"/> gives, asking for the image column only if <paramref name="withImage"/>.</summary>
    public static List<string> Names(IDataView view, bool withImage, Random? shuffle = null)
    {
        DataViewSchema.Column name = view.Schema["Name"];
        DataViewSchema.Column[] columns = withImage ? [name, view.Schema[ImageColumn]] : [name];
        using DataViewRowCursor cursor = view.GetRowCursor(columns, shuffle);
        return ReadNames(cursor, withImage);
    }

    /// <summary>Reads Name (and the image, disposed at once, if <paramref name="withImage"/>) from every row of <paramref name="cursor"/>.</summary>
    public static List<string> ReadNames(DataViewRowCursor cursor, bool withImage)
    {
        ValueGetter<ReadOnlyMemory<char>> getName = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Name"]);
        ValueGetter<MLImage>? getImage = withImage ? cursor.GetGetter<MLImage>(cursor.Schema[ImageColumn]) : null;
        var names = new List<string>();
        ReadOnlyMemory<char> value = default;
        MLImage image = null!;
        while (cursor.MoveNext())
        {
            getName(ref value);
            names.Add(value.ToString());
            getImage?.Invoke(ref image);
        }

        image?.Dispose();
        return names;
    }

    /// <summary>Every row's image, by Name. The caller disposes them.</summary>
    public static Dictionary<string, MLImage> Images(IDataView view)
    {
        using DataViewRowCursor cursor = view.GetRowCursor(view.Schema);
        ValueGetter<ReadOnlyMemory<char>> getName = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["Name"]);
        ValueGetter<MLImage> getImage = cursor.GetGetter<MLImage>(view.Schema[ImageColumn]);
        var images = new Dictionary<string, MLImage>();
        ReadOnlyMemory<char> name = default;
        while (cursor.MoveNext())
        {
            getName(ref name);
            // A fresh variable per row: the getter disposes an image passed back in, as ML.NET's loader does.
            MLImage image = null!;
            getImage(ref image);
            images.Add(name.ToString(), image);
        }

        return images;
    }

    /// <summary>The one image of a single-row input at <paramref name="path"/>.</summary>
    public static MLImage LoadOne(string folder, string path, int minimumWidth = 0, int minimumHeight = 0)
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = Load(mlContext, ("only", path));
        IDataView output = mlContext.Transforms
            .LoadImagesSafely(ImageColumn, folder, PathColumn, minimumWidth: minimumWidth, minimumHeight: minimumHeight)
            .Fit(input).Transform(input);
        return Images(output)["only"];
    }
}
