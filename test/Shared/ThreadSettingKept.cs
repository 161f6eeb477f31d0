using MLNet.BNInception.Engine;
using NUnit.Framework.Interfaces;
using TorchSharp;

[assembly: MLNet.BNInception.Tests.ThreadSettingKept]

namespace MLNet.BNInception.Tests;

/// <summary>
/// Fails a test after which libtorch no longer computes on the number of threads
/// <see cref="TorchRuntime.ThreadsVariable"/> set when the process loaded it: on the test's thread, or
/// on a thread started afterwards (libtorch hands new threads its process-wide count). A test that
/// changes the count restores it in its tear-down; one that restored the wrong count once made every
/// later test of its process compute on two threads beside the other test lane, twice as slowly and
/// with other bits (docs/testing.md, "One thread a process"). Applied to every test of the assemblies
/// that compile it in; silent where the variable is not set or our loader has not run.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
public sealed class ThreadSettingKeptAttribute : Attribute, ITestAction
{
    /// <inheritdoc/>
    public ActionTargets Targets => ActionTargets.Test;

    /// <inheritdoc/>
    public void BeforeTest(ITest test)
    {
    }

    /// <inheritdoc/>
    public void AfterTest(ITest test)
    {
        if (TorchRuntime.LoadDescription is null || TorchRuntime.ThreadSetting() is not int expected)
        {
            return;
        }

        int here = torch.get_num_threads();
        int startedLater = 0;
        var probe = new Thread(() => startedLater = torch.get_num_threads());
        probe.Start();
        probe.Join();
        if (here != expected || startedLater != expected)
        {
            Assert.Fail($"{TorchRuntime.ThreadsVariable} is {expected}, but after this test libtorch computes on {here} thread(s) here and on "
                + $"{startedLater} in a thread started now: a test that changes the count must restore the one it found, read after "
                + "TorchRuntime.EnsureLoaded (test/Shared/SingleThreadedFixture.cs).");
        }
    }
}
