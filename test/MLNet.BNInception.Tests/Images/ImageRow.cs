namespace MLNet.BNInception.Tests.Images;

/// <summary>A row of the tests' input: a name to follow the row by, and the image path.</summary>
public sealed class ImageRow
{
    public string Name { get; set; } = "";

    public string ImagePath { get; set; } = "";
}
