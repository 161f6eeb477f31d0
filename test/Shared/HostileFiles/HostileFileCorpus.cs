using System.Buffers.Binary;
using System.Diagnostics;
using MLNet.BNInception.Images;
using MLNet.BNInception.IO;
using SkiaSharp;

namespace MLNet.BNInception.Tests;

/// <summary>One row of the hostile list: what it is, the path the row holds, and the reason it must be refused for (null: it must be scored).</summary>
/// <param name="Description">What the row is, for messages.</param>
/// <param name="RowPath">The path as the row holds it, relative to the corpus folder unless absolute; a byte that is not UTF-8 is a <see cref="FileNameBytes"/> escape.</param>
/// <param name="Reason">The reason the loader must give, or null for a good image.</param>
/// <param name="Width">A good image's width once loaded.</param>
/// <param name="Height">A good image's height once loaded.</param>
internal sealed record HostileFile(string Description, string RowPath, InvalidImageReason? Reason, int Width = 0, int Height = 0)
{
    public override string ToString() => Description;
}

/// <summary>
/// A folder of files made to break an image job: good images under odd names and links, images cut off at
/// several points, files that are not images whatever their extension, links that lead nowhere or in a loop,
/// a named pipe, a socket, devices, headers that declare gigantic images, and a file name that is not UTF-8.
/// Every row must come out scored or named with its reason, and nothing in the folder may change.
/// </summary>
internal static class HostileFileCorpus
{
    public const int Side = 40;

