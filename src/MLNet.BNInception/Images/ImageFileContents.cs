using Microsoft.Win32.SafeHandles;
using MLNet.BNInception.IO;
using SkiaSharp;

namespace MLNet.BNInception.Images;

/// <summary>
/// Reads an image file's bytes for <see cref="ImageFileReader"/>: only a regular file (a named pipe, device or
/// socket is named, never opened), only up to a size no image comes near, and whole, or the reason it could not be.
/// </summary>
internal static class ImageFileContents
{
    /// <summary>Why a file whose first bytes are <paramref name="header"/> is not read further, or null to read it.</summary>
    public delegate ImageReadFailure? HeaderCheck(ReadOnlySpan<byte> header);

    /// <summary>
    /// The most bytes a file may have: no image this loader is for comes near it.
    /// </summary>
    internal const int MaximumFileBytes = 1 << 30;

    /// <summary>The most bytes read from a file that reports a size of 0 (procfs, some FUSE mounts).</summary>
    internal const int MaximumUnsizedFileBytes = 64 << 20;

    /// <summary>The failure for a path that names a directory; <paramref name="shown"/> is the path as messages show it.</summary>
    public static ImageReadFailure DirectoryFailure(string shown) =>
        new(InvalidImageReason.Directory, $"'{shown}' is a directory; the row needs the path of an image file in it");

    /// <summary>
    /// The whole of the file at <paramref name="fullPath"/> in native memory, where the codec reads it (ML.NET's
    /// loader reads whole files too, so no file stays open, and the compressed bytes are small next to the
    /// decoded pixels); null, and why, when it is not a regular file that can be read whole.
    /// </summary>
    /// <param name="fullPath">The file, as resolved from the row's path.</param>
    /// <param name="notFound">The failure for a missing file, which says where relative paths lead.</param>
    /// <param name="checkHeader">
    /// Looks at the file's first <see cref="ImageFormatSignature.HeaderLength"/> bytes (fewer in a shorter file)
    /// before the rest is read: a file of a gigabyte that no image starts like is refused from them.
    /// </param>
    /// <param name="failure">Why the file was not read; null when it was.</param>
    public static SKData? Read(string fullPath, Func<ImageReadFailure> notFound, HeaderCheck checkHeader, out ImageReadFailure? failure)
    {
        failure = null;
        string shown = FileNameBytes.Printable(fullPath);
        try
        {
            using FileStream? stream = OpenRegularFile(fullPath, shown, notFound, out failure);
            if (stream is null)
            {
                return null;
            }

            long length = stream.Length;
            if (length > MaximumFileBytes)
            {
                failure = new(InvalidImageReason.TooLarge, $"'{shown}' has {length} bytes; files over {MaximumFileBytes} bytes (1 GB) are not read as images");
                return null;
            }

            if (length == 0)
            {
                // Some file systems (some FUSE mounts) report 0 for files that have content: read it, but no
                // further than a limit of its own, well below the one for files that state their size. The
                // kernel's own (/proc, /sys) are refused before, where the C library is at hand (FileKind.KernelFile).
                MemoryStream copy = ReadAtMost(stream, MaximumUnsizedFileBytes + 1L);
                if (copy.Length == 0)
                {
                    failure = new(InvalidImageReason.EmptyFile, $"'{shown}' is empty (0 bytes): it was created but never written");
                    return null;
                }

                if (copy.Length > MaximumUnsizedFileBytes)
                {
                    failure = new(InvalidImageReason.TooLarge, $"'{shown}' reports no size and holds more than {MaximumUnsizedFileBytes} bytes (64 MB); it is not read as an image");
                    return null;
                }

                return SKData.CreateCopy(copy.GetBuffer().AsSpan(0, (int)copy.Length));
            }

            Span<byte> header = stackalloc byte[(int)Math.Min(length, ImageFormatSignature.HeaderLength)];
            int read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read == header.Length && checkHeader(header) is { } refused)
            {
                failure = refused;
                return null;
            }

            SKData data = SKData.Create(length);
            header[..read].CopyTo(data.Span);
            read += read < header.Length ? 0 : stream.ReadAtLeast(data.Span[header.Length..], (int)length - header.Length, throwOnEndOfStream: false);
            if (read < length)
            {
                // The file shrank between Length and Read: another process is writing it.
                data.Dispose();
                failure = new(InvalidImageReason.Truncated, $"'{shown}' shrank from {length} to {read} bytes while it was read");
                return null;
            }

            return data;
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            failure = notFound();
            return null;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            failure = new(InvalidImageReason.Unreadable, $"'{shown}' cannot be read: {error.Message}");
            return null;
        }
    }

    private static MemoryStream ReadAtMost(Stream stream, long limit)
    {
        var copy = new MemoryStream();
        byte[] chunk = new byte[81920];
        int read;
        while (copy.Length < limit && (read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, limit - copy.Length))) > 0)
        {
            copy.Write(chunk, 0, read);
        }

        return copy;
    }

    // Opening a named pipe waits for a writer, perhaps for ever, and a device such as /dev/zero never ends:
    // neither is opened for reading. Where the C library is at hand, the file is opened without waiting and
    // its kind checked on the open handle, so nothing can swap it between the check and the read.
    private static FileStream? OpenRegularFile(string fullPath, string shown, Func<ImageReadFailure> notFound, out ImageReadFailure? failure)
    {
        failure = null;
        if (!PosixFile.IsAvailable)
        {
            return new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        }

        FileKind kind = PosixFile.OpenRegularFile(fullPath, out SafeFileHandle? handle, out _);
        switch (kind)
        {
            case FileKind.Regular:
                try
                {
                    return new FileStream(handle!, FileAccess.Read, bufferSize: 1);
                }
                catch
                {
                    handle!.Dispose();
                    throw;
                }

            case FileKind.Missing:
                failure = notFound();
                return null;
            case FileKind.Directory:
                failure = DirectoryFailure(shown);
                return null;
            default:
                failure = new(InvalidImageReason.NotARegularFile,
                    $"'{shown}' is {PosixFile.Describe(kind)}, not a regular file: reading it could wait for ever or never end, so it is not read");
                return null;
        }
    }
}
