using System.Buffers.Binary;
using System.IO.Compression;
using MLNet.BNInception.Engine;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.DemoData;

/// <summary>
/// Reads Fashion-MNIST (Zalando's 28×28 grayscale clothing images, 10 classes) from the gzip-compressed
/// IDX files that Debian's dataset-fashion-mnist package installs: the project's default real data.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Images in the "train" split.</summary>
    public const int TrainingImages = 60_000;

    /// <summary>Images in the "t10k" split.</summary>
    public const int TestImages = 10_000;

    /// <summary>The class names, indexed by label.</summary>
    public static readonly IReadOnlyList<string> ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Images as bytes (count×28×28, row-major) and their labels, at most <paramref name="limit"/> of them.</summary>
    /// <param name="folder">The folder holding the four .gz files.</param>
    /// <param name="split">"train" (60,000 images) or "t10k" (10,000).</param>
    /// <param name="limit">The most images to return, from the start of the file.</param>
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

    /// <summary>
    /// Images <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="count"/> − 1 of a
    /// split as float32 tensors, N × 1 × <paramref name="side"/> × <paramref name="side"/> in [0, 1]
    /// (resized bilinearly from 28×28), with their int64 labels.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The split ends before the last image asked for.</exception>
    public static (Tensor Images, Tensor Labels) LoadTensors(string folder, string split, int skip, int count, int side)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        TorchRuntime.EnsureLoaded();
        (byte[] pixels, long[] labels, int loaded) = Load(folder, split, skip + count);
        // Fewer images than asked for would go unnoticed by a caller that counts its steps from count.
        if (loaded < skip + count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"The {split} split has {loaded} images; images {skip} to {skip + count - 1} were asked for.");
        }

        using DisposeScope scope = NewDisposeScope();
        // A Scalar held to the end rather than made implicitly from 255 (see Training.SgdStep for why).
        using Scalar byteRange = 255.0.ToScalar();
        Tensor images = tensor(pixels[(skip * 28 * 28)..], [loaded - skip, 1, 28, 28]).to(ScalarType.Float32).div(byteRange);
        if (side != 28)
        {
            images = F.interpolate(images, [side, side], mode: InterpolationMode.Bilinear, align_corners: false);
        }

        return (images.MoveToOuterDisposeScope(), tensor(labels[skip..]).MoveToOuterDisposeScope());
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
