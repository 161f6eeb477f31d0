namespace MLNet.BNInception.Tests;

/// <summary>
/// Runs a reference computation on one of TorchSharp's own paths that hand libtorch native objects
/// nobody keeps (implicit Scalars, tensors dropped mid-chain: ImplicitScalarScan, FinalizedTensors)
/// with garbage collection held off, so that no finalizer can free one while libtorch reads it. Our
/// code never needs this; tests that compare with TorchSharp's own step do.
/// </summary>
internal static class WithoutCollections
{
    // Room for the wrappers a small network's optimizer step makes; past it the runtime collects
    // anyway, so the region is checked to have held.
    private const long AllocationBudget = 64L << 20;

    public static void Run(Action work)
    {
        if (!GC.TryStartNoGCRegion(AllocationBudget))
        {
            throw new InvalidOperationException("could not hold garbage collection off");
        }

        try
        {
            work();
        }
        catch
        {
            EndRegion();
            throw;
        }

        Assert.That(EndRegion(), Is.True, "a collection ran during the reference computation: raise AllocationBudget");
    }

    // Whether the region held to the end. A collection inside it (an allocation past the budget)
    // ends it, but the runtime still counts it as started until EndNoGCRegion, which then throws:
    // so it is always called, and its exception is the answer.
    private static bool EndRegion()
    {
        try
        {
            GC.EndNoGCRegion();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

/// <summary>
/// Marks a method, usually a lambda given to <see cref="WithoutCollections.Run"/>, that runs one of
/// TorchSharp's own paths as a test's reference although the path makes implicit Scalars:
/// <see cref="ImplicitScalarScan"/> passes over it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class ReferencePathAttribute : Attribute;
