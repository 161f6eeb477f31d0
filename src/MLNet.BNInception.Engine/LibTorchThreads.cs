using System.Runtime.InteropServices;
using TorchSharp;

namespace MLNet.BNInception.Engine;

/// <summary>
/// Per-thread control of libtorch's intra-op threads, for helper threads that must not compete with
/// the thread that computes (docs/engine.md, "Sharing two cores").
/// </summary>
/// <remarks>
/// <para>
/// libtorch's CPU build parallelises with OpenMP (GNU libgomp), and each OS thread that starts a
/// parallel operation gets a team of worker threads of its own. Once the teams hold more threads
/// than the machine has cores, libgomp shortens how long its idle workers spin before they sleep
/// from about 300,000 iterations to 100, so every one of the thousands of parallel operations of a
/// training step has to wake its worker with a system call. On a 2-core machine the read-ahead
/// thread's copies alone did that: 20,000 context switches in a run of 7 steps instead of 1,500, and
/// training 5 to 7% slower.
/// </para>
/// <para>
/// <c>torch.set_num_threads</c> cannot confine the change to one thread: libtorch also keeps the
/// number as the count every thread starts with. OpenMP's own <c>omp_set_num_threads</c> sets the
/// calling thread's count only, and libtorch's parallel loops read the calling thread's count, so
/// with 1 they run inline and no team is made.
/// </para>
/// </remarks>
internal static class LibTorchThreads
{
    private static readonly Lazy<IntPtr> OmpSetNumThreads = new(FindOmpSetNumThreads);

    /// <summary>
    /// Makes libtorch run the calling thread's operations on that thread alone; other threads keep
    /// their counts, and threads started later get the process's count as before.
    /// </summary>
    /// <returns>Whether libtorch now reports one thread here: false where its parallel backend is not OpenMP.</returns>
    public static unsafe bool UseOneThreadHere()
    {
        TorchRuntime.EnsureLoaded();
        // libtorch gives a thread its count the first time the thread asks for it: asked first, that
        // cannot undo the setting below later.
        if (torch.get_num_threads() == 1)
        {
            return true;
        }

        IntPtr setNumThreads = OmpSetNumThreads.Value;
        if (setNumThreads == IntPtr.Zero)
        {
            return false;
        }

        ((delegate* unmanaged<int, void>)setNumThreads)(1);
        return torch.get_num_threads() == 1;
    }

    // Looked up through TorchSharp's native library: a lookup by handle searches that library and
    // everything it depends on, libtorch's OpenMP runtime included, whatever that file is named
    // (libtorch's packages bundle libgomp under a hashed name).
    private static IntPtr FindOmpSetNumThreads()
    {
        bool loaded = TorchRuntime.NativeLibraryPath is string path
            ? NativeLibrary.TryLoad(path, out IntPtr handle)
            : NativeLibrary.TryLoad("LibTorchSharp", typeof(torch).Assembly, null, out handle);
        return loaded && NativeLibrary.TryGetExport(handle, "omp_set_num_threads", out IntPtr export) ? export : IntPtr.Zero;
    }
}
