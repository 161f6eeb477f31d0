using System.Runtime.CompilerServices;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The check every test ends with (test/Shared/FinalizedTensors.cs) sees a tensor nobody disposed, and
/// does not count one that was disposed: were its probe to stop working, every test would pass quietly.
/// </summary>
public class FinalizedTensorsTests
{
    [Test]
    public void ATensorDroppedUndisposedIsCountedAndADisposedOneIsNot()
    {
        long before = FinalizedTensors.Count();
        DisposeOne();
        Assert.That(FinalizedTensors.Count(), Is.EqualTo(before), "a disposed tensor");

        DropOne();
        long after = FinalizedTensors.Count();
        NoTensorLeftToTheFinalizerAttribute.AcceptLeaksSoFar();
        Assert.That(after, Is.EqualTo(before + 1), "a tensor left to the finalizer");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DisposeOne()
    {
        using Tensor kept = zeros(3);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void DropOne() => _ = zeros(3);
}
