using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Tests;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The native heap during a training run or while a scorer lives on the CPU: memory they free stays
/// with the process while they hold the heap, and what glibc holds free goes back to the system when
/// the last holder lets go. The references are glibc's own behaviour under its own settings, and
/// the kernel's answer to whether each page of the freed blocks is still resident (<c>mincore</c>),
/// in the probe program's heap mode (test/MLNet.BNInception.MpiProbe/HeapProbe.cs).
/// </summary>
public class KeptHeapTests
{
    private static string Probe => typeof(KeptHeapTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "MpiProbe").Value!;

    // On the first thread of a process of its own (the probe's heap mode): a test's worker thread
    // gets a per-thread arena of glibc's, laid out by whatever ran on it before.
    [Test]
    public void FreedMemoryStaysWhileHeldAndGoesBackWhenReleased()
    {
        ExternalProcess.Result probe = ExternalProcess.Run("dotnet", [Probe, "heap"], timeout: TimeSpan.FromMinutes(2)).AssertSucceeded();
        Match figures = Regex.Match(probe.Output, @"heap: control (\S+) held (\S+) in-bins (\S+) released (\S+) still-held (\S+)");
        Assert.That(figures.Success, Is.True, probe.Output);
        double Figure(int group) => double.Parse(figures.Groups[group].Value, CultureInfo.InvariantCulture);

        Assert.That(Figure(1), Is.LessThan(0.25), "the control: glibc trims a freed top past its threshold");
        Assert.That(Figure(2), Is.GreaterThan(0.75), "a freed top stays while held");
        Assert.That(Figure(3), Is.GreaterThan(0.75), "blocks freed below one in use stay in glibc's bins");
        Assert.That(Figure(4), Is.LessThan(0.25), "releasing the last holder returned glibc's free blocks");
        Assert.That(figures.Groups[5].Value, Is.EqualTo("False"));
    }

    [Test]
    public void TheLastOfSeveralHoldersReleases()
    {
        Assert.That(KeptHeap.IsHeld, Is.False, "another run or scorer holds the heap");
        KeptHeap? first = KeptHeap.Hold(), second = KeptHeap.Hold();
        try
        {
            Assert.That(first, Is.Not.Null);
            first!.Dispose();
            first.Dispose();
            Assert.That(KeptHeap.IsHeld, Is.True, "the second run still holds it");
        }
        finally
        {
            first?.Dispose();
            second?.Dispose();
        }

        Assert.That(KeptHeap.IsHeld, Is.False);
    }

    [Test]
    public void AScorerOnTheCpuHoldsTheHeapUntilDisposedAndNotWhenTurnedOff()
    {
        Assert.That(KeptHeap.IsHeld, Is.False, "another run or scorer holds the heap");
        using var model = new BnInception(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 3 }, seed: 1);
        using (new BnInceptionScorer(model))
        {
            Assert.That(KeptHeap.IsHeld, Is.True);
        }

        Assert.That(KeptHeap.IsHeld, Is.False, "let go when disposed");

        string? previous = Environment.GetEnvironmentVariable(KeptHeap.KeepHeapVariable);
        Environment.SetEnvironmentVariable(KeptHeap.KeepHeapVariable, "0");
        try
        {
            using var scorer = new BnInceptionScorer(model);
            Assert.That(KeptHeap.IsHeld, Is.False);
        }
        finally
        {
            Environment.SetEnvironmentVariable(KeptHeap.KeepHeapVariable, previous);
        }
    }

    [Test]
    public void AScorerDroppedWithoutDisposeLetsGoOfTheHeapWhenCollected()
    {
        // Before the finalizer, one scorer or fitted model that nobody disposed kept glibc from trimming
        // for the rest of the process (seen: resident memory up from 517 to 913 MB over four later fits,
        // each disposed, and never down again). Earlier tests' undisposed scorers are let go first.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.That(KeptHeap.IsHeld, Is.False, "another run or scorer holds the heap");
        using var model = new BnInception(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 3 }, seed: 1);
        HoldAndDrop(model);
        for (int collection = 0; collection < 3 && KeptHeap.IsHeld; collection++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        Assert.That(KeptHeap.IsHeld, Is.False, "the dropped scorer's hold was released by its finalizer");
        // The scorer's weights went to the finalizer too, which is the case under test, not a leak to report.
        NoTensorLeftToTheFinalizerAttribute.AcceptLeaksSoFar();
    }

    // In a method of its own, so that no local of the test keeps the scorer reachable.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void HoldAndDrop(BnInception model)
    {
        var scorer = new BnInceptionScorer(model);
        Assert.That(KeptHeap.IsHeld, Is.True);
        GC.KeepAlive(scorer);
    }

    [TestCase(KeptHeap.KeepHeapVariable, "0")]
    [TestCase("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=2147483647")]
    [TestCase("MALLOC_TRIM_THRESHOLD_", "2147483647")]
    public void LeavesTheHeapAloneWhenTheDeployerSaysSo(string variable, string value)
    {
        string? previous = Environment.GetEnvironmentVariable(variable);
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            using KeptHeap? heap = KeptHeap.Hold();
            Assert.That(heap, Is.Null);
            Assert.That(KeptHeap.IsHeld, Is.False);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, previous);
        }
    }
}
