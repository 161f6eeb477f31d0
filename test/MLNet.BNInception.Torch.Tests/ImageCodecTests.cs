using System.Text.Json;
using MLNet.BNInception.Imaging;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>ImageCodec decodes, resizes and encodes as Debian's cv2 does, and refuses bad files cleanly.</summary>
public class ImageCodecTests
{
    private static TemporaryDirectory s_files = null!;
    private static Dictionary<string, JsonElement> s_expected = null!;

    [OneTimeSetUp]
    public static void WriteImagesWithPython()
    {
        s_files = new TemporaryDirectory();
        string json = PythonReference.Run("image_reference.py", "write", s_files.Path);
        s_expected = JsonDocument.Parse(json).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
    }

    [OneTimeTearDown]
    public static void DeleteImages() => s_files.Dispose();

    private static byte[] Bytes(string name) => File.ReadAllBytes(s_files.File(name));

    private static BgrImage? Parse(JsonElement described) => described.ValueKind == JsonValueKind.Null ? null : new BgrImage(
        described.GetProperty("width").GetInt32(),
        described.GetProperty("height").GetInt32(),
        described.GetProperty("channels").GetInt32(),
        Convert.FromBase64String(described.GetProperty("pixels").GetString()!));

    private static BgrImage Expected(string key) => Parse(s_expected[key]) ?? throw new AssertionException($"cv2 decoded nothing from {key}");

    private static void AssertSameImage(BgrImage actual, BgrImage expected, string what)
    {
        Assert.That((actual.Width, actual.Height, actual.Channels), Is.EqualTo((expected.Width, expected.Height, expected.Channels)), $"{what}: size");
        int differing = actual.Pixels.Zip(expected.Pixels).Count(pair => pair.First != pair.Second);
        Assert.That(differing, Is.Zero, $"{what}: bytes that differ from cv2's");
    }

    /// <summary>The gray file as one channel: Decode replicates gray into B, G and R, so any one of them is the gray plane.</summary>
    private static BgrImage GrayImage()
    {
        BgrImage decoded = ImageCodec.Decode(Bytes("gray.png"));
        byte[] plane = new byte[decoded.Width * decoded.Height];
        for (int i = 0; i < plane.Length; i++)
        {
            plane[i] = decoded.Pixels[3 * i];
        }

        return new BgrImage(decoded.Width, decoded.Height, 1, plane);
    }

    [TestCase("bgr.png")]
    [TestCase("gray.png", Description = "gray is replicated into three channels")]
    [TestCase("bgra.png", Description = "alpha is dropped")]
    [TestCase("bgr16.png", Description = "16-bit samples are scaled to 8 bits")]
    [TestCase("photo.jpg")]
    [TestCase("padded.jpg", Description = "zero bytes after the end-of-image marker are allowed")]
    [TestCase("bgr.bmp")]
    public void DecodesExactlyAsOpenCvDoes(string name)
    {
        BgrImage image = ImageCodec.Decode(Bytes(name));
        Assert.That(image.Channels, Is.EqualTo(3));
        AssertSameImage(image, Expected(name), name);
    }

    [Test]
    public void AppliesTheExifOrientation()
    {
        BgrImage plain = ImageCodec.Decode(Bytes("plain.jpg"));
        BgrImage turned = ImageCodec.Decode(Bytes("exif6.jpg"));
        Assert.That((turned.Width, turned.Height), Is.EqualTo((plain.Height, plain.Width)), "orientation 6 swaps width and height");
        AssertSameImage(turned, Expected("exif6.jpg"), "cv2.imdecode of the EXIF file");
        AssertSameImage(turned, Expected("plain.jpg rotated clockwise"), "cv2.rotate of the plain file, 90 degrees clockwise");
    }

    [TestCase("empty.bin", "empty")]
    [TestCase("text.txt", "could not decode")]
    [TestCase("half.png", "could not decode")]
    [TestCase("half.jpg", "no end-of-image marker")]
    public void BadFilesAreInvalidData(string name, string reason)
    {
        var error = Assert.Throws<InvalidDataException>(() => ImageCodec.Decode(Bytes(name)));
        Assert.That(error!.Message, Does.Contain(reason));
    }

