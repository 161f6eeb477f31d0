using System.Globalization;
using MLNet.BNInception;
using MLNet.BNInception.Demo;
using MLNet.BNInception.Torch;

// The README's main job: the Fashion-MNIST walk-through (docs/walkthrough.md) through the pipeline
// API. Ctrl-C stops training within one batch, leaving a checkpoint that --resume continues from.
var settings = new SampleSettings();
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

Console.WriteLine($"libtorch {torch.version}, {torch.get_num_threads()} threads");
var context = new MLContext(seed: 1);
context.Log += (_, e) =>
{
    if (e.Kind >= ChannelMessageKind.Info)
    {
        Console.WriteLine(e.Message);
    }
};
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    context.CancelExecution();
};

try
{
    SampleResult result = FashionMnistSample.Run(settings, context, Console.Out);
    if (result.ReloadedMetrics.MicroAccuracy != result.Metrics.MicroAccuracy || result.ReloadedMetrics.LogLoss != result.Metrics.LogLoss)
    {
        Console.Error.WriteLine("The reloaded model scores differently from the trained one.");
        return 1;
    }

    if (result.OnnxAgreement != result.OnnxChecked)
    {
        Console.Error.WriteLine("The exported model classifies differently in OpenCV.");
        return 1;
    }

    return 0;
}
catch (OperationCanceledException)
{
    Console.WriteLine($"Cancelled. The checkpoint in {settings.OutputFolder} is valid: run again with --resume to continue.");
    return 130;
}
