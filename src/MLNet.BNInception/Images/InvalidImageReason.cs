namespace MLNet.BNInception.Images;

/// <summary>Why the safe image loader could not load a row's image.</summary>
public enum InvalidImageReason
{
    /// <summary>The row's path is empty or only white space.</summary>
    EmptyPath,

    /// <summary>No file exists at the path.</summary>
    FileNotFound,

    /// <summary>The path names a directory, not a file.</summary>
    Directory,

    /// <summary>The file has zero bytes: created but never written.</summary>
    EmptyFile,

    /// <summary>The file exists but cannot be read (permissions, I/O error).</summary>
    Unreadable,

    /// <summary>The file's first bytes match no image format: it is not an image, whatever its extension says.</summary>
    NotAnImage,

    /// <summary>The file is an image in a format SkiaSharp cannot decode (TIFF, HEIF, AVIF, PSD, ...).</summary>
    UnsupportedFormat,

    /// <summary>The file ends before its image data does: a half-written or interrupted copy.</summary>
    Truncated,

    /// <summary>The image data is damaged: the decoder met bytes that no valid image contains.</summary>
    Corrupt,

    /// <summary>The file has more than 1 GB (or, of a size the file system does not report, more than 64 MB), or the decoded image would not fit in one .NET array (about 2 GB of pixels).</summary>
    TooLarge,

    /// <summary>
    /// The path names a named pipe, a device (such as /dev/zero) or a socket: reading it could wait for ever or
    /// never end, so it is not opened at all (on Linux with glibc; elsewhere .NET's file API opens it).
    /// </summary>
    NotARegularFile,

    /// <summary>
    /// The image has more pixels than the loader's limit (<see cref="SafeImageLoadingOptions.MaximumPixels"/>) at the
    /// size it would decode at; it is refused from its header, before any memory is taken for its pixels.
    /// </summary>
    TooManyPixels,
}
