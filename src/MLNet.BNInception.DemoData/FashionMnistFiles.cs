using System.Globalization;
using System.Text;
using SkiaSharp;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.DemoData;

/// <summary>
/// Debian's Fashion-MNIST written out as image files and CSV lists, the shape most image data has
/// when it reaches an ML.NET pipeline: <c>images/{split}/{n}.png</c> under a folder, and CSV files
/// with a header <c>ImagePath,Label</c> (paths relative to the images folder, labels the class
/// names). Writing is idempotent: an earlier list is reused when it names exactly the images this
/// call would list and each of them is a whole PNG file, and written again otherwise. Each image is
/// written through a temporary file renamed over it (<see cref="AtomicFile"/>), and only when its
/// bytes differ from what is there: a process killed while it writes leaves every image whole.
/// </summary>
public static class FashionMnistFiles
{
    /// <summary>The written files.</summary>
    /// <param name="ImageFolder">The folder the CSVs' paths are relative to.</param>
    /// <param name="TrainCsv">Training images.</param>
    /// <param name="ValidationCsv">Validation images, taken from Fashion-MNIST's training split after the training ones.</param>
    /// <param name="TestCsv">Test images, from Fashion-MNIST's test split.</param>
    public sealed record Files(string ImageFolder, string TrainCsv, string ValidationCsv, string TestCsv);

    /// <summary>Writes the first images of each split (skipping what an earlier call wrote completely).</summary>
    /// <param name="folder">Where to write; created if missing.</param>
    /// <param name="trainCount">Training images.</param>
    /// <param name="validationCount">Validation images.</param>
    /// <param name="testCount">Test images.</param>
    /// <param name="source">The folder of Debian's Fashion-MNIST files.</param>
    /// <param name="cancellationToken">Checked before every image; a cancelled call leaves the lists it had not finished unwritten.</param>
    /// <exception cref="OperationCanceledException">The call was cancelled.</exception>
    public static Files Write(string folder, int trainCount, int validationCount, int testCount, string source = FashionMnist.DefaultFolder,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(trainCount, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(validationCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(testCount, 1);
        string images = Path.Combine(Path.GetFullPath(folder), "images");
        var files = new Files(images, Path.Combine(folder, "train.csv"), Path.Combine(folder, "validation.csv"), Path.Combine(folder, "test.csv"));
        WriteSplit(source, "train", 0, trainCount, images, files.TrainCsv, cancellationToken);
        WriteSplit(source, "train", trainCount, validationCount, images, files.ValidationCsv, cancellationToken);
        WriteSplit(source, "t10k", 0, testCount, images, files.TestCsv, cancellationToken);
        return files;
    }

    private static void WriteSplit(string source, string split, int skip, int count, string images, string csv, CancellationToken cancellationToken)
    {
        // The CSV is written last and renamed into place, and every image is renamed into place
        // whole. The images are still checked: a list written before a run that rewrote its images in
        // place (as versions before this one did, truncating each file first) may name an empty one.
        if (ListsExactly(csv, split, skip, count) && ImagesAreWhole(images, split, skip, count))
        {
            return;
        }

        (byte[] pixels, long[] labels, int loaded) = FashionMnist.Load(source, split, skip + count);
        if (loaded < skip + count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Fashion-MNIST's {split} split has {loaded} images; {skip + count} were asked for.");
        }

        string folder = Path.Combine(images, split);
        Directory.CreateDirectory(folder);
        var lines = new StringBuilder("ImagePath,Label\n");
        var bgra = new byte[28 * 28 * 4];
        for (int i = skip; i < skip + count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            for (int p = 0; p < 28 * 28; p++)
            {
                byte gray = pixels[(i * 28 * 28) + p];
                bgra[p * 4] = bgra[(p * 4) + 1] = bgra[(p * 4) + 2] = gray;
                bgra[(p * 4) + 3] = 255;
            }

            string relative = RelativePath(split, i);
            WriteUnlessTheSame(Path.Combine(images, relative), EncodePng(bgra));

            lines.Append(CsvText.Record([relative, FashionMnist.ClassNames[(int)labels[i]]])).Append('\n');
        }

        // Not synced to disk: after a power cut, a CSV that is missing or lists too few images is written again.
        AtomicFile.WriteAllText(csv, lines.ToString(), flushToDisk: false);
    }

    // SkiaSharp, the library ML.NET's MLImage encodes with, at full quality, into memory, so that the
    // bytes can be compared with the file's and written through a temporary file.
    private static byte[] EncodePng(byte[] bgra)
    {
        using SKImage image = SKImage.FromPixelCopy(new SKImageInfo(28, 28, SKColorType.Bgra8888, SKAlphaType.Opaque), bgra);
        using SKData png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    // An image already as it would be written is left alone (a rerun replaces no file); any other,
    // an empty or cut-off one included, is replaced whole. Not synced to disk: after a power cut an
    // image may be missing or old, which the next call finds and writes again.
    private static void WriteUnlessTheSame(string path, byte[] png)
    {
        FileInfo existing = new(path);
        if (existing.Exists && existing.Length == png.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(png))
        {
            return;
        }

        AtomicFile.WriteAllBytes(path, png, flushToDisk: false);
    }

    // Whether every image a reused list names is a whole PNG file: it starts with PNG's signature and
    // ends with its IEND chunk, which a file cut off while it was written lacks. Only the ends are read.
    private static bool ImagesAreWhole(string images, string split, int skip, int count)
    {
        Span<byte> start = stackalloc byte[PngSignature.Length];
        Span<byte> end = stackalloc byte[PngEnd.Length];
        for (int i = skip; i < skip + count; i++)
        {
            try
            {
                using var file = new FileStream(Path.Combine(images, RelativePath(split, i)), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
                if (file.Length < PngSignature.Length + PngEnd.Length)
                {
                    return false;
                }

                file.ReadExactly(start);
                file.Seek(-PngEnd.Length, SeekOrigin.End);
                file.ReadExactly(end);
                if (!start.SequenceEqual(PngSignature) || !end.SequenceEqual(PngEnd))
                {
                    return false;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    // The IEND chunk, every PNG file's last: a length of 0, its type and the type's CRC.
    private static ReadOnlySpan<byte> PngEnd => [0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82];

    private static string RelativePath(string split, int index) => $"{split}/{index.ToString(CultureInfo.InvariantCulture)}.png";

    // Whether an earlier list is the one this call would write. A count alone is not enough: a
    // validation list of the same length written after fewer training images names images that a
    // longer training list now holds too. Image i of a split is always the same file, so the paths
    // in order say which images a list holds; none of them needs quoting.
    private static bool ListsExactly(string csv, string split, int skip, int count)
    {
        if (!File.Exists(csv))
        {
            return false;
        }

        using IEnumerator<string> lines = File.ReadLines(csv).GetEnumerator();
        if (!lines.MoveNext() || lines.Current != "ImagePath,Label")
        {
            return false;
        }

        for (int i = skip; i < skip + count; i++)
        {
            if (!lines.MoveNext() || !lines.Current.StartsWith(RelativePath(split, i) + ",", StringComparison.Ordinal))
            {
                return false;
            }
        }

        return !lines.MoveNext();
    }
}
