using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.BNInception.Images;

/// <summary>
/// Where a <see cref="InvalidImagePolicy.Skip"/> loader reports: a warning per skipped row and a summary per
/// pass, to the <see cref="MLContext"/> given for logging (if any) and to the callbacks (if any).
/// </summary>
internal sealed class ImageLoadingReporter
{
    public const string Source = "LoadImagesSafely";

    private readonly IHost? _host;
    private readonly Action<SkippedImage>? _imageSkipped;
    private readonly Action<ImageLoadingPassSummary>? _passCompleted;
    private readonly string _columnName;

    public ImageLoadingReporter(SafeImageLoadingOptions options)
    {
        // MLContext implements IHostEnvironment explicitly; registering a host is ML.NET's public way for a
        // component to write to MLContext.Log.
        _host = options.Log is null ? null : ((IHostEnvironment)options.Log).Register(Source);
        _imageSkipped = options.ImageSkipped;
        _passCompleted = options.PassCompleted;
        _columnName = options.ResolvedInputColumnName;
    }

    public void Skipped(SkippedImage skipped)
    {
        Log(channel => channel.Warning(MessageSensitivity.UserData, "{0}", skipped.Message));
        _imageSkipped?.Invoke(skipped);
    }

    public void PassEnded(ImageLoadingPassSummary summary)
    {
        string ending = summary.Completed ? "" : " (the pass stopped before the end of the data)";
        Log(channel => channel.Info(MessageSensitivity.None,
            "{0} skipped {1} of {2} rows in this pass: their images in column '{3}' cannot be loaded{4}.",
            Source, summary.RowsSkipped, summary.RowsRead, _columnName, ending));
        _passCompleted?.Invoke(summary);
    }

    // A channel per message: warnings are rare, and a channel held for a pass would leak with a cursor that
    // is never disposed. Starting one is cheap and safe from any thread.
    private void Log(Action<IChannel> write)
    {
        if (_host is null)
        {
            return;
        }

        using IChannel channel = _host.Start(Source);
        write(channel);
    }
}
