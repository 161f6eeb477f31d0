using System.Runtime.InteropServices;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The native heap during a training run on the CPU: memory the run frees stays with the process
/// while a run holds the heap, and goes back to the system when the last holder lets go. The
/// reference is the kernel's own count of the process's anonymous resident memory.
/// </summary>
public class TrainingHeapTests
{
    private const int Blocks = 24;
    private const long BlockBytes = 1 << 20;
    private const long Kept = Blocks * BlockBytes;

    [Test]
    public void FreedMemoryStaysWhileHeldAndGoesBackWhenReleased()
    {
        Assert.That(TrainingHeap.IsHeld, Is.False, "another run holds the heap");
        long allocated, freed, released;
        using (TrainingHeap? heap = TrainingHeap.Hold())
        {
            Assert.That(heap, Is.Not.Null, "this test process runs on glibc");
            Assert.That(TrainingHeap.IsHeld, Is.True);
            IntPtr[] blocks = AllocateAndTouch();
            allocated = ResidentAnonymousBytes();
            Free(blocks);
            freed = ResidentAnonymousBytes();
        }

        released = ResidentAnonymousBytes();
        Assert.That(TrainingHeap.IsHeld, Is.False);
        Assert.That(allocated - freed, Is.LessThan(Kept / 4), "the freed blocks stayed resident while held");
        Assert.That(freed - released, Is.GreaterThan(Kept * 3 / 4), "releasing gave them back");
    }

    [Test]
    public void TheLastOfSeveralHoldersReleases()
    {
        TrainingHeap? first = TrainingHeap.Hold(), second = TrainingHeap.Hold();
        Assert.That(first, Is.Not.Null);
        first!.Dispose();
        first.Dispose();
        Assert.That(TrainingHeap.IsHeld, Is.True, "the second run still holds it");
        second!.Dispose();
        Assert.That(TrainingHeap.IsHeld, Is.False);
    }

    [TestCase(TrainingHeap.Variable, "0")]
    [TestCase("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=2147483647")]
    public void LeavesTheHeapAloneWhenTheDeployerSaysSo(string variable, string value)
    {
        string? previous = Environment.GetEnvironmentVariable(variable);
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            using TrainingHeap? heap = TrainingHeap.Hold();
            Assert.That(heap, Is.Null);
            Assert.That(TrainingHeap.IsHeld, Is.False);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, previous);
        }
    }

    // As a training step's activations: blocks of up to 32 MiB from malloc (Marshal's global
    // allocation is malloc on Linux), written.
    private static IntPtr[] AllocateAndTouch()
    {
        byte[] ones = Enumerable.Repeat((byte)1, (int)BlockBytes).ToArray();
        var blocks = new IntPtr[Blocks];
        for (int i = 0; i < Blocks; i++)
        {
            blocks[i] = Marshal.AllocHGlobal((nint)BlockBytes);
            Marshal.Copy(ones, 0, blocks[i], ones.Length);
        }

        return blocks;
    }

    private static void Free(IntPtr[] blocks)
    {
        foreach (IntPtr block in blocks)
        {
            Marshal.FreeHGlobal(block);
        }
    }

    private static long ResidentAnonymousBytes()
    {
        string line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
