using Microsoft.ML;
using Microsoft.ML.Runtime;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Progress;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// Prints the warnings of a training run's <see cref="MLContext.Log"/>, one line each, except the loader's
/// per-row warnings under <c>--on-invalid-image skip</c>: the first <see cref="SkippedRowsListed"/> are printed,
/// then one line says that further skipped rows are counted, not listed. A wrong <c>--image-folder</c> under
/// skip fails every row: at ImageNet scale (1.28M rows) a line each was some 420 MB of output before the error
/// that counts them by reason anyway.
/// </summary>
internal sealed class WarningLines
{
    public const int SkippedRowsListed = 20;

    private readonly IProgressSink _sink;
    private readonly string _prefix;
    private readonly object _gate = new();
    private long _skippedRows;

    /// <param name="prefix">Put before each line: under mpirun, which rank's warning it is.</param>
    public WarningLines(MLContext ml, IProgressSink sink, string prefix)
    {
        _sink = sink;
        _prefix = prefix;
        ml.Log += Write;
    }

    /// <summary>Whether skipped rows went unlisted.</summary>
    public bool Capped
    {
        get
        {
            lock (_gate)
            {
                return _skippedRows > SkippedRowsListed;
            }
        }
    }

    /// <summary>What the warnings above name, for a message that counts the skipped rows: each row and path (and reason), or the first rows'.</summary>
    public string SkippedRowsNamed(bool reasons) => (Capped, reasons) switch
    {
        (false, false) => "the warnings above name each row and path",
        (false, true) => "the warnings above name each row, path and reason",
        (true, false) => $"the warnings above name the first {SkippedRowsListed} rows and their paths",
        (true, true) => $"the warnings above name the first {SkippedRowsListed} rows, their paths and reasons",
    };

    private void Write(object? sender, LoggingEventArgs message)
    {
        if (message.Kind != ChannelMessageKind.Warning)
        {
            return;
        }

        // The loader registers and starts its channels under its own name; the log's source begins with it.
        if (message.Source?.StartsWith(ImageLoadingReporter.Source, StringComparison.Ordinal) == true)
        {
            // Under a lock, so that the line that ends the list comes after the rows it follows.
            lock (_gate)
            {
                _skippedRows++;
                if (_skippedRows == SkippedRowsListed + 1)
                {
                    _sink.Line(_prefix + $"warning: further rows whose images cannot be loaded are skipped without a warning each " +
                        $"(the first {SkippedRowsListed} are listed above); the counts by reason follow");
                }

                if (_skippedRows <= SkippedRowsListed)
                {
                    _sink.Line(_prefix + "warning: " + BnInceptionCommandLine.OneLine(message.Message));
                }
            }

            return;
        }

        _sink.Line(_prefix + "warning: " + BnInceptionCommandLine.OneLine(message.Message));
    }
}