    [Test]
    public void OpenCvAloneWouldReturnATruncatedJpegPartlyGrey()
    {
        // Why Decode checks the marker itself: libjpeg only warns, and cv2 returns a full-size image.
        BgrImage? fromCv2 = Parse(s_expected["half.jpg"]);
        Assert.That(fromCv2, Is.Not.Null);
        BgrImage whole = Expected("photo.jpg");
        Assert.That((fromCv2!.Width, fromCv2.Height), Is.EqualTo((whole.Width, whole.Height)));
        Assert.That(fromCv2.Pixels, Is.Not.EqualTo(whole.Pixels));
    }

    [Test]
    public void EveryCutOfAJpegOrPngIsInvalidDataNeverACrash()
    {
        foreach (string name in new[] { "photo.jpg", "exif6.jpg", "bgr.png" })
        {
            byte[] whole = Bytes(name);
            for (int length = 1; length < whole.Length; length += 7)
            {
                byte[] cut = whole[..length];
                Assert.Throws<InvalidDataException>(() => ImageCodec.Decode(cut), $"{name} cut to {length} of {whole.Length} bytes");
            }
        }
    }

    [Test]
    public void TheEndMarkerInsideAnExifThumbnailDoesNotCount()
    {
        // An APP1 segment whose payload ends in FF D9, as an embedded thumbnail does, spliced into a JPEG cut short.
        byte[] jpeg = Bytes("photo.jpg");
        byte[] payload = [.. "Exif\0\0"u8, 0xFF, 0xD8, 0x12, 0x34, 0xFF, 0xD9];
        byte[] segment = [0xFF, 0xE1, 0, (byte)(payload.Length + 2), .. payload];
        byte[] spliced = [.. jpeg[..2], .. segment, .. jpeg[2..(jpeg.Length / 2)]];
        Assert.Throws<InvalidDataException>(() => ImageCodec.Decode(spliced));
        byte[] complete = [.. jpeg[..2], .. segment, .. jpeg[2..]];
        AssertSameImage(ImageCodec.Decode(complete), Expected("photo.jpg"), "the complete file with the segment");
    }

    [TestCase(ResizeFilter.Area, "Area", 5, 3, 40, 30, 17, 11)]
    [TestCase(ResizeFilter.Area, "Area", 0, 0, 53, 37, 26, 18, Description = "an integer factor takes OpenCV's fast path")]
    [TestCase(ResizeFilter.Linear, "Linear", 5, 3, 40, 30, 17, 11)]
    [TestCase(ResizeFilter.Linear, "Linear", 7, 2, 20, 25, 61, 44)]
    [TestCase(ResizeFilter.Nearest, "Nearest", 5, 3, 40, 30, 17, 11)]
    [TestCase(ResizeFilter.Nearest, "Nearest", 7, 2, 20, 25, 61, 44)]
    [TestCase(ResizeFilter.Cubic, "Cubic", 7, 2, 20, 25, 61, 44)]
    [TestCase(ResizeFilter.Auto, "Area", 5, 3, 40, 30, 17, 11, Description = "Auto shrinks with Area")]
    [TestCase(ResizeFilter.Auto, "Area", 5, 3, 40, 30, 40, 11, Description = "an unchanged axis does not grow")]
    [TestCase(ResizeFilter.Auto, "Linear", 7, 2, 20, 25, 61, 44, Description = "Auto enlarges with Linear")]
    [TestCase(ResizeFilter.Auto, "Linear", 7, 2, 20, 25, 10, 44, Description = "one axis grows")]
    public void ResizesARegionExactlyAsOpenCvDoes(ResizeFilter filter, string cv2Filter, int x, int y, int width, int height, int targetWidth, int targetHeight)
    {
        foreach ((string file, BgrImage source) in new[] { ("bgr.png", ImageCodec.Decode(Bytes("bgr.png"))), ("gray.png", GrayImage()) })
        {
            BgrImage resized = ImageCodec.Resize(source, x, y, width, height, targetWidth, targetHeight, filter);
            Assert.That(resized.Channels, Is.EqualTo(source.Channels));
            var resizeCase = new { file = s_files.File(file), x, y, width, height, targetWidth, targetHeight, filter = cv2Filter };
            string casesPath = s_files.File($"cases-{Guid.NewGuid():N}.json");
            File.WriteAllText(casesPath, JsonSerializer.Serialize(new[] { resizeCase }));
            JsonElement expected = JsonDocument.Parse(PythonReference.Run("image_reference.py", "resize", casesPath)).RootElement[0];
            AssertSameImage(resized, Parse(expected)!, $"{file}, {filter} against cv2 {cv2Filter}");
        }
    }

