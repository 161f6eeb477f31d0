using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using MLNet.BNInception;
using MLNet.BNInception.Datasets;
using MLNet.BNInception.Inference;
using MLNet.BNInception.Interop;
using MLNet.BNInception.Models;
using MLNet.BNInception.Onnx;
using MLNet.BNInception.Training;
using TorchSharp;
using static TorchSharp.torch;

// The main job at this stage of the project (the engine on TorchSharp; the ML.NET pipeline comes
// back with the next issue): train BN-Inception on Debian's Fashion-MNIST, upscaled to 64×64, with
// the paper's BN-x30 recipe; evaluate all 10,000 test images with BN folded into the convolutions,
// in float32 and in bfloat16; save the weights in PyTorch's format, reload them and check that they
// score the same; export an ONNX file and check that ONNX Runtime scores it the same. Ctrl-C stops
// within one batch and leaves a checkpoint that --resume continues from.

string output = "artifacts/demo";
int trainImages = 12_288, epochs = 1;
bool resume = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--output": output = Next(); break;
        case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--train-images": trainImages = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--resume": resume = true; break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: demo [--output DIR] [--epochs N] [--train-images N] [--resume]");
            return 2;
    }
}

Directory.CreateDirectory(output);
string checkpointPath = Path.Combine(output, "training.ckpt");
string weightsPath = Path.Combine(output, "bn_inception.pt");
string onnxPath = Path.Combine(output, "bn_inception.onnx");
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };

TorchRuntime.EnsureLoaded();
Console.WriteLine($"TorchSharp with libtorch {__version__}, {get_num_threads()} threads");
var clock = Stopwatch.StartNew();
using DisposeScope data = NewDisposeScope();
(Tensor trainX, Tensor trainY) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "train", 0, trainImages, 64);
(Tensor validX, Tensor validY) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "train", trainImages, 1000, 64);
(Tensor testX, Tensor testY) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "t10k", 0, 10_000, 64);
Console.WriteLine($"Fashion-MNIST at 64x64: {trainX.size(0)} training, {validX.size(0)} validation, {testX.size(0)} test images");

var modelOptions = new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = FashionMnist.ClassNames.Count };
TrainerOptions trainerOptions = TrainerOptions.PaperBnX30 with
{
    Epochs = epochs,
    BatchSize = 32,
    Seed = 1,
    // One short epoch: the paper's slow exponential decay would barely move, so the rate anneals
    // over the run instead.
    Schedule = new CosineSchedule(),
    Augmentation = new AugmentationOptions { CropScale = (0.7, 1.0) },
    CheckpointPath = checkpointPath,
};

void ReportStep(TrainingProgress p)
{
    if (p.StepInEpoch % 32 == 0 || p.StepInEpoch == p.StepsPerEpoch)
    {
        Console.WriteLine($"epoch {p.Epoch} step {p.StepInEpoch}/{p.StepsPerEpoch}: loss {p.Loss:F3}, batch accuracy {p.Accuracy:P0}, " +
                          $"lr {p.LearningRate:G3}, {p.ImagesPerSecond:F0} images/s, {p.Remaining:mm\\:ss} left");
    }
}

void ReportEpoch(EpochMetrics m) =>
    Console.WriteLine($"epoch {m.Epoch}: train loss {m.TrainLoss:F3}, validation loss {m.ValidationLoss:F3}, validation accuracy {m.ValidationAccuracy:P1}");

TrainingResult result;
try
{
    result = resume && File.Exists(checkpointPath)
        ? BnInceptionTrainer.Resume(checkpointPath, trainX, trainY, validX, validY, ReportStep, ReportEpoch, cancellation.Token)
        : new BnInceptionTrainer(modelOptions, trainerOptions).Fit(trainX, trainY, validX, validY, ReportStep, ReportEpoch, cancellation.Token);
}
catch (OperationCanceledException)
{
    Console.WriteLine($"Cancelled. The checkpoint {checkpointPath} is valid: run again with --resume to continue.");
    return 130;
}

using (result)
{
    using var scorer = new BnInceptionScorer(result.Model);
    (double top1, double top5, Tensor predicted) = Accuracy(scorer, testX, testY);
    Console.WriteLine($"test accuracy (BN folded, float32, {testX.size(0)} images): top-1 {top1:P2}, top-5 {top5:P2}");

    using var bfloat16 = new BnInceptionScorer(result.Model, new ScorerOptions { Precision = ScoringPrecision.BFloat16 });
    (double bfloat16Top1, _, Tensor bfloat16Predicted) = Accuracy(bfloat16, testX, testY);
    double agreement = predicted.eq(bfloat16Predicted).sum().item<long>() / (double)testX.size(0);
    Console.WriteLine($"bfloat16 scoring: top-1 {bfloat16Top1:P2}, same prediction as float32 on {agreement:P2} of the test images");

    PyTorchStateDict.Save(result.Model.state_dict(), weightsPath);
    Console.WriteLine($"saved weights to {weightsPath} (Python's torch.load reads them)");

    using var reloaded = new BnInception(modelOptions);
    PyTorchStateDict.LoadInto(reloaded, PyTorchStateDict.Load(weightsPath), source: weightsPath);
    using var reloadedScorer = new BnInceptionScorer(reloaded);
    (double reloadedTop1, _, _) = Accuracy(reloadedScorer, testX, testY);
    Console.WriteLine($"reloaded model: top-1 {reloadedTop1:P2}");
    if (reloadedTop1 != top1)
    {
        Console.Error.WriteLine("The reloaded model scores differently from the trained one.");
        return 1;
    }

    OnnxExporter.Export(result.Model, onnxPath, new OnnxExportOptions { ClassLabels = FashionMnist.ClassNames });
    long onnxAgree = OnnxRuntimeAgreement(onnxPath, testX, predicted, count: 1000);
    Console.WriteLine($"exported {onnxPath}; ONNX Runtime agrees with our top-1 on {onnxAgree} of 1000 test images");
    if (onnxAgree != 1000)
    {
        Console.Error.WriteLine("The exported model classifies differently in ONNX Runtime.");
        return 1;
    }
}

Console.WriteLine($"done in {clock.Elapsed:m\\:ss}");
return 0;

static (double Top1, double Top5, Tensor Predicted) Accuracy(BnInceptionScorer scorer, Tensor images, Tensor labels)
{
    (Tensor _, Tensor classes) = scorer.TopK(images, 5);
    using Tensor hits = classes.eq(labels.unsqueeze(1));
    double count = labels.size(0);
    return (hits.select(1, 0).sum().item<long>() / count, hits.sum().item<long>() / count, classes.select(1, 0));
}

// ONNX Runtime's top-1 on the first images, compared with ours.
static long OnnxRuntimeAgreement(string path, Tensor images, Tensor predicted, int count)
{
    using var session = new InferenceSession(path);
    using Tensor batch = images.narrow(0, 0, count).contiguous();
    float[] pixels = batch.data<float>().ToArray();
    using OrtValue input = OrtValue.CreateTensorValueFromMemory(pixels, batch.shape);
    using var runOptions = new RunOptions();
    using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, [session.InputNames[0]], [input], [OnnxExporter.LogitsOutput]);
    using Tensor logits = tensor(outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[0].GetTensorTypeAndShape().Shape);
    using Tensor same = logits.argmax(1).eq(predicted.narrow(0, 0, count));
    return same.sum().item<long>();
}
