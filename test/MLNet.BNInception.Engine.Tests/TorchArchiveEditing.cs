using System.IO.Compression;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Reads and rewrites the records of a torch.save zip archive, to build damaged or foreign files by
/// hand. Rewriting goes through ZipArchive, so checksums match and a reader must notice the change itself.
/// </summary>
internal static class TorchArchiveEditing
{
    /// <summary>The archive with each record passed through <paramref name="change"/> (null drops it).</summary>
    public static byte[] Rewrite(byte[] archive, Func<string, byte[], byte[]?> change)
    {
        using var source = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
        using var output = new MemoryStream();
        using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (ZipArchiveEntry entry in source.Entries)
            {
                byte[]? data = change(entry.FullName, ReadRecord(source, entry.FullName));
                if (data is not null)
                {
                    using Stream stream = target.CreateEntry(entry.FullName, CompressionLevel.NoCompression).Open();
                    stream.Write(data);
                }
            }
        }

        return output.ToArray();
    }

    /// <summary>The bytes of record <paramref name="name"/> (its full path in the archive).</summary>
    public static byte[] ReadRecord(ZipArchive zip, string name)
    {
        ZipArchiveEntry? entry = zip.GetEntry(name);
        Assert.That(entry, Is.Not.Null, $"record '{name}'");
        using Stream stream = entry!.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Where <paramref name="pattern"/> first occurs in <paramref name="data"/>; fails the test if nowhere.</summary>
    public static int IndexOf(byte[] data, byte[] pattern)
    {
        int index = data.AsSpan().IndexOf(pattern);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), "pattern not found");
        return index;
    }

    /// <summary><paramref name="data"/> with the first <paramref name="pattern"/> replaced.</summary>
    public static byte[] Replace(byte[] data, byte[] pattern, byte[] replacement)
    {
        int index = IndexOf(data, pattern);
        return [.. data[..index], .. replacement, .. data[(index + pattern.Length)..]];
    }
}