    [Test]
    public void TheFiltersGiveDifferentResults()
    {
        // Otherwise the comparisons above could not tell a wrong mapping from filters to OpenCV modes.
        BgrImage source = ImageCodec.Decode(Bytes("bgr.png"));
        byte[][] results = Enum.GetValues<ResizeFilter>().Where(f => f != ResizeFilter.Auto)
            .Select(f => ImageCodec.Resize(source, 5, 3, 40, 30, 17, 11, f).Pixels).ToArray();
        for (int i = 0; i < results.Length; i++)
        {
            for (int j = i + 1; j < results.Length; j++)
            {
                Assert.That(results[i], Is.Not.EqualTo(results[j]), $"filters {i} and {j}");
            }
        }
    }

    [Test]
    public void BadRegionsAndSizesNameTheirParameter()
    {
        BgrImage source = GrayImage();
        (int right, int bottom) = (source.Width - 10, source.Height - 10);
        static void Throws(TestDelegate resize, string parameter)
        {
            ArgumentException? error = Assert.Catch<ArgumentException>(resize, parameter);
            Assert.That(error!.ParamName, Is.EqualTo(parameter));
        }

        Throws(() => ImageCodec.Resize(null!, 0, 0, 1, 1, 1, 1), "source");
        Throws(() => ImageCodec.Resize(source, -1, 0, 10, 10, 5, 5), "x");
        Throws(() => ImageCodec.Resize(source, 0, -1, 10, 10, 5, 5), "y");
        Throws(() => ImageCodec.Resize(source, 0, 0, 0, 10, 5, 5), "width");
        Throws(() => ImageCodec.Resize(source, 0, 0, 10, -2, 5, 5), "height");
        Throws(() => ImageCodec.Resize(source, right + 1, 0, 10, 10, 5, 5), "width");
        Throws(() => ImageCodec.Resize(source, 0, bottom + 1, 10, 10, 5, 5), "height");
        Throws(() => ImageCodec.Resize(source, 0, 0, 10, 10, 0, 5), "targetWidth");
        Throws(() => ImageCodec.Resize(source, 0, 0, 10, 10, 5, -5), "targetHeight");
        Throws(() => ImageCodec.Resize(source, 0, 0, 10, 10, 5, 5, (ResizeFilter)42), "filter");
        Assert.That(ImageCodec.Resize(source, right, bottom, 10, 10, 5, 5).Width, Is.EqualTo(5), "a region touching the corner is inside");
    }

    [Test]
    public void ImagesCheckTheirSizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new BgrImage(0, 2, 3, []));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new BgrImage(2, 2, 4, new byte[16]));
        var error = Assert.Throws<ArgumentException>(() => _ = new BgrImage(2, 2, 3, new byte[11]));
        Assert.That(error!.ParamName, Is.EqualTo("pixels"));
        Assert.Throws<ArgumentNullException>(() => _ = new BgrImage(2, 2, 1, null!));
    }

    [TestCase(3)]
    [TestCase(1)]
    public void PngRoundTripsThroughDecodeAndCv2(int channels)
    {
        BgrImage image = channels == 3 ? ImageCodec.Decode(Bytes("photo.jpg")) : GrayImage();
        byte[] png = ImageCodec.EncodePng(image);
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));

        string path = s_files.File($"encoded-{channels}.png");
        File.WriteAllBytes(path, png);
        BgrImage fromCv2 = Parse(JsonDocument.Parse(PythonReference.Run("image_reference.py", "decode", path)).RootElement)!;
        AssertSameImage(fromCv2, image, "cv2.imdecode(IMREAD_UNCHANGED) of our PNG");

        BgrImage decoded = ImageCodec.Decode(png);
        Assert.That(decoded.Channels, Is.EqualTo(3));
        byte[] expected = channels == 3 ? image.Pixels : image.Pixels.SelectMany(gray => new[] { gray, gray, gray }).ToArray();
        AssertSameImage(decoded, new BgrImage(image.Width, image.Height, 3, expected), "our Decode of our PNG");
    }
}
