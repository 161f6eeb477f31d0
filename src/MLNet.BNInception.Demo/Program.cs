using System.Globalization;
using MLNet.BNInception.Demo;

// The README's main job: the Fashion-MNIST walk-through (docs/walkthrough.md) on real ML.NET.
// Ctrl-C stops training within one batch, leaving a checkpoint that --resume continues from.
var settings = new WalkthroughSettings();
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--output": settings = settings with { OutputFolder = Next() }; break;
        case "--epochs": settings = settings with { Epochs = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--train-images": settings = settings with { TrainImages = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--test-images": settings = settings with { TestImages = int.Parse(Next(), CultureInfo.InvariantCulture) }; break;
        case "--resume": settings = settings with { Resume = true }; break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: demo [--output DIR] [--epochs N] [--train-images N] [--test-images N] [--resume]");
            return 2;
    }
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

try
{
    WalkthroughResult result = FashionMnistWalkthrough.Run(settings, Console.Out, cancellation.Token);
    if (result.ReloadedMetrics.MicroAccuracy != result.Metrics.MicroAccuracy || Math.Abs(result.ReloadedMetrics.LogLoss - result.Metrics.LogLoss) > 1e-3)
    {
        Console.Error.WriteLine("The reloaded model scores differently from the trained one.");
        return 1;
    }

    if (result.OnnxAgreement != result.OnnxChecked)
    {
        Console.Error.WriteLine("The exported model classifies differently in ONNX Runtime.");
        return 1;
    }

    return 0;
}
catch (OperationCanceledException)
{
    Console.WriteLine($"Cancelled. The checkpoint in {settings.OutputFolder} is valid: run again with --resume to continue.");
    return 130;
}
