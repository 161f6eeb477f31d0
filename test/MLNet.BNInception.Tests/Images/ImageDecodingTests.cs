using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// Good but unusual files decode to 8-bit colour with the values the test wrote into them: grayscale,
/// 16-bit, palette (with transparency), RGBA, grayscale with alpha, CMYK, a stated gamma (converted to
/// sRGB), an animated GIF's first frame, and JPEGs turned upright by each of the eight EXIF orientations.
/// </summary>
public sealed class ImageDecodingTests
{
    private TemporaryDirectory _folder = null!;

    [OneTimeSetUp]
    public void CreateFolder() => _folder = new TemporaryDirectory();

    [OneTimeTearDown]
    public void DeleteFolder() => _folder.Dispose();

    private MLImage Load(string name, byte[] contents)
    {
        File.WriteAllBytes(_folder.File(name), contents);
        return ImageRows.LoadOne(_folder.Path, name);
    }

    [Test]
    public void JpegAndPngKeepTheColoursDrawn()
    {
        SKColor background = new(30, 60, 90);
        SKColor mark = new(220, 180, 20);
        using SKBitmap drawn = TestImages.Draw(32, 32, background, canvas => canvas.Fill(16, 0, 16, 16, mark));

        using MLImage png = Load("drawn.png", TestImages.Encode(drawn, SKEncodedImageFormat.Png));
        using MLImage jpeg = Load("drawn.jpg", TestImages.Encode(drawn, SKEncodedImageFormat.Jpeg, 100));

        Assert.That(TestImages.Pixel(png, 24, 8), Is.EqualTo((mark.Red, mark.Green, mark.Blue, (byte)255)));
        Assert.That(TestImages.Pixel(png, 8, 24), Is.EqualTo((background.Red, background.Green, background.Blue, (byte)255)));
        // JPEG is lossy: flat 16x16 areas come back within a few levels (chroma is subsampled 2x2).
        TestImages.AssertColor(TestImages.Pixel(jpeg, 24, 8), (mark.Red, mark.Green, mark.Blue, 255), 4, "JPEG mark");
        TestImages.AssertColor(TestImages.Pixel(jpeg, 8, 24), (background.Red, background.Green, background.Blue, 255), 4, "JPEG background");
        Assert.That(png.Tag, Is.EqualTo(_folder.File("drawn.png")), "tagged with its file, as ML.NET's loader tags");
    }

    // WBMP (WAP's type 0) has no signature: two zero bytes (type, fixed header), the width and height
    // as multi-byte integers, then rows of 1-bit pixels, most significant bit first, 1 white and 0
    // black. The loader reads a file's first bytes before the rest, and must send this one on.
    [Test]
    public void AWbmpDecodesItsBlackAndWhitePixels()
    {
        using MLImage wbmp = Load("two-rows.wbmp", [0x00, 0x00, 8, 2, 0b1010_1010, 0b0101_0101]);

        Assert.That((wbmp.Width, wbmp.Height), Is.EqualTo((8, 2)));
        for (int x = 0; x < 8; x++)
        {
            byte first = x % 2 == 0 ? (byte)255 : (byte)0, second = (byte)(255 - first);
            Assert.That(TestImages.Pixel(wbmp, x, 0), Is.EqualTo((first, first, first, (byte)255)), $"row 0, x {x}");
            Assert.That(TestImages.Pixel(wbmp, x, 1), Is.EqualTo((second, second, second, (byte)255)), $"row 1, x {x}");
        }
    }

    [Test]
    public void GrayscalePngAndJpegBecomeEqualRgb()
    {
        byte[] levels = [0, 77, 200, 255];
        using MLImage png = Load("gray.png", PngWriter.Write(4, 1, 8, PngWriter.Grayscale, _ => levels));
        using MLImage jpeg = Load("gray.jpg", FlatBlockJpegWriter.Write(32, 8, 1, (bx, _, _) => levels[bx]));

        for (int i = 0; i < levels.Length; i++)
        {
            byte v = levels[i];
            Assert.That(TestImages.Pixel(png, i, 0), Is.EqualTo((v, v, v, (byte)255)), $"PNG level {v}");
            Assert.That(TestImages.Pixel(jpeg, (i * 8) + 3, 4), Is.EqualTo((v, v, v, (byte)255)), $"JPEG level {v}");
        }
    }