    /// <summary>Writes the corpus into <paramref name="folder"/> and returns its rows, in list order.</summary>
    public static IReadOnlyList<HostileFile> WriteTo(string folder)
    {
        string In(string name) => Path.Combine(folder, name);
        var rows = new List<HostileFile>();
        void Good(string description, string name, byte[] bytes, int width = Side, int height = Side)
        {
            File.WriteAllBytes(In(name), bytes);
            rows.Add(new(description, name, null, width, height));
        }

        void Bad(string description, string name, byte[]? bytes, InvalidImageReason reason)
        {
            if (bytes is not null)
            {
                File.WriteAllBytes(In(name), bytes);
            }

            rows.Add(new(description, name, reason));
        }

        using SKBitmap noise = Noise(Side, Side);
        byte[] jpeg = Encode(noise, SKEncodedImageFormat.Jpeg);
        byte[] png = Encode(noise, SKEncodedImageFormat.Png);
        byte[] webp = Encode(noise, SKEncodedImageFormat.Webp);

        Good("JPEG", "photo.jpg", jpeg);
        Good("PNG", "drawing.png", png);
        Good("WEBP", "picture.webp", webp);
        Good("PNG named .jpg", "png-named.jpg", png);
        Good("JPEG named .png", "jpeg-named.png", jpeg);
        Good("JPEG without an extension", "no-extension", jpeg);
        Good("upper-case extension", "LOUD.JPG", jpeg);
        Good("name with spaces, commas and quotes", "a, \"quoted\" name.png", png);
        Good("name with a line break", "two\nlines.png", png);
        Good("non-ASCII name", "ünïcödé 画像.png", png);
        using (SKBitmap one = Noise(1, 1))
        {
            Good("1x1 image", "dot.png", Encode(one, SKEncodedImageFormat.Png), 1, 1);
        }

        File.CreateSymbolicLink(In("link-to-photo.jpg"), "photo.jpg");
        rows.Add(new("symbolic link to a JPEG", "link-to-photo.jpg", null, Side, Side));
        ExternalProcess.Run("ln", [In("drawing.png"), In("hard-link.png")]).AssertSucceeded();
        rows.Add(new("hard link to a PNG", "hard-link.png", null, Side, Side));

        // A Latin-1 "café.png": byte E9 is not UTF-8, so .NET cannot name the file; the shell makes it.
        File.WriteAllBytes(In("latin1-source.png"), png);
        ExternalProcess.Run("bash", ["-c", "cp latin1-source.png \"$(printf 'caf\\351.png')\""], folder).AssertSucceeded();
        rows.Add(new("file name in Latin-1", "caf\uDCE9.png", null, Side, Side));

        foreach ((string where, int length) in new[] { ("inside its header", 40), ("a third of the way", jpeg.Length / 3), ("two bytes short", jpeg.Length - 2) })
        {
            Bad($"JPEG cut off {where}", $"cut-{length}.jpg", jpeg[..length], InvalidImageReason.Truncated);
        }

        foreach ((string where, int length) in new[] { ("inside its header", 20), ("halfway", png.Length / 2), ("nine tenths of the way", png.Length * 9 / 10) })
        {
            Bad($"PNG cut off {where}", $"cut-{length}.png", png[..length], InvalidImageReason.Truncated);
        }

        Bad("WEBP cut off halfway", "cut.webp", webp[..(webp.Length / 2)], InvalidImageReason.Truncated);
        Bad("empty file", "empty.jpg", [], InvalidImageReason.EmptyFile);
        Bad("text named .jpg", "text.jpg", "not a picture, a note\n"u8.ToArray(), InvalidImageReason.NotAnImage);
        Bad("random bytes", "random.bin", [.. Enumerable.Range(0, 4096).Select(i => (byte)((i * 7919) ^ (i >> 3)))], InvalidImageReason.NotAnImage);
        Directory.CreateDirectory(In("folder.png"));
        Bad("directory named like an image", "folder.png", null, InvalidImageReason.Directory);
        Bad("missing file", "missing.png", null, InvalidImageReason.FileNotFound);
        Bad("empty path", "", null, InvalidImageReason.EmptyPath);
        File.CreateSymbolicLink(In("dangling.jpg"), "nowhere.jpg");
        Bad("symbolic link to nothing", "dangling.jpg", null, InvalidImageReason.FileNotFound);
        File.CreateSymbolicLink(In("loop.jpg"), "loop.jpg");
        Bad("symbolic link to itself", "loop.jpg", null, InvalidImageReason.Unreadable);
        ExternalProcess.Run("mkfifo", [In("pipe.jpg")]).AssertSucceeded();
        Bad("named pipe", "pipe.jpg", null, InvalidImageReason.NotARegularFile);
        // .NET removes a socket's file when the socket closes; Python leaves it, as most servers that crash do.
        ExternalProcess.Run("/usr/bin/python3", ["-c", "import socket; socket.socket(socket.AF_UNIX).bind('socket.png')"], folder).AssertSucceeded();
        Bad("Unix socket", "socket.png", null, InvalidImageReason.NotARegularFile);
        Bad("/dev/zero", "/dev/zero", null, InvalidImageReason.NotARegularFile);
        Bad("/dev/null", "/dev/null", null, InvalidImageReason.NotARegularFile);
        // A regular file to stat(2) that states no size, on procfs: /proc/kmsg, of the same kind, waits
        // for ever for the kernel's next message (and takes it from the system's log).
        Bad("procfs file", "/proc/self/status", null, InvalidImageReason.NotARegularFile);
        File.CreateSymbolicLink(In("zeros.jpg"), "/dev/zero");
        Bad("symbolic link to /dev/zero", "zeros.jpg", null, InvalidImageReason.NotARegularFile);
        Bad("PNG whose header declares 16000x16000", "bomb.png", WithPngSize(png, 16000, 16000), InvalidImageReason.TooManyPixels);
        Bad("JPEG whose header declares 30000x30000", "bomb.jpg", WithJpegSize(jpeg, 30000, 30000), InvalidImageReason.TooManyPixels);
        // Medical and archival JPEGs: SkiaSharp's libjpeg-turbo decodes 8-bit sequential and progressive
        // JPEGs only, and refuses these from their frame header, before their image data.
        Bad("JPEG whose frame header says 12-bit samples", "twelve-bit.jpg", WithJpegFrame(jpeg, 0xC1, precision: 12), InvalidImageReason.UnsupportedFormat);
        Bad("lossless JPEG (SOF3)", "lossless.jpg", WithJpegFrame(jpeg, 0xC3, precision: 8), InvalidImageReason.UnsupportedFormat);
        Bad("hierarchical JPEG (SOF5)", "hierarchical.jpg", WithJpegFrame(jpeg, 0xC5, precision: 8), InvalidImageReason.UnsupportedFormat);
        return rows;
    }

