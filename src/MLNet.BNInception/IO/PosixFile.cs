using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MLNet.BNInception.IO;

/// <summary>What a path names on disk, as the kernel sees it.</summary>
internal enum FileKind
{
    /// <summary>Nothing: no such file, or a folder on the way is missing.</summary>
    Missing,

    /// <summary>A regular file: the only kind whose bytes are an image, a list or a model.</summary>
    Regular,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A named pipe (FIFO): reading it waits for a writer, perhaps for ever.</summary>
    Pipe,

    /// <summary>A character device, such as /dev/zero or a terminal: endless, or waiting for input.</summary>
    CharacterDevice,

    /// <summary>A block device, such as a whole disk.</summary>
    BlockDevice,

    /// <summary>A Unix domain socket.</summary>
    Socket,

    /// <summary>
    /// A file of a file system the kernel makes up as it is read (/proc, /sys, debugfs, tracefs, …)
    /// that states no size: reading one can wait for ever (/proc/kmsg, trace_pipe) or take what it
    /// holds away from others (the kernel's log).
    /// </summary>
    KernelFile,

    /// <summary>Anything else the kernel reports.</summary>
    Other,
}

/// <summary>A file's identity: the same device and inode are the same file, whatever paths and links lead to it.</summary>
internal readonly record struct FileIdentity(uint DeviceMajor, uint DeviceMinor, ulong Inode);

/// <summary>
/// The few calls into the C library that .NET's file API does not offer on Linux: opening a file without
/// ever blocking (a named pipe blocks <c>open</c> until a writer comes), telling a regular file from a
/// pipe, device or socket before reading it, comparing files by device and inode rather than by path, and
/// opening a name whose bytes are not UTF-8 (see <see cref="FileNameBytes"/>). On other systems
/// <see cref="IsAvailable"/> is false and callers use .NET's own API.
/// </summary>
internal static partial class PosixFile
{
    private const string LibC = "libc.so.6";

    // Linux's values on x86-64 and ARM64 alike.
    private const int OpenReadOnly = 0x0;
    private const int OpenNonBlocking = 0x800;
    private const int OpenCloseOnExec = 0x80000;
    private const int OpenNoControllingTerminal = 0x100;
    private const int GetFlags = 3;
    private const int SetFlags = 4;
    private const int AtCurrentDirectory = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxBufferBytes = 256;
    private const int StatfsBufferBytes = 256;

    private const int NoSuchFile = 2;
    private const int Interrupted = 4;
    private const int NotADirectory = 20;
    private const int NoSuchDeviceOrAddress = 6;

    /// <summary>
    /// True where these calls exist and work: Linux with glibc 2.28 or later (statx), and a kernel or
    /// container that allows statx (some seccomp profiles refuse it).
    /// </summary>
    public static bool IsAvailable { get; } = Probe();

