using System.Diagnostics;

namespace MLNet.BNInception.Tests;

/// <summary>
/// A tmpfs of a few megabytes for this process to fill, as a full disk: mounted in a mount namespace
/// of a child process's own (<c>unshare --mount</c>, as FullDiskTests mount theirs) and reached
/// through that child's <c>/proc/PID/root</c>, so the machine's mounts never see it. It goes with the
/// child, which waits for its standard input to close: on dispose, or when this process ends however
/// it ends. Needs root, as FullDiskTests do.
/// </summary>
internal sealed class SmallDisk : IDisposable
{
    private readonly Process _holder;
    private readonly string _mountPoint;

    /// <summary>
    /// Mounts a tmpfs with <paramref name="options"/> (<c>size=1m</c>, say), then runs
    /// <paramref name="prepare"/> (bash, with the tmpfs in <c>$DISK</c>) in its namespace.
    /// </summary>
    public SmallDisk(string options, string prepare = "true")
    {
        _mountPoint = Directory.CreateTempSubdirectory("bninception-disk-").FullName;
        var start = new ProcessStartInfo("unshare", ["--mount", "--propagation", "private", "bash", "-c",
            $"""mount -t tmpfs -o '{options}' tmpfs "$DISK" && {prepare} && echo mounted && exec cat"""])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DISK"] = _mountPoint },
        };
        _holder = Process.Start(start)!;
        Path = $"/proc/{_holder.Id}/root{_mountPoint}";
        if (_holder.StandardOutput.ReadLine() != "mounted")
        {
            string error = _holder.StandardError.ReadToEnd();
            Dispose();
            Assert.Fail($"no tmpfs mounted with {options} ({prepare}): {error}");
        }
    }

    /// <summary>The tmpfs, as this process reaches it.</summary>
    public string Path { get; }

    /// <summary>What is in the tmpfs, relative to it.</summary>
    public string[] Entries() => Directory.EnumerateFileSystemEntries(Path, "*", SearchOption.AllDirectories)
        .Select(entry => System.IO.Path.GetRelativePath(Path, entry)).Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        _holder.StandardInput.Close();
        _holder.WaitForExit();
        _holder.Dispose();
        Directory.Delete(_mountPoint);
    }
}
