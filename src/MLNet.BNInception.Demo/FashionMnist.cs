using System.Buffers.Binary;
using System.IO.Compression;

namespace MLNet.BNInception.Demo;

/// <summary>Reads the gzip-compressed IDX files of Fashion-MNIST as Debian's dataset-fashion-mnist ships them.</summary>
internal static class FashionMnist
{
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Images as bytes (count×28×28, row-major) and their labels, at most <paramref name="limit"/> of them.</summary>
    public static (byte[] Pixels, long[] Labels, int Count) Load(string folder, string split, int limit)
    {
        string imagePath = Path.Combine(folder, $"{split}-images-idx3-ubyte.gz");
        string labelPath = Path.Combine(folder, $"{split}-labels-idx1-ubyte.gz");
        byte[] images = ReadIdx(imagePath, expectedMagic: 0x803, out int[] imageDims);
        byte[] labels = ReadIdx(labelPath, expectedMagic: 0x801, out int[] labelDims);
        if (imageDims[0] != labelDims[0] || imageDims[1] != 28 || imageDims[2] != 28)
        {
            throw new InvalidDataException($"{imagePath} and {labelPath} do not hold matching 28×28 images and labels.");
        }

        int count = Math.Min(limit, imageDims[0]);
        return (images[..(count * 28 * 28)], labels[..count].Select(label => (long)label).ToArray(), count);
    }

    private static byte[] ReadIdx(string path, int expectedMagic, out int[] dims)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path} is missing: install Debian's dataset-fashion-mnist (bash build/setup.sh does).", path);
        }

        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gzip.CopyTo(memory);
        byte[] data = memory.ToArray();
        int magic = BinaryPrimitives.ReadInt32BigEndian(data);
        if (magic != expectedMagic)
        {
            throw new InvalidDataException($"{path} is not an IDX file of the expected kind (magic 0x{magic:x}, expected 0x{expectedMagic:x}).");
        }

        int rank = magic & 0xff;
        dims = Enumerable.Range(0, rank).Select(i => BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4 + 4 * i))).ToArray();
        int headerLength = 4 + 4 * rank;
        long expectedLength = dims.Aggregate(1L, (product, d) => product * d);
        if (data.Length - headerLength != expectedLength)
        {
            throw new InvalidDataException($"{path} is truncated: {data.Length - headerLength} bytes of data, expected {expectedLength}.");
        }

        return data[headerLength..];
    }
}
