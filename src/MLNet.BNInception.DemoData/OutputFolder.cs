namespace MLNet.BNInception.DemoData;

/// <summary>
/// The output folder of the demo and of the experiment programs, checked before any work: a folder
/// that cannot be made, or that takes no new file (read-only, a full disk, a path through a file),
/// would otherwise fail only when the first result is written, after minutes of loading and training.
/// </summary>
public static class OutputFolder
{
    /// <summary>Creates <paramref name="path"/> if it is missing and checks that a new file can be written in it; returns its full path.</summary>
    /// <param name="path">The folder as the user gave it.</param>
    /// <param name="option">The option that gave it (<c>--output</c>, <c>--out</c>), named in the message.</param>
    /// <exception cref="ArgumentException">No file can be written there; the one-line message names the option and the folder.</exception>
    public static string Prepare(string path, string option)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            string full = Path.GetFullPath(path);
            Directory.CreateDirectory(full);
            // Every result is written to a new file in the folder and renamed into place: a probe file,
            // created and removed, is the same operation.
            string probe = Path.Combine(full, $".probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1, FileOptions.DeleteOnClose))
            {
            }

            return full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ArgumentException($"{option} '{path}': no file can be written there ({e.Message.ReplaceLineEndings(" ").Trim()}); choose another folder");
        }
    }
}
