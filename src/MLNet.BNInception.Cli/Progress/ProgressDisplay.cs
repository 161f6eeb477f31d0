using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Trainers;
using Spectre.Console;

namespace MLNet.BNInception.Cli.Progress;

/// <summary>Where a long command reports how far it is.</summary>
internal interface IProgressSink
{
    /// <summary><paramref name="done"/> of <paramref name="total"/> units, and a line of detail (rate, loss, bad rows…).</summary>
    void Report(double done, double total, string status);

    /// <summary>A line of its own (a warning, an epoch's metrics), printed above a live bar.</summary>
    void Line(string text);
}

/// <summary>
/// Progress on standard error: a live bar with the rate and the time left when it is a terminal
/// (Spectre.Console), else a plain line at most every <see cref="PlainInterval"/> (a log file or a
/// job scheduler's output gets a readable record, not a stream of control codes).
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>Seconds between plain lines: 10, or the BNINCEPTION_PROGRESS_SECONDS environment variable.</summary>
    public static TimeSpan PlainInterval { get; } = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("BNINCEPTION_PROGRESS_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0
            ? seconds : 10);

    /// <summary>Runs <paramref name="work"/>, showing what it reports under <paramref name="title"/>.</summary>
    public static async Task<T> RunAsync<T>(CommandContext context, string title, Func<IProgressSink, Task<T>> work)
    {
        if (!context.ProgressOnTerminal)
        {
            var plain = new PlainProgress(context.Error, title);
            T result = await work(plain).ConfigureAwait(false);
            plain.Finish();
            return result;
        }

        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Error) });
        // Spectre's own RemainingTimeColumn drops the days, and takes a resume's first report (from
        // nothing to its checkpoint's step or row) for work done in an instant: 00:00:00 left.
        var remaining = new RemainingTime();
        return await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTime.Column(remaining), new SpinnerColumn())
            .StartAsync(async progress =>
            {
                ProgressTask task = progress.AddTask(Markup.Escape(title), autoStart: true, maxValue: 1);
                T result = await work(new LiveProgress(console, task, title, remaining)).ConfigureAwait(false);
                task.StopTask();
                return result;
            }).ConfigureAwait(false);
    }

    private sealed class LiveProgress(IAnsiConsole console, ProgressTask task, string title, RemainingTime remaining) : IProgressSink
    {
        public void Line(string text) => console.WriteLine(text);

        public void Report(double done, double total, string status)
        {
            remaining.Update(done, total);
            task.MaxValue = Math.Max(total, 1);
            task.Value = Math.Min(done, task.MaxValue);
            task.Description = Markup.Escape($"{title}: {status}");
        }
    }

    /// <summary>The plain lines; <paramref name="clock"/> (the time since it began) and <paramref name="interval"/> are for tests.</summary>
    internal sealed class PlainProgress(TextWriter error, string title, Func<TimeSpan>? clock = null, TimeSpan? interval = null) : IProgressSink
    {
        private readonly Func<TimeSpan> _clock = clock ?? Stopwatch.StartNew() switch { var watch => () => watch.Elapsed };
        private readonly TimeSpan _interval = interval ?? PlainInterval;
        private readonly RemainingTime _remaining = new(clock);
        private TimeSpan _lineAt;
        private string? _last;

        public void Line(string text) => error.WriteLine(text);

        public void Report(double done, double total, string status)
        {
            string percent = total > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({100 * done / total:F1}%)") : "";
            string remaining = _remaining.Update(done, total) is TimeSpan left && total > done
                ? $", about {FormatDuration(left)} left"
                : "";
            _last = $"{title}: {status}{percent}{remaining}";
            TimeSpan now = _clock();
            if (now - _lineAt >= _interval)
            {
                error.WriteLine(_last);
                _lineAt = now;
                _last = null;
            }
        }

        // The last report, if it was not printed, so that the log ends with where the work ended.
        public void Finish()
        {
            if (_last is not null)
            {
                error.WriteLine(_last);
            }
        }
    }

    /// <summary>"40 d 13:48:17", "1:02:03" or "2:03", as the trainer's log writes the time left.</summary>
    public static string FormatDuration(TimeSpan duration) => Durations.Format(duration);
}
