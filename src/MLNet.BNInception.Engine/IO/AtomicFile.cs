using System.Text;

namespace MLNet.BNInception.Engine.IO;

/// <summary>
/// The one way every assembly here writes a file whole or not at all. The contents go to a new file
/// of a unique name in the target's folder (so the rename stays on one file system, and two writers
/// never share a temporary file), which is closed — flushed to the disk first when asked — and then
/// renamed over the target. A reader of the target sees the old bytes or the new ones, never a mix;
/// a writer that throws, or a cancellation, leaves the target as it was and no temporary file. A
/// process ended outright leaves its temporary file, which a later write of the target removes
/// (<see cref="AtomicTemporaryFile"/>).
/// </summary>
/// <remarks>
/// <para>
/// <c>flushToDisk</c> is each caller's choice, stated where it writes: fsync before the rename
/// makes the new contents survive a power cut once the call returns (a checkpoint, hours of
/// training); without it the file is still never torn while the system runs, which is enough for
/// output that a rerun makes again. The folder is not synced after the rename: after a power cut the
/// target may hold the old contents, never a part of the new ones.
/// </para>
/// <para>
/// The build step in <c>buildTransitive/LibTorchSharpVersionFix.cs</c> replaces a file its own way:
/// MSBuild compiles it on its own, for netstandard2.0, so it cannot reference this assembly.
/// </para>
/// </remarks>
internal static class AtomicFile
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>Writes what <paramref name="write"/> writes to its stream to <paramref name="path"/>, replacing any file there.</summary>
    /// <param name="path">The file to write; its folder must exist.</param>
    /// <param name="write">Writes the whole contents; it may leave the stream open or close it.</param>
    /// <param name="flushToDisk">Whether the contents reach the disk before the rename (fsync).</param>
    /// <param name="cancellationToken">Checked before the file is created and again, once it is written, before the rename.</param>
    public static void Write(string path, Action<Stream> write, bool flushToDisk, CancellationToken cancellationToken = default)
    {
        using StagedFile staged = Stage(path, write, flushToDisk, cancellationToken);
        staged.Commit();
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/>, replacing any file there.</summary>
    public static void WriteAllBytes(string path, byte[] bytes, bool flushToDisk)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes), flushToDisk);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark, as <see cref="File.WriteAllText(string, string?)"/> does.</summary>
    public static void WriteAllText(string path, string text, bool flushToDisk)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, Utf8.GetBytes(text), flushToDisk);
    }

    /// <summary>Writes each of <paramref name="lines"/> and a line break after it, as <see cref="File.WriteAllLines(string, IEnumerable{string})"/> does.</summary>
    public static void WriteAllLines(string path, IEnumerable<string> lines, bool flushToDisk)
    {
        ArgumentNullException.ThrowIfNull(lines);
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, Utf8, leaveOpen: true);
            foreach (string line in lines)
            {
                writer.WriteLine(line);
            }
        }, flushToDisk);
    }

    /// <summary>
    /// Writes the temporary file for <paramref name="path"/> and closes it, but leaves the rename to
    /// <see cref="StagedFile.Commit"/>: for files that must replace their targets together, each
    /// written whole before any is renamed. Disposing a staged file that was not committed deletes it.
    /// </summary>
    /// <inheritdoc cref="Write" path="/param"/>
    public static StagedFile Stage(string path, Action<Stream> write, bool flushToDisk, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        cancellationToken.ThrowIfCancellationRequested();
        string target = Path.GetFullPath(path);
        AtomicTemporaryFile.RemoveOrphansOf(target);
        string temporary = AtomicTemporaryFile.NewFor(target);

        // CreateNew: a name already taken is an error, never written through (and not deleted below).
        var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        try
        {
            using (file)
            {
                write(file);
                if (file.CanWrite)
                {
                    file.Flush(flushToDisk);
                }
                else if (flushToDisk)
                {
                    // The writer closed the stream (as some serializers do): the file is opened again to sync it.
                    using var reopened = new FileStream(temporary, FileMode.Open, FileAccess.Write, FileShare.None);
                    reopened.Flush(flushToDisk: true);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            return new StagedFile(temporary, target);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>A temporary file written whole, waiting to be renamed over its target.</summary>
    public sealed class StagedFile : IDisposable
    {
        private readonly string _temporary;
        private bool _finished;

        internal StagedFile(string temporary, string target)
        {
            _temporary = temporary;
            Target = target;
        }

        /// <summary>The full path the file replaces.</summary>
        public string Target { get; }

        /// <summary>Renames the temporary file over <see cref="Target"/>: one rename, atomic within the folder.</summary>
        public void Commit()
        {
            ObjectDisposedException.ThrowIf(_finished, this);
            File.Move(_temporary, Target, overwrite: true);
            _finished = true;
        }

        /// <summary>Deletes the temporary file unless it was committed.</summary>
        public void Dispose()
        {
            if (!_finished)
            {
                _finished = true;
                File.Delete(_temporary);
            }
        }
    }
}
