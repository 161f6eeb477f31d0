using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A test class over a few Fashion-MNIST images and their lists (16 training, 8 validation, 16 test),
/// written once for the class: what argument checks look at, not enough to train on.
/// </summary>
public abstract class FewImagesFixture
{
    private TemporaryDirectory? _folder;

    /// <summary>The images and their lists.</summary>
    protected FashionMnistFiles.Files? Data { get; private set; }

    /// <summary>Writes the images.</summary>
    [OneTimeSetUp]
    public void WriteData()
    {
        _folder = new TemporaryDirectory();
        Data = FashionMnistFiles.Write(_folder.File("data"), 16, 8, 16);
    }

    /// <summary>Deletes them.</summary>
    [OneTimeTearDown]
    public void DeleteData() => _folder?.Dispose();
}
