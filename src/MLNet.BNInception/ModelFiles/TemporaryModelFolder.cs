using System.Globalization;
using System.Text.RegularExpressions;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.ModelFiles;

/// <summary>
/// A temporary folder for a model's large files (about 40 MB for ten classes): the ONNX export that
/// <see cref="MLNetModelExport"/> stages while a model is saved, and, in the command-line tool, the
/// copy of its network ML.NET makes when a model is loaded. Its user deletes it when done, but a
/// process ended outright (<c>kill -9</c>, a crash) cannot; so on Linux the folder's name says which
/// process owns it, and each later save or load removes the folders whose owner is provably gone.
/// </summary>
/// <remarks>
/// The name is <c>bninception-model-PID-START-BOOT-PIDNS-XXXXXX</c>: the owner's process id and its
/// start time (clock ticks after boot, from /proc: a process id used again by another process has
/// another start time), the boot's id and the process-id namespace. A folder is removed only when its
/// name has exactly this form, it is a folder and not a link, and it was made in this boot and this
/// namespace (where its process id can be looked up) by a process that no longer runs. Anything else
/// in the temporary folder, the folders of older versions of the tool included, is left alone.
/// </remarks>
internal static partial class TemporaryModelFolder
{
    private const string Prefix = "bninception-model-";

    // PID-START-BOOT-PIDNS, or null where /proc cannot tell.
    private static readonly string? OwnerOfThisProcess = ProcessOwner.StartOfThisProcess is ulong start
        ? string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}-{start}-{ProcessOwner.BootId}-{ProcessOwner.PidNamespace}")
        : null;

    /// <summary>Removes orphaned model folders, then creates this process's own and returns its path.</summary>
    /// <exception cref="IOException">
    /// No folder can be created in the temporary folder (<c>$TMPDIR</c>, else <c>/tmp</c>): it is
    /// missing or takes no new folders. The message names it and says to set TMPDIR.
    /// </exception>
    public static string Create()
    {
        string? owner = OwnerOfThisProcess;
        if (owner is not null)
        {
            RemoveOrphans();
        }

        try
        {
            return Directory.CreateTempSubdirectory(Prefix + (owner is null ? "" : owner + "-")).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // .NET says only "Unable to find the specified file." for a missing TMPDIR, and for one
            // that takes no folders (/proc), naming nothing.
            string parent = Path.GetTempPath();
            string reason = !Directory.Exists(parent) ? "it does not exist"
                : e is FileNotFoundException ? "no folder can be created in it"
                : $"no folder can be created in it: {e.Message}";
            throw new IOException(
                $"The temporary folder '{parent}' cannot take a folder for the model's files ({reason}); set TMPDIR to a folder that exists and is writable.", e);
        }
    }

    /// <summary>Deletes <paramref name="folder"/> and what is in it; one already gone, or that cannot be deleted now, is left to a later run.</summary>
    public static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone, or a file in it still open elsewhere: nothing to fail the caller's work for.
        }
    }

    private static void RemoveOrphans()
    {
        IEnumerable<DirectoryInfo> candidates;
        try
        {
            candidates = new DirectoryInfo(Path.GetTempPath()).EnumerateDirectories(Prefix + "*").ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (DirectoryInfo folder in candidates)
        {
            if (folder.LinkTarget is null && IsOrphaned(folder.Name))
            {
                try
                {
                    folder.Delete(recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Another run removing it at the same moment, or not ours to remove after all.
                }
            }
        }
    }

    private static bool IsOrphaned(string name)
    {
        Match owner = OwnedFolderName().Match(name);
        if (!owner.Success || owner.Groups["boot"].Value != ProcessOwner.BootId || owner.Groups["namespace"].Value != ProcessOwner.PidNamespace
            || !int.TryParse(owner.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            || !ulong.TryParse(owner.Groups["start"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong start))
        {
            return false;
        }

        return ProcessOwner.HasEnded(pid, start);
    }

    [GeneratedRegex(@"^bninception-model-(?<pid>[0-9]+)-(?<start>[0-9]+)-(?<boot>[0-9a-f]{32})-(?<namespace>[0-9]+)-[A-Za-z0-9]+$")]
    private static partial Regex OwnedFolderName();
}
