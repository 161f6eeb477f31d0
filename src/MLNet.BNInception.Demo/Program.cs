using System.Globalization;
using MLNet.BNInception.Demo;

// The README's main job: the Fashion-MNIST walk-through (docs/walkthrough.md) on real ML.NET.
// Ctrl-C stops training within one batch, leaving a checkpoint that --resume continues from.
const string Usage = "usage: demo [--output DIR] [--epochs N] [--train-images N] [--test-images N] [--resume]";
var settings = new WalkthroughSettings();
try
{
    for (int i = 0; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
        int Count()
        {
            string name = args[i], value = Next();
            return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count > 0
                ? count
                : throw new ArgumentException($"{name} needs a whole number above 0, not '{value}'.");
        }

        switch (args[i])
        {
            case "--output": settings = settings with { OutputFolder = Next() }; break;
            case "--epochs": settings = settings with { Epochs = Count() }; break;
            case "--train-images": settings = settings with { TrainImages = Count() }; break;
            case "--test-images": settings = settings with { TestImages = Count() }; break;
            case "--resume": settings = settings with { Resume = true }; break;
            case "-h" or "--help": Console.WriteLine(Usage); return 0;
            default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
        }
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"{e.Message} {Usage}");
    return 2;
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
