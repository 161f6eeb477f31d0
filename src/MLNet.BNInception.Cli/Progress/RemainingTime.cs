using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace MLNet.BNInception.Cli.Progress;

/// <summary>
/// The time left, at the rate of this process's own work: measured from where its reports began,
/// not from zero. A resumed run starts with much of its work done (a <c>score --resume</c> at row
/// 400,000), which is none of this process's, and the first report comes after the startup (the
/// first batch's decoding, the device's first step), which is no measure of the rate either.
/// </summary>
internal sealed class RemainingTime(Func<TimeSpan>? clock = null)
{
    /// <summary>How long after its first report the estimate starts: the reports of one read arrive together.</summary>
    public static readonly TimeSpan Settling = TimeSpan.FromSeconds(1);

    // No estimate past this (and TimeSpan.FromSeconds would overflow on a rate near zero).
    private static readonly TimeSpan Longest = TimeSpan.FromDays(9999);

    private readonly Func<TimeSpan> _clock = clock ?? Stopwatch.StartNew() switch { var watch => () => watch.Elapsed };
    private TimeSpan? _firstAt;
    private TimeSpan _startAt;
    private double _startDone;

    /// <summary>The estimate at the last report; null until this process has done some of the work over a measurable time.</summary>
    public TimeSpan? Remaining { get; private set; }

    /// <summary>Records that <paramref name="done"/> of <paramref name="total"/> units are done now, and returns the time left.</summary>
    public TimeSpan? Update(double done, double total)
    {
        TimeSpan now = _clock();
        if (_firstAt is not TimeSpan first || done < _startDone || now - first < Settling)
        {
            // The baseline: the first report, moved on to the last of those in its first second
            // (a burst of reports read at once), or back to a report that went backwards.
            _firstAt ??= now;
            _startAt = now;
            _startDone = done;
            return Remaining = total > 0 && done >= total ? TimeSpan.Zero : null;
        }

        double work = done - _startDone;
        double seconds = (now - _startAt).TotalSeconds;
        if (done >= total)
        {
            return Remaining = TimeSpan.Zero;
        }

        if (work <= 0 || seconds <= 0)
        {
            return Remaining = null;
        }

        double left = seconds * (total - done) / work;
        return Remaining = left >= Longest.TotalSeconds ? Longest : TimeSpan.FromSeconds(left);
    }

    /// <summary>The live bar's column of the time left, "-:--" until there is an estimate.</summary>
    public sealed class Column(RemainingTime estimate) : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(estimate.Remaining is TimeSpan left ? ProgressDisplay.FormatDuration(left) : "-:--", new Style(Color.Blue));
    }
}