    /// <summary>
    /// Every entry under <paramref name="folder"/> as the file system describes it (links not followed, special
    /// files not opened), with regular files' contents. Names are read as bytes (find -print0): .NET's own
    /// enumeration would turn the Latin-1 name into U+FFFD and never reach the file.
    /// </summary>
    public static SortedDictionary<string, string> Snapshot(string folder)
    {
        var start = new ProcessStartInfo("find") { RedirectStandardOutput = true };
        foreach (string argument in new[] { folder, "-mindepth", "1", "-printf", "%P\\0%y %s %T@ %m %l\\0" })
        {
            start.ArgumentList.Add(argument);
        }

        using Process find = Process.Start(start)!;
        var output = new MemoryStream();
        find.StandardOutput.BaseStream.CopyTo(output);
        find.WaitForExit();
        if (find.ExitCode != 0)
        {
            throw new InvalidOperationException($"find {folder} failed ({find.ExitCode})");
        }

        byte[][] fields = [.. Split(output.ToArray())];
        var entries = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < fields.Length; i += 2)
        {
            string name = FileNameBytes.Decode(fields[i]);
            string details = System.Text.Encoding.UTF8.GetString(fields[i + 1]);
            if (details.StartsWith('f'))
            {
                details += ", " + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Contents(Path.Combine(folder, name))));
            }

            entries[FileNameBytes.Printable(name)] = details;
        }

        return entries;
    }

    private static IEnumerable<byte[]> Split(byte[] bytes)
    {
        int start = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == 0)
            {
                yield return bytes[start..i];
                start = i + 1;
            }
        }
    }

    // Read by the name's bytes, as the loader opens it.
    private static byte[] Contents(string path)
    {
        if (PosixFile.OpenRegularFile(path, out Microsoft.Win32.SafeHandles.SafeFileHandle? handle, out _) != FileKind.Regular)
        {
            throw new InvalidOperationException($"'{FileNameBytes.Printable(path)}' is no longer a regular file");
        }

        using var stream = new FileStream(handle!, FileAccess.Read);
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static SKBitmap Noise(int width, int height)
    {
        var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var random = new Random(width * 31 + height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            }
        }

        return bitmap;
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using SKData data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    // IHDR is the first chunk: its width and height follow the 8-byte signature, the chunk's length and its
    // type; the chunk's CRC (over type and data) is rewritten so that only the size is hostile.
    private static byte[] WithPngSize(byte[] png, int width, int height)
    {
        byte[] hostile = (byte[])png.Clone();
        BinaryPrimitives.WriteInt32BigEndian(hostile.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(hostile.AsSpan(20), height);
        uint crc = Crc32(hostile.AsSpan(12, 17));
        BinaryPrimitives.WriteUInt32BigEndian(hostile.AsSpan(29), crc);
        return hostile;
    }

    // PNG's CRC-32 (ISO 3309, reflected polynomial EDB88320), bit by bit: 17 bytes need no table.
    private static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }

    // The baseline frame header (FFC0) marked as another coding process, with another sample precision.
    private static byte[] WithJpegFrame(byte[] jpeg, byte frameMarker, byte precision)
    {
        byte[] hostile = (byte[])jpeg.Clone();
        int frame = hostile.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        Debug.Assert(frame > 0, "SkiaSharp writes baseline JPEGs");
        hostile[frame + 1] = frameMarker;
        hostile[frame + 4] = precision;
        return hostile;
    }

    // The baseline frame header (FFC0): length, precision, then height and width as 16-bit numbers.
    private static byte[] WithJpegSize(byte[] jpeg, int width, int height)
    {
        byte[] hostile = (byte[])jpeg.Clone();
        int frame = hostile.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        Debug.Assert(frame > 0, "SkiaSharp writes baseline JPEGs");
        BinaryPrimitives.WriteUInt16BigEndian(hostile.AsSpan(frame + 5), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(hostile.AsSpan(frame + 7), (ushort)width);
        return hostile;
    }
}
