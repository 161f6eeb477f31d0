using System.Buffers;
using System.IO.Compression;
using ICSharpCode.SharpZipLib.Checksum;

namespace MLNet.BNInception.ModelFiles;

/// <summary>
/// The CRC-32 a zip file records for each entry, checked. Neither .NET's <see cref="ZipArchive"/> (10.0) nor ML.NET's
/// model loader checks it: a byte flipped inside a compressed network still inflates, to other weights, and the model
/// loaded and scored wrongly without a word.
/// </summary>
internal static class ZipEntryChecksums
{
    /// <summary>Null when <paramref name="content"/>, the whole of <paramref name="entry"/>, has the CRC-32 the zip records; otherwise what differs.</summary>
    public static string? Mismatch(ZipArchiveEntry entry, byte[] content)
    {
        var crc = new Crc32();
        crc.Update(new ArraySegment<byte>(content));
        return Mismatch(entry, crc);
    }

    /// <summary>
    /// Reads every entry of <paramref name="zip"/> through: null when each has the CRC-32 the zip records, otherwise
    /// the first that does not, and what differs.
    /// </summary>
    /// <exception cref="InvalidDataException">An entry cannot be inflated.</exception>
    public static (ZipArchiveEntry Entry, string Mismatch)? FirstMismatch(ZipArchive zip)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                var crc = new Crc32();
                using Stream stream = entry.Open();
                for (int read; (read = stream.Read(buffer)) > 0;)
                {
                    crc.Update(new ArraySegment<byte>(buffer, 0, read));
                }

                if (Mismatch(entry, crc) is string mismatch)
                {
                    return (entry, mismatch);
                }
            }

            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string? Mismatch(ZipArchiveEntry entry, Crc32 crc) =>
        (uint)crc.Value == entry.Crc32 ? null : $"its bytes have the CRC-32 {(uint)crc.Value:X8}, where the zip file records {entry.Crc32:X8}";
}