    [Test]
    public void SixteenBitPngKeepsTheHighByte()
    {
        // Low bytes chosen so that dropping them (v >> 8) and rounding (v / 257) disagree.
        ushort[] rgb = [0xAB12, 0x00FF, 0x80FF, 0xFFFF, 0x1280, 0x7F7F];
        ushort[] gray = [0xC3F0, 0x01FF];
        static byte[] BigEndian(IEnumerable<ushort> values) => [.. values.SelectMany(v => new[] { (byte)(v >> 8), (byte)v })];

        using MLImage color = Load("rgb16.png", PngWriter.Write(2, 1, 16, PngWriter.Rgb, _ => BigEndian(rgb)));
        using MLImage grayscale = Load("gray16.png", PngWriter.Write(2, 1, 16, PngWriter.Grayscale, _ => BigEndian(gray)));

        for (int x = 0; x < 2; x++)
        {
            Assert.That(TestImages.Pixel(color, x, 0), Is.EqualTo(((byte)(rgb[3 * x] >> 8), (byte)(rgb[(3 * x) + 1] >> 8), (byte)(rgb[(3 * x) + 2] >> 8), (byte)255)));
            byte g = (byte)(gray[x] >> 8);
            Assert.That(TestImages.Pixel(grayscale, x, 0), Is.EqualTo((g, g, g, (byte)255)));
        }
    }

    [Test]
    public void PalettePngsExpandTheirPaletteAndTransparency()
    {
        byte[] palette = [255, 0, 0, 0, 128, 255, 17, 34, 51];
        using MLImage eightBit = Load("palette8.png", PngWriter.Write(4, 1, 8, PngWriter.Palette, _ => [0, 1, 2, 1], palette));
        // 4-bit indices 0,1,2,1 packed two per byte; entry 1 is half transparent.
        using MLImage fourBit = Load("palette4.png", PngWriter.Write(4, 1, 4, PngWriter.Palette, _ => [0x01, 0x21], palette, transparency: [255, 128]));

        int[] indices = [0, 1, 2, 1];
        for (int x = 0; x < 4; x++)
        {
            (byte r, byte g, byte b) = (palette[3 * indices[x]], palette[(3 * indices[x]) + 1], palette[(3 * indices[x]) + 2]);
            Assert.That(TestImages.Pixel(eightBit, x, 0), Is.EqualTo((r, g, b, (byte)255)));
            int alpha = indices[x] == 1 ? 128 : 255;
            Assert.That(TestImages.Pixel(fourBit, x, 0), Is.EqualTo(Premultiplied(r, g, b, alpha)));
        }
    }

    [Test]
    public void RgbaAndGrayAlphaComePremultipliedAsMLNetsLoaderGivesThem()
    {
        byte[] rgba = [200, 100, 50, 128, 10, 20, 30, 255, 255, 255, 255, 0, 90, 60, 30, 64];
        using MLImage color = Load("rgba.png", PngWriter.Write(4, 1, 8, PngWriter.Rgba, _ => rgba));
        using MLImage gray = Load("gray-alpha.png", PngWriter.Write(2, 1, 8, PngWriter.GrayscaleAlpha, _ => [200, 128, 90, 255]));

        for (int x = 0; x < 4; x++)
        {
            Assert.That(TestImages.Pixel(color, x, 0), Is.EqualTo(Premultiplied(rgba[4 * x], rgba[(4 * x) + 1], rgba[(4 * x) + 2], rgba[(4 * x) + 3])));
        }

        Assert.That(TestImages.Pixel(gray, 0, 0), Is.EqualTo(Premultiplied(200, 200, 200, 128)));
        Assert.That(TestImages.Pixel(gray, 1, 0), Is.EqualTo(Premultiplied(90, 90, 90, 255)));
    }

    [Test]
    public void AColourManagedPngIsConvertedToSrgb()
    {
        // gAMA 1.0: the samples are linear light. Linear 128/255 is sRGB 1.055 x^(1/2.4) - 0.055, in 8 bits.
        using MLImage image = Load("linear.png", PngWriter.Write(2, 1, 8, PngWriter.Rgb, _ => [128, 128, 128, 0, 0, 0], gamma: 100000));

        double linear = 128 / 255.0;
        byte srgb = (byte)Math.Round(255 * ((1.055 * Math.Pow(linear, 1 / 2.4)) - 0.055));
        TestImages.AssertColor(TestImages.Pixel(image, 0, 0), (srgb, srgb, srgb, 255), 1, "linear mid-grey");
        Assert.That(TestImages.Pixel(image, 1, 0), Is.EqualTo(((byte)0, (byte)0, (byte)0, (byte)255)), "black stays black");
    }