    private static bool Probe()
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryLoad(LibC, out IntPtr library)
            || !NativeLibrary.TryGetExport(library, "statx", out _) || !NativeLibrary.TryGetExport(library, "open", out _))
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[StatxBufferBytes];
        return Statx(AtCurrentDirectory, "/\0"u8.ToArray(), 0, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) == 0;
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading if it is a regular file, without waiting on a pipe or device;
    /// returns its kind either way, and the open handle (null unless <see cref="FileKind.Regular"/>) and length.
    /// </summary>
    /// <exception cref="IOException">The file exists but cannot be opened (permission, I/O error); the message says why.</exception>
    public static FileKind OpenRegularFile(string path, out SafeFileHandle? handle, out long length)
    {
        handle = null;
        length = 0;

        // Not even opened unless it is a regular file: opening a device can have effects of its own (a
        // terminal becoming the controlling one, a tape rewinding on close, a watchdog arming). The kind is
        // checked again on the open handle, in case the path was swapped in between.
        byte[] name = FileNameBytes.EncodeNullTerminated(path);
        FileKind named = KindOf(name, path);
        if (named != FileKind.Regular)
        {
            return named;
        }

        int descriptor;
        do
        {
            descriptor = Open(name, OpenReadOnly | OpenNonBlocking | OpenCloseOnExec | OpenNoControllingTerminal);
        }
        while (descriptor < 0 && Marshal.GetLastPInvokeError() == Interrupted);

        if (descriptor < 0)
        {
            int error = Marshal.GetLastPInvokeError();

            // A socket cannot be opened at all (ENXIO); what it is still shows.
            return error is NoSuchFile or NotADirectory ? FileKind.Missing
                : error == NoSuchDeviceOrAddress ? KindOf(path)
                : throw ErrorFor(error, path);
        }

        var opened = new SafeFileHandle(descriptor, ownsHandle: true);
        try
        {
            (FileKind kind, _, long size) = Describe(opened, path);
            if (kind == FileKind.Regular && size == 0 && IsOnKernelFileSystem(opened))
            {
                kind = FileKind.KernelFile;
            }

            if (kind != FileKind.Regular)
            {
                opened.Dispose();
                return kind;
            }

            // Reads of a regular file do not block anyway, but a FUSE file system may honour the flag and
            // answer EAGAIN: back to ordinary reads.
            bool added = false;
            try
            {
                opened.DangerousAddRef(ref added);
                int openDescriptor = (int)opened.DangerousGetHandle();
                int flags = Fcntl(openDescriptor, GetFlags, 0);
                if (flags < 0 || Fcntl(openDescriptor, SetFlags, flags & ~OpenNonBlocking) < 0)
                {
                    throw ErrorFor(Marshal.GetLastPInvokeError(), path);
                }
            }
            finally
            {
                if (added)
                {
                    opened.DangerousRelease();
                }
            }

            handle = opened;
            length = size;
            return kind;
        }
        catch
        {
            opened.Dispose();
            throw;
        }
    }

    /// <summary>The identity of the file <paramref name="path"/> leads to (links followed), or null when nothing is there.</summary>
    /// <exception cref="IOException">The path cannot be looked up (permission, I/O error).</exception>
    public static FileIdentity? IdentityOf(string path)
    {
        Span<byte> buffer = stackalloc byte[StatxBufferBytes];
        return LookUp(FileNameBytes.EncodeNullTerminated(path), path, buffer) ? IdentityIn(buffer) : null;
    }

    /// <summary>The kind of file <paramref name="path"/> leads to (links followed).</summary>
    /// <exception cref="IOException">The path cannot be looked up (permission, I/O error).</exception>
    public static FileKind KindOf(string path) => KindOf(FileNameBytes.EncodeNullTerminated(path), path);

    private static FileKind KindOf(byte[] name, string path)
    {
        Span<byte> buffer = stackalloc byte[StatxBufferBytes];
        return LookUp(name, path, buffer) ? KindIn(buffer) : FileKind.Missing;
    }

    // statx of the NUL-terminated name into buffer: false when nothing is there.
    private static bool LookUp(byte[] name, string path, Span<byte> buffer)
    {
        if (Statx(AtCurrentDirectory, name, 0, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) == 0)
        {
            return true;
        }

        int error = Marshal.GetLastPInvokeError();
        return error is NoSuchFile or NotADirectory ? false : throw ErrorFor(error, path);
    }

    /// <summary>How to say a kind of file in a message: "a named pipe", "a character device", ...</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "nothing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a directory",
        FileKind.Pipe => "a named pipe (FIFO)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.KernelFile => "a file the kernel writes as it is read (as in /proc or /sys)",
        _ => "a special file",
    };

    private static (FileKind Kind, FileIdentity Identity, long Length) Describe(SafeFileHandle handle, string path)
    {
        Span<byte> buffer = stackalloc byte[StatxBufferBytes];
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int descriptor = (int)handle.DangerousGetHandle();
            if (Statx(descriptor, [0], AtEmptyPath, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                throw ErrorFor(Marshal.GetLastPInvokeError(), path);
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return (KindIn(buffer), IdentityIn(buffer), BitConverter.ToInt64(buffer[40..48]));
    }

    // The magic numbers of linux/magic.h for the file systems whose files the kernel writes as they are
    // read: proc, sysfs, debugfs, tracefs, securityfs, configfs, cgroup, cgroup2, bpf, pstore, efivarfs.
    private static readonly HashSet<long> KernelFileSystems =
        [0x9FA0, 0x62656572, 0x64626720, 0x74726163, 0x73636673, 0x62656570, 0x27E0EB, 0x63677270, 0xCAFE4A11, 0x6165676C, 0xDE5E81E4];

    // struct statfs starts with f_type, 8 bytes on x86-64 and ARM64 (statfs(2)); the buffer covers the
    // whole struct (120 bytes on both) with room to spare.
    private static bool IsOnKernelFileSystem(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[StatfsBufferBytes];
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Fstatfs((int)handle.DangerousGetHandle(), ref MemoryMarshal.GetReference(buffer)) == 0
                && KernelFileSystems.Contains(BitConverter.ToInt64(buffer[..8]));
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    // struct statx (linux/stat.h, the same on every architecture): stx_mode is a u16 at byte 28,
    // stx_ino a u64 at 32, stx_size a u64 at 40, stx_dev_major and stx_dev_minor u32s at 136 and 140.
    private static FileKind KindIn(ReadOnlySpan<byte> statx) => (BitConverter.ToUInt16(statx[28..30]) & 0xF000) switch
    {
        0x8000 => FileKind.Regular,
        0x4000 => FileKind.Directory,
        0x1000 => FileKind.Pipe,
        0x2000 => FileKind.CharacterDevice,
        0x6000 => FileKind.BlockDevice,
        0xC000 => FileKind.Socket,
        _ => FileKind.Other,
    };

    private static FileIdentity IdentityIn(ReadOnlySpan<byte> statx) =>
        new(BitConverter.ToUInt32(statx[136..140]), BitConverter.ToUInt32(statx[140..144]), BitConverter.ToUInt64(statx[32..40]));

    private static IOException ErrorFor(int error, string path) =>
        new($"'{FileNameBytes.Printable(path)}': {Marshal.GetPInvokeErrorMessage(error)} (errno {error})", error);

    [LibraryImport(LibC, EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte[] path, int flags);

    [LibraryImport(LibC, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int descriptor, int command, int argument);

    [LibraryImport(LibC, EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int Fstatfs(int descriptor, ref byte buffer);

    [LibraryImport(LibC, EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int directory, byte[] path, int flags, uint mask, ref byte buffer);
}
