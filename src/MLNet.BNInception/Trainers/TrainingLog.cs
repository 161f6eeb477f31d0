using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Progress and warnings for an <see cref="MLContext"/>'s <c>Log</c> event, through ML.NET's public
/// channel API. ML.NET gives a third-party catalog extension no way to reach the MLContext it was
/// called on (the catalog's environment is internal), so the context comes from the trainer's
/// options; without one, messages go to the options' callbacks only.
/// </summary>
internal sealed class TrainingLog : IDisposable
{
    private readonly IChannel? _channel;

    public TrainingLog(MLContext? context, string name)
    {
        if (context is not null)
        {
            IHost host = ((IHostEnvironment)context).Register("BnInception");
            _channel = host.Start(name);
        }
    }

    // The overloads without arguments pass the text through unformatted, so braces in paths and
    // class names need no escaping.
    public void Info(string message) => _channel?.Info(MessageSensitivity.None, message);

    public void Warning(string message) => _channel?.Warning(MessageSensitivity.None, message);

    public void Dispose() => _channel?.Dispose();
}
