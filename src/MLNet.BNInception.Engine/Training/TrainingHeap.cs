using System.Runtime.InteropServices;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Keeps glibc's heap from shrinking between the steps of a training run on the CPU, and gives the
/// freed memory back when the last run of the process ends (docs/engine.md, "The native heap during
/// training").
/// </summary>
/// <remarks>
/// <para>
/// A step allocates and frees about 1.7 GB of activations at 224×224 and batch 32 (libtorch asks
/// <c>malloc</c> for them). By default glibc gives the free top of its heap back to the system once
/// it exceeds its trim threshold, and the next step's forward pass faults the same memory in again,
/// page by page, zeroed: 2.5 to 2.9 million page faults in 7 steps instead of 1.6 million, and 7 to
/// 9% of the training rate on our 2-core machine. Whether glibc trims depends on where long-lived
/// blocks happen to sit in the heap, so it changed from run to run.
/// </para>
/// <para>
/// While a run holds it, the trim threshold is 2 GiB (the largest <c>mallopt</c> takes) and blocks of
/// up to 32 MiB come from the heap. Any <c>mallopt</c> call ends glibc's own adjustment of its mmap
/// threshold for the process, so that threshold is set to 32 MiB, the most glibc's adjustment ever
/// reaches; when the last holder is released, the trim threshold goes back to 64 MiB, the value glibc
/// pairs with it, and <c>malloc_trim</c> returns the free memory at once. Those two values are what
/// a process's glibc settles at anyway once it has freed a block of 32 MiB.
/// </para>
/// <para>
/// Nothing is changed where the process is not on glibc, where <c>GLIBC_TUNABLES</c> already sets a
/// <c>glibc.malloc.</c> tunable (the deployer chose), or where <see cref="Variable"/> is <c>0</c>.
/// </para>
/// </remarks>
internal sealed class TrainingHeap : IDisposable
{
    /// <summary>Environment variable: <c>0</c> leaves glibc's heap settings alone during training.</summary>
    public const string Variable = "BNINCEPTION_KEEP_HEAP";

    // malloc.h's parameter numbers for mallopt.
    private const int TrimThresholdParameter = -1;
    private const int MmapThresholdParameter = -3;

    private const int KeptTrimThreshold = int.MaxValue;
    private const int LargestHeapBlock = 32 << 20;
    private const int ReleasedTrimThreshold = 2 * LargestHeapBlock;

    private static readonly Lock Gate = new();
    private static readonly Lazy<GlibcMalloc?> Malloc = new(GlibcMalloc.Find);
    private static int _holders;

    private readonly GlibcMalloc _malloc;
    private bool _released;

    private TrainingHeap(GlibcMalloc malloc) => _malloc = malloc;

    /// <summary>
    /// Holds the heap for one run, or returns null where nothing is changed (see the remarks); the
    /// settings stay until every holder of the process is disposed.
    /// </summary>
    public static TrainingHeap? Hold()
    {
        if (Environment.GetEnvironmentVariable(Variable) == "0"
            || Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) == true
            || Malloc.Value is not GlibcMalloc malloc)
        {
            return null;
        }

        lock (Gate)
        {
            if (_holders++ == 0)
            {
                malloc.Set(MmapThresholdParameter, LargestHeapBlock);
                malloc.Set(TrimThresholdParameter, KeptTrimThreshold);
            }
        }

        return new TrainingHeap(malloc);
    }

    /// <summary>Whether a holder is alive in this process.</summary>
    public static bool IsHeld
    {
        get
        {
            lock (Gate)
            {
                return _holders > 0;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_released)
            {
                return;
            }

            _released = true;
            if (--_holders == 0)
            {
                _malloc.Set(TrimThresholdParameter, ReleasedTrimThreshold);
                _malloc.Trim();
            }
        }
    }

    private sealed unsafe class GlibcMalloc
    {
        private readonly delegate* unmanaged<int, int, int> _mallopt;
        private readonly delegate* unmanaged<nuint, int> _mallocTrim;

        private GlibcMalloc(IntPtr mallopt, IntPtr mallocTrim)
        {
            _mallopt = (delegate* unmanaged<int, int, int>)mallopt;
            _mallocTrim = (delegate* unmanaged<nuint, int>)mallocTrim;
        }

        // gnu_get_libc_version is glibc's own: another C library's mallopt may take other numbers.
        public static GlibcMalloc? Find() =>
            OperatingSystem.IsLinux()
            && NativeLibrary.TryLoad("libc.so.6", out IntPtr libc)
            && NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out _)
            && NativeLibrary.TryGetExport(libc, "mallopt", out IntPtr mallopt)
            && NativeLibrary.TryGetExport(libc, "malloc_trim", out IntPtr mallocTrim)
                ? new GlibcMalloc(mallopt, mallocTrim)
                : null;

        public void Set(int parameter, int value) => _mallopt(parameter, value);

        public void Trim() => _mallocTrim(0);
    }
}
