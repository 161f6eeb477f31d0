using System.Globalization;
using MLNet.BNInception.Datasets;
using MLNet.BNInception.Inference;
using MLNet.BNInception.Models;
using MLNet.BNInception.Onnx;
using MLNet.BNInception.Torch;
using MLNet.BNInception.Training;
using F = MLNet.BNInception.Torch.torch.nn.functional;

// The main job at this stage of the project: train BN-Inception on Debian's Fashion-MNIST (upscaled
// to 64×64) with the paper's BN-x30 recipe, evaluate it with BN folded into the convolutions, save
// the weights in PyTorch's format, reload them and check that they score the same, and export an
// ONNX file that OpenCV's DNN module scores the same. Ctrl-C stops within one batch and leaves a
// checkpoint that --resume continues from. The pipeline API joins the main job when it lands.

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

Console.WriteLine($"libtorch {torch.version}, {torch.get_num_threads()} threads");
using DisposeScope data = torch.NewDisposeScope();
(Tensor trainX, Tensor trainY) = Load("train", 0, trainImages);
(Tensor validX, Tensor validY) = Load("train", trainImages, 1000);
(Tensor testX, Tensor testY) = Load("t10k", 0, 10_000);
Console.WriteLine($"Fashion-MNIST at 64x64: {trainX.size(0)} training, {validX.size(0)} validation, {testX.size(0)} test images");

var modelOptions = new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = FashionMnist.ClassNames.Count };
TrainerOptions trainerOptions = TrainerOptions.PaperBnX30 with
{
    Epochs = epochs,
    BatchSize = 32,
    Seed = 1,
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
    (double top1, double top5) = Accuracy(scorer, testX, testY);
    Console.WriteLine($"test accuracy (BN folded, {testX.size(0)} images): top-1 {top1:P2}, top-5 {top5:P2}");

    torch.save(result.Model.state_dict(), weightsPath);
    Console.WriteLine($"saved weights to {weightsPath} (torch.load reads them in Python)");

    using var reloaded = new BnInception(modelOptions);
    IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(weightsPath);
    reloaded.load_state_dict(loaded);
    foreach (KeyValuePair<string, Tensor> pair in loaded)
    {
        pair.Value.Dispose();
    }

    using var reloadedScorer = new BnInceptionScorer(reloaded);
    (double reloadedTop1, _) = Accuracy(reloadedScorer, testX, testY);
    Console.WriteLine($"reloaded model: top-1 {reloadedTop1:P2}");
    if (reloadedTop1 != top1)
    {
        Console.Error.WriteLine("The reloaded model scores differently from the trained one.");
        return 1;
    }

    OnnxExporter.Export(result.Model, onnxPath, new OnnxExportOptions { ClassLabels = FashionMnist.ClassNames });
    using OpenCvOnnxNet onnx = OpenCvOnnxNet.Load(onnxPath);
    long agree = 0, checkedImages = Math.Min(1000, testX.size(0));
    for (long start = 0; start < checkedImages; start += 100)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor batch = testX.narrow(0, start, Math.Min(100, checkedImages - start));
        agree += onnx.Forward(batch, OnnxExporter.ProbabilitiesOutput).argmax(1).eq(scorer.Logits(batch).argmax(1)).sum().item<long>();
    }

    Console.WriteLine($"exported {onnxPath}; OpenCV's DNN module agrees with our top-1 on {agree} of {checkedImages} test images");
    if (agree != checkedImages)
    {
        Console.Error.WriteLine("The exported model classifies differently in OpenCV.");
        return 1;
    }
}

return 0;

// 28×28 bytes to 64×64 floats in [0, 1].
static (Tensor Images, Tensor Labels) Load(string split, int skip, int count)
{
    (byte[] pixels, long[] labels, int loaded) = FashionMnist.Load(FashionMnist.DefaultFolder, split, skip + count);
    using DisposeScope scope = torch.NewDisposeScope();
    Tensor images = torch.tensor(pixels, loaded, 1, 28, 28).narrow(0, skip, loaded - skip).to(ScalarType.Float32) / 255.0;
    Tensor resized = F.interpolate(images, [64, 64]).MoveToOuterDisposeScope();
    return (resized, torch.tensor(labels[skip..]).MoveToOuterDisposeScope());
}

static (double Top1, double Top5) Accuracy(BnInceptionScorer scorer, Tensor images, Tensor labels)
{
    using DisposeScope scope = torch.NewDisposeScope();
    (_, Tensor classes) = scorer.TopK(images, 5);
    Tensor hits = classes.eq(labels.unsqueeze(1));
    double count = labels.size(0);
    return (hits.select(1, 0).sum().item<long>() / count, hits.sum().item<long>() / count);
}
