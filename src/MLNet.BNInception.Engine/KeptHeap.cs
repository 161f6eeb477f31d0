using System.Runtime.InteropServices;

namespace MLNet.BNInception.Engine;

/// <summary>
/// Keeps glibc's heap from shrinking while a training run or a scorer on the CPU lives, from one
/// step or batch to the next, and lets it shrink again when the process's last holder ends
/// (docs/engine.md, "Sharing two cores").
/// </summary>
/// <remarks>
/// <para>
/// A training step allocates and frees about 1.7 GB of activations at 224×224 and batch 32, and a
/// scored batch a fraction of that (libtorch asks <c>malloc</c> for them). By default glibc gives
/// the free top of its heap back to the system once it exceeds its trim threshold, and the next
/// step's or batch's forward pass faults the same memory in again, page by page, zeroed. In
/// training that was 2.5 to 2.9 million page faults in 7 steps instead of 1.6 million, and 7 to 9%
/// of the training rate on our 2-core machine; in scoring at batch 32, 12% of the float32 rate and
/// 17% of the bfloat16 rate (docs/performance.md). Whether glibc trims depends on where long-lived
/// blocks happen to sit in the heap, so it changed from run to run.
/// </para>
/// <para>
/// While a holder lives, glibc does not trim (a trim threshold of -1, as <c>mallopt(3)</c> documents)
/// and blocks under 32 MiB come from the heap. Any <c>mallopt</c> call ends glibc's own adjustment
/// of its mmap threshold for the process, so that threshold is set to 32 MiB, the most that
/// adjustment ever reaches. When the last holder is released, the trim threshold becomes 64 MiB, the
/// value glibc pairs with it, and <c>malloc_trim</c> returns the free blocks glibc holds in its bins,
/// and the free top of the main arena. A process that had already freed a block of about 32 MiB
/// would have reached those values on its own; one that had not keeps up to 64 MiB of free heap
/// where it would have kept less, and no longer adjusts.
/// </para>
/// <para>
/// Work on the process's first thread keeps its whole heap. Other threads allocate from glibc's
/// per-thread arenas, whose 64 MiB heaps glibc unmaps when they become wholly free whatever the
/// threshold, so work there keeps part of it.
/// </para>
/// <para>
/// A holder that is never disposed is released by its finalizer, once the garbage collector finds it
/// unreachable with the scorer or model that held it.
/// </para>
/// <para>
/// Nothing is changed where the process is not on glibc, where the deployer has tuned glibc's
/// allocator (a <c>glibc.malloc.</c> tunable in <c>GLIBC_TUNABLES</c>, or one of the older
/// <c>MALLOC_…_</c> variables), or where <see cref="KeepHeapVariable"/> is <c>0</c>.
/// </para>
/// </remarks>
internal sealed class KeptHeap : IDisposable
{
    /// <summary>Environment variable: <c>0</c> leaves glibc's heap settings alone, in training and scoring.</summary>
    public const string KeepHeapVariable = "BNINCEPTION_KEEP_HEAP";

    // glibc's older environment variables for the same settings, which it still reads.
    private static readonly string[] GlibcMallocVariables =
        ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX"];

    // malloc.h's parameter numbers for mallopt.
    private const int TrimThresholdParameter = -1;
    private const int MmapThresholdParameter = -3;

    private const int NoTrimming = -1;
    // glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems, and the trim threshold it pairs with it.
    private const int MmapThreshold = 32 << 20;
    private const int ReleasedTrimThreshold = 2 * MmapThreshold;

    private static readonly Lock Gate = new();
    private static readonly Lazy<GlibcMalloc?> Malloc = new(GlibcMalloc.Find);
    private static int _holders;

    private readonly GlibcMalloc _malloc;
    private bool _released;

    private KeptHeap(GlibcMalloc malloc) => _malloc = malloc;

    /// <summary>
    /// Holds the heap for one training run or scorer, or returns null where nothing is changed (see
    /// the remarks, and where glibc refuses the settings); the settings stay until every holder of
    /// the process is disposed.
    /// </summary>
    public static KeptHeap? Hold()
    {
        if (Environment.GetEnvironmentVariable(KeepHeapVariable) == "0"
            || Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) == true
            || GlibcMallocVariables.Any(variable => Environment.GetEnvironmentVariable(variable) is not null)
            || Malloc.Value is not GlibcMalloc malloc)
        {
            return null;
        }

        lock (Gate)
        {
            // mallopt answers 0 when it refuses a value; then nothing is held.
            if (_holders == 0 && !(malloc.Set(MmapThresholdParameter, MmapThreshold) && malloc.Set(TrimThresholdParameter, NoTrimming)))
            {
                return null;
            }

            _holders++;
        }

        return new KeptHeap(malloc);
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
        Release();
        GC.SuppressFinalize(this);
    }

    // A scorer or model dropped without Dispose would otherwise hold the heap for the rest of the
    // process: no trimming, and every later holder's freed memory kept too. The release touches no
    // tensor and no other object that may already be finalized, only the count under its lock and
    // two glibc calls that are safe on any thread, so it can run on the finalizer thread.
    ~KeptHeap() => Release();

    private void Release()
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

        public bool Set(int parameter, int value) => _mallopt(parameter, value) != 0;

        public void Trim() => _mallocTrim(0);
    }
}
