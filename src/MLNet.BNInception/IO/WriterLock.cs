using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MLNet.BNInception.IO;

/// <summary>
/// One writer at a time on a file that a long job appends to, such as the score job's output: an
/// exclusive lock on the whole file, held for as long as the stream that took it stays open, and let
/// go by the kernel when the process ends however it ends (a kill included).
/// </summary>
/// <remarks>
/// On Linux it is an open file description lock (<c>fcntl(F_OFD_SETLK)</c>, Linux 3.15 and later). .NET's own
/// <c>FileShare.None</c> would be an exclusive <c>flock</c>, which also turns away every .NET program
/// that opens the file to read it while the job runs (.NET takes a shared <c>flock</c> on open); this
/// lock is seen by other writers that ask for it and by nothing else, so readers, <c>tail</c> or a
/// .NET progress monitor alike, read on (on a local file system: NFS emulates <c>flock</c> with these
/// locks, and there a .NET reader's open is refused while the job writes). On Windows .NET's sharing
/// modes already keep a second writer out (a file opened with <c>FileShare.Read</c> cannot be opened
/// for writing again); on other systems this takes no lock.
/// </remarks>
internal static partial class WriterLock
{
    private const string LibC = "libc.so.6";

    // Linux's values on x86-64 and ARM64 alike.
    private const int SetOpenFileDescriptionLock = 37;   // F_OFD_SETLK: take or fail, never wait
    private const short WriteLock = 1;                   // F_WRLCK
    private const short FromTheStart = 0;                // SEEK_SET
    private const int WouldBlock = 11;                   // EAGAIN
    private const int AccessDenied = 13;                 // EACCES, which POSIX allows in its place
    private const int Interrupted = 4;

    /// <summary>
    /// Locks the whole of <paramref name="file"/> for writing, without waiting: false when another open
    /// file, in this process or another, holds the lock. Lets go when <paramref name="file"/> is closed.
    /// Where the lock is not needed (not Linux) it is true.
    /// </summary>
    /// <exception cref="IOException">The system refused the lock for another reason (the message says which).</exception>
    public static bool TryTake(SafeFileHandle file, string path)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            var whole = new FileLockRange { Type = WriteLock, Whence = FromTheStart, Start = 0, Length = 0 };
            while (true)
            {
                if (Fcntl((int)file.DangerousGetHandle(), SetOpenFileDescriptionLock, ref whole) == 0)
                {
                    return true;
                }

                int error = Marshal.GetLastPInvokeError();
                if (error is WouldBlock or AccessDenied)
                {
                    return false;
                }

                if (error != Interrupted)
                {
                    throw new IOException($"'{FileNameBytes.Printable(path)}' cannot be locked for writing: {Marshal.GetPInvokeErrorMessage(error)} (errno {error})", error);
                }
            }
        }
        finally
        {
            if (added)
            {
                file.DangerousRelease();
            }
        }
    }

    // struct flock as Linux lays it out on 64-bit systems; a length of 0 reaches to the end of the file,
    // however far it grows, and the process id must be 0 for an open file description lock.
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    private struct FileLockRange
    {
        [FieldOffset(0)]
        public short Type;

        [FieldOffset(2)]
        public short Whence;

        [FieldOffset(8)]
        public long Start;

        [FieldOffset(16)]
        public long Length;

        [FieldOffset(24)]
        public int ProcessId;
    }

    [LibraryImport(LibC, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int descriptor, int command, ref FileLockRange range);
}
