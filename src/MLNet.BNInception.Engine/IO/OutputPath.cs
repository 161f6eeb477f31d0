namespace MLNet.BNInception.Engine.IO;

/// <summary>
/// Why a file cannot be written at a path, found before the work that makes its contents. Every file here is
/// written through a new file in the target's folder, renamed over it (<see cref="AtomicFile"/>): a missing
/// folder, or one that takes no new file (read-only, another user's, a full disk), would otherwise fail only
/// when the first checkpoint is written, after an epoch of training.
/// </summary>
internal static class OutputPath
{
    /// <summary>Null when a file can be written at <paramref name="path"/>; otherwise why not, naming the path.</summary>
    public static string? Problem(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return "the path is empty.";
        }

        string folder;
        try
        {
            if (Directory.Exists(path))
            {
                return $"'{path}' is a folder: give the path of a file to write, in that folder or elsewhere.";
            }

            folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Path.GetPathRoot(Path.GetFullPath(path))!;
        }
        catch (Exception e) when (e is ArgumentException or IOException or NotSupportedException)
        {
            return $"'{path}' is not a path a file can have ({e.Message}).";
        }

        if (!Directory.Exists(folder))
        {
            return File.Exists(folder)
                ? $"'{path}': '{folder}' is a file, not a folder."
                : $"'{path}': the folder '{folder}' does not exist; create it first.";
        }

        return FolderRefusal(folder) is string refusal ? $"'{path}': {refusal}" : null;
    }

    /// <summary>
    /// Null when <paramref name="folder"/> takes a new file; otherwise why not. A probe file is created and
    /// removed: permissions alone do not tell (a read-only mount, a full disk, an access-control list).
    /// </summary>
    public static string? FolderRefusal(string folder)
    {
        string probe = Path.Combine(folder, $".bninception-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose))
            {
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"no file can be written in the folder '{folder}' ({e.Message}).";
        }
    }
}
