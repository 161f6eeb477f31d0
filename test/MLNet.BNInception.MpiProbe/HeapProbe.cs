using System.Globalization;
using System.Runtime.InteropServices;
using MLNet.BNInception.Engine;

/// <summary>
/// The "heap" mode (no MPI): what glibc does with freed memory while <see cref="KeptHeap"/> holds
/// the heap and after, on the process's first thread, as a training run on an application's main
/// thread meets it (test/MLNet.BNInception.Engine.Tests/KeptHeapTests.cs reads the line it prints).
/// Other threads get per-thread arenas whose layout depends on what ran before, so a test process's
/// worker thread cannot tell.
/// </summary>
/// <remarks>
/// Each figure is the fraction of 24 freed 1 MiB blocks' pages still resident, as the kernel reports
/// it (<c>mincore</c>): for a control under a trim threshold of 1 MiB set here, while held, for blocks
/// freed below one still in use (glibc's bins) while held, and for those after the last holder let go.
/// </remarks>
internal static class HeapProbe
{
    private const int Blocks = 24;
    private const int BlockBytes = 1 << 20;

    // malloc.h's mallopt parameters.
    private const int TrimThreshold = -1;
    private const int MmapThreshold = -3;

    private static readonly byte[] Ones = Enumerable.Repeat((byte)1, BlockBytes).ToArray();

    public static int Run()
    {
        // Blocks of 1 MiB come from the heap under the mmap threshold set here.
        if (Mallopt(MmapThreshold, 32 << 20) != 1 || Mallopt(TrimThreshold, 1 << 20) != 1)
        {
            Console.WriteLine("heap: FAILED glibc refused the control's settings");
            return 1;
        }

        double control = ResidentAfterFreeing(Allocate());
        using KeptHeap? heap = KeptHeap.Hold();
        if (heap is null)
        {
            Console.WriteLine("heap: not held");
            return 1;
        }

        double freedWhileHeld = ResidentAfterFreeing(Allocate());
        IntPtr[] blocks = Allocate();
        IntPtr guard = Marshal.AllocHGlobal(BlockBytes);
        double inBins = ResidentAfterFreeing(blocks);
        heap.Dispose();
        double released = Resident(blocks);
        Marshal.FreeHGlobal(guard);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"heap: control {control:F3} held {freedWhileHeld:F3} in-bins {inBins:F3} released {released:F3} still-held {KeptHeap.IsHeld}"));
        return 0;
    }

    // As a training step's activations: blocks under 32 MiB from malloc (Marshal's global allocation
    // is malloc on Linux), written.
    private static IntPtr[] Allocate()
    {
        var blocks = new IntPtr[Blocks];
        for (int i = 0; i < Blocks; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(BlockBytes);
            Marshal.Copy(Ones, 0, blocks[i], BlockBytes);
        }

        return blocks;
    }

    private static double ResidentAfterFreeing(IntPtr[] blocks)
    {
        foreach (IntPtr block in blocks)
        {
            Marshal.FreeHGlobal(block);
        }

        return Resident(blocks);
    }

    // The whole pages inside each block; a range no longer mapped counts as not resident.
    private static double Resident(IntPtr[] blocks)
    {
        long page = Environment.SystemPageSize, resident = 0, pages = 0;
        foreach (IntPtr block in blocks)
        {
            long start = (block + page - 1) & ~(page - 1), end = (block + BlockBytes) & ~(page - 1);
            var inCore = new byte[(end - start) / page];
            pages += inCore.Length;
            if (Mincore((IntPtr)start, (nuint)(end - start), inCore) == 0)
            {
                resident += inCore.Count(flags => (flags & 1) != 0);
            }
        }

        return (double)resident / pages;
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    [DllImport("libc", EntryPoint = "mincore")]
    private static extern int Mincore(IntPtr address, nuint length, byte[] residency);
}
