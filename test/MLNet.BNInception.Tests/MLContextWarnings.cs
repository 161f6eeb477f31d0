using Microsoft.ML.Runtime;

namespace MLNet.BNInception.Tests;

/// <summary>The warnings an <see cref="MLContext"/> logs, where the trainer reports what it goes on despite.</summary>
internal static class MLContextWarnings
{
    /// <summary>A list that each warning <paramref name="ml"/> logs from now on is added to.</summary>
    public static List<string> Collect(MLContext ml)
    {
        var warnings = new List<string>();
        ml.Log += (_, message) =>
        {
            if (message.Kind == ChannelMessageKind.Warning)
            {
                warnings.Add(message.Message);
            }
        };
        return warnings;
    }
}
