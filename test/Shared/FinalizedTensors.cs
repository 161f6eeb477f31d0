using System.Runtime.CompilerServices;
using NUnit.Framework.Interfaces;
using TorchSharp;

[assembly: MLNet.BNInception.Tests.NoTensorLeftToTheFinalizer]

namespace MLNet.BNInception.Tests;

/// <summary>
/// How many TorchSharp tensors the garbage collector's finalizer thread has freed in this process:
/// tensors that nobody disposed.
/// </summary>
/// <remarks>
/// <para>
/// A tensor left to the finalizer is more than a leak. TorchSharp 0.107's <c>Tensor</c> holds its
/// native handle in a plain field and does not keep itself alive across the native call it makes
/// (no <c>GC.KeepAlive(this)</c>, no <c>SafeHandle</c>: dotnet/TorchSharp#466 proposed one and was
/// closed), so a tensor whose last reference is the call itself, such as the middle of
/// <c>t.detach().to(…).cpu()</c> outside a dispose scope or an argument its caller does not keep,
/// can be freed by a collection on another thread while libtorch reads it. That crashed the engine's
/// test process in CI (a segmentation fault inside <c>at::native::to</c>, read from the crash
/// report). Code that disposes every tensor, itself or through a dispose scope, holds each one to
/// its disposal, which is past the call. When TorchSharp keeps its tensors alive across its own
/// calls, the hazard goes; the leak check stays worth having.
/// </para>
/// <para>
/// TorchSharp counts the tensors each thread disposes outside any scope; the finalizer's thread
/// disposes only those that were never disposed, so its count is the number asked for. A probe
/// object's finalizer reads it on that thread.
/// </para>
/// </remarks>
internal static class FinalizedTensors
{
    private static long _finalizerThreadsCount;

    /// <summary>Collects garbage, runs the finalizers, and returns the count then.</summary>
    public static long Count()
    {
        // First every unreachable tensor is finalized, then, in a collection of its own (finalizers
        // of one collection run in no set order), the probe reads the count they left.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        PlantProbe();
        GC.Collect(0);
        GC.WaitForPendingFinalizers();
        return Interlocked.Read(ref _finalizerThreadsCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PlantProbe() => _ = new Probe();

    private sealed class Probe
    {
        ~Probe() => Interlocked.Exchange(ref _finalizerThreadsCount, DisposeScopeManager.Statistics.TensorStatistics.DisposedOutsideScopeCount);
    }
}

/// <summary>
/// Fails a test after which the finalizer freed tensors (<see cref="FinalizedTensors"/>): the test,
/// or other code since the previous test ended (a fixture's set-up, a thread still running), dropped
/// a tensor without disposing it. Applied to every test of the assemblies that compile it in. The
/// count is taken once after each test, not also before it, to spare a collection per test; a
/// leak in the last fixture's one-time tear-down goes unseen.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class NoTensorLeftToTheFinalizerAttribute : Attribute, ITestAction
{
    private static long? _countAfterLastTest;

    /// <inheritdoc/>
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc/>
    public void BeforeTest(ITest test) => _countAfterLastTest ??= FinalizedTensors.Count();

    /// <summary>Takes the leaks counted so far as seen: for the test of the check itself, which leaks on purpose.</summary>
    internal static void AcceptLeaksSoFar() => _countAfterLastTest = FinalizedTensors.Count();

    /// <inheritdoc/>
    public void AfterTest(ITest test)
    {
        long before = _countAfterLastTest ?? 0;
        long after = FinalizedTensors.Count();
        _countAfterLastTest = after;
        if (after > before)
        {
            Assert.Fail($"{after - before} tensor(s) were freed by the garbage collector's finalizer: this test, or code that ran since the "
                + "previous test ended (its set-up included), dropped a tensor without disposing it (use a dispose scope or 'using'; see "
                + "test/Shared/FinalizedTensors.cs for why it can crash).");
        }
    }
}
