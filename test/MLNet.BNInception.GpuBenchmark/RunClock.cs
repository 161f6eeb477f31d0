using System.Diagnostics;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>
/// Times training in runs: the clock reads the time when the warm-up's last step is reported done,
/// and again at the end of every run of <see cref="BenchmarkSettings.StepsPerRun"/> steps; each run's
/// rate is its images over the time between two readings. A step counts as done when the host has
/// waited for it (the plain loop synchronizes the device at those steps; the engine reports a step
/// after reading its loss back, which waits for the step's work).
/// </summary>
internal sealed class RunClock(BenchmarkSettings settings)
{
    private readonly List<long> _readings = [];

    /// <summary>True once the last run has ended.</summary>
    public bool Done => _readings.Count == settings.Iterations + 1;

    /// <summary>Whether the clock reads the time when <paramref name="step"/> (counting from 1) is done.</summary>
    public bool Reads(long step) => step >= settings.Warmup && (step - settings.Warmup) % settings.StepsPerRun == 0 && step <= settings.TotalSteps;

    /// <summary>Called when <paramref name="step"/> is done; reads the time where a run begins or ends.</summary>
    public void StepDone(long step)
    {
        if (Reads(step) && !Done)
        {
            _readings.Add(Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Images per second of each run, in the order they ran.</summary>
    public double[] Rates()
    {
        if (!Done)
        {
            throw new InvalidOperationException($"Training stopped after {_readings.Count} of the clock's {settings.Iterations + 1} readings.");
        }

        double images = (double)settings.StepsPerRun * settings.Batch;
        return _readings.Zip(_readings.Skip(1), (start, end) => images / Stopwatch.GetElapsedTime(start, end).TotalSeconds).ToArray();
    }
}