    [Test]
    public void CmykJpegBecomesTheRgbOfItsInks()
    {
        // Ink fractions (C, M, Y, K) of four 8x8 blocks; Adobe stores each as 255 minus the ink.
        double[][] inks = [[1, 0, 0, 0], [0, 0, 0, 0.5], [0.2, 0.4, 0.6, 0.1], [0, 0, 0, 0]];
        using MLImage image = Load("cmyk.jpg", FlatBlockJpegWriter.Write(32, 8, 4,
            (bx, _, c) => (byte)Math.Round(255 * (1 - inks[bx][c])), adobeCmyk: true));

        for (int block = 0; block < inks.Length; block++)
        {
            // Without a colour profile, the textbook conversion: each colour is what its ink and black leave.
            double[] ink = inks[block];
            int Channel(double colorInk) => (int)Math.Round(255 * (1 - colorInk) * (1 - ink[3]));
            TestImages.AssertColor(TestImages.Pixel(image, (block * 8) + 4, 4), (Channel(ink[0]), Channel(ink[1]), Channel(ink[2]), 255), 1, $"block {block}");
        }
    }

    [Test]
    public void AnimatedGifGivesItsFirstFrame()
    {
        byte[] palette = [255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 255];
        byte[] first = [.. Enumerable.Repeat((byte)0, 15)];
        byte[] second = [.. Enumerable.Range(0, 15).Select(i => (byte)(i == 7 ? 2 : 1))];
        using MLImage image = Load("animated.gif", GifWriter.Write(5, 3, palette, first, second));

        Assert.That((image.Width, image.Height), Is.EqualTo((5, 3)));
        for (int y = 0; y < 3; y++)
        {
            for (int x = 0; x < 5; x++)
            {
                Assert.That(TestImages.Pixel(image, x, y), Is.EqualTo(((byte)255, (byte)0, (byte)0, (byte)255)), $"({x}, {y}) of frame 0 is red");
            }
        }
    }

    /// <summary>
    /// A 40x24 JPEG with a red 8x8 mark in its stored top-left corner and a green one in its stored top-right,
    /// tagged with each EXIF orientation; where the marks must end up comes from the EXIF standard's table
    /// (orientation 6: "the 0th row is the visual right-hand side, the 0th column the visual top").
    /// </summary>
    [TestCase(1, "top-left", "top-right")]
    [TestCase(2, "top-right", "top-left")]
    [TestCase(3, "bottom-right", "bottom-left")]
    [TestCase(4, "bottom-left", "bottom-right")]
    [TestCase(5, "top-left", "bottom-left")]
    [TestCase(6, "top-right", "bottom-right")]
    [TestCase(7, "bottom-right", "top-right")]
    [TestCase(8, "bottom-left", "top-left")]
    public void ExifOrientationTurnsTheImageUpright(int orientation, string redCorner, string greenCorner)
    {
        const int width = 40;
        const int height = 24;
        using SKBitmap stored = TestImages.Draw(width, height, SKColors.White, canvas =>
        {
            canvas.Fill(0, 0, 8, 8, SKColors.Red);
            canvas.Fill(width - 8, 0, 8, 8, new SKColor(0, 255, 0));
        });
        byte[] jpeg = ExifOrientation.Insert(TestImages.Encode(stored, SKEncodedImageFormat.Jpeg, 100), orientation);

        using MLImage upright = Load($"exif-{orientation}.jpg", jpeg);

        bool quarterTurn = orientation >= 5;
        Assert.That((upright.Width, upright.Height), Is.EqualTo(quarterTurn ? (height, width) : (width, height)));
        Assert.That(Corner(upright, redCorner), Is.EqualTo("red"), $"red mark at the {redCorner}");
        Assert.That(Corner(upright, greenCorner), Is.EqualTo("green"), $"green mark at the {greenCorner}");
        Assert.That(new[] { "top-left", "top-right", "bottom-left", "bottom-right" }.Except([redCorner, greenCorner]).Select(c => Corner(upright, c)),
            Is.All.EqualTo("white"));
    }

    /// <summary>The colour 4 pixels in from a corner: red, green, white, or the values if none of them.</summary>
    private static string Corner(MLImage image, string corner)
    {
        int x = corner.EndsWith("left", StringComparison.Ordinal) ? 3 : image.Width - 4;
        int y = corner.StartsWith("top", StringComparison.Ordinal) ? 3 : image.Height - 4;
        (byte r, byte g, byte b, _) = TestImages.Pixel(image, x, y);
        return (r, g, b) switch
        {
            ( > 200, < 60, < 60) => "red",
            ( < 60, > 200, < 60) => "green",
            ( > 200, > 200, > 200) => "white",
            _ => $"({r}, {g}, {b})",
        };
    }

    // Premultiplied alpha as Skia rounds it: c * a / 255 to the nearest integer.
    private static (byte, byte, byte, byte) Premultiplied(int r, int g, int b, int a) =>
        ((byte)Math.Round(r * a / 255.0), (byte)Math.Round(g * a / 255.0), (byte)Math.Round(b * a / 255.0), (byte)a);
}
