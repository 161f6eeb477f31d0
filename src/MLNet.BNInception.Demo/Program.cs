using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.Datasets;
using MLNet.BNInception.Demo;
using MLNet.BNInception.Torch;
using MLNet.BNInception.Torch.Optim;
using F = MLNet.BNInception.Torch.torch.nn.functional;

// The main job at this stage of the project: train a small BN network on Debian's Fashion-MNIST
// through the libtorch binding, evaluate it, save the weights in PyTorch's format, reload them and
// score again. The BN-Inception pipeline (train, evaluate, score, export) replaces it as it lands.

const int BatchSize = 100;
string output = "artifacts/demo";
int epochs = 1, trainLimit = 60_000;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--output": output = Next(); break;
        case "--epochs": epochs = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--train-limit": trainLimit = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: demo [--output DIR] [--epochs N] [--train-limit N]");
            return 2;
    }
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancellation.Cancel(); };

Console.WriteLine($"libtorch {torch.version}, {torch.get_num_threads()} threads");
var (trainPixels, trainLabels, trainCount) = FashionMnist.Load(FashionMnist.DefaultFolder, "train", trainLimit);
var (testPixels, testLabels, testCount) = FashionMnist.Load(FashionMnist.DefaultFolder, "t10k", int.MaxValue);
Console.WriteLine($"Fashion-MNIST: {trainCount} training images, {testCount} test images");

torch.manual_seed(1);
using var net = new SmallBnNet(FashionMnist.ClassNames.Count);
using var optimizer = new SGD(net.parameters(), lr: 0.05, momentum: 0.9, weight_decay: 1e-4, nesterov: true);
using Tensor trainImages = ToImages(trainPixels, trainCount);
using Tensor trainTargets = torch.tensor(trainLabels);

var clock = Stopwatch.StartNew();
for (int epoch = 1; epoch <= epochs; epoch++)
{
    net.train();
    using Tensor order = torch.randperm(trainCount);
    double lossSum = 0;
    int batches = 0;
    for (int start = 0; start + BatchSize <= trainCount; start += BatchSize)
    {
        if (cancellation.IsCancellationRequested)
        {
            Console.WriteLine("Cancelled: nothing was saved.");
            return 130;
        }

        using DisposeScope scope = torch.NewDisposeScope();
        Tensor indices = order.narrow(0, start, BatchSize);
        Tensor loss = F.cross_entropy(net.call(trainImages.index_select(0, indices)), trainTargets.index_select(0, indices));
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        lossSum += loss.item<double>();
        batches++;
    }

    Console.WriteLine($"epoch {epoch}: mean loss {lossSum / batches:F4}, {clock.Elapsed.TotalSeconds:F0} s");
}

using Tensor testImages = ToImages(testPixels, testCount);
using Tensor testTargets = torch.tensor(testLabels);
double accuracy = Accuracy(net, testImages, testTargets);
Console.WriteLine($"test accuracy: {accuracy:P2}");

Directory.CreateDirectory(output);
string weightsPath = Path.Combine(output, "small_bn_net.pt");
torch.save(net.state_dict(), weightsPath);
Console.WriteLine($"saved weights to {weightsPath} (loads in Python with torch.load)");

using var reloaded = new SmallBnNet(FashionMnist.ClassNames.Count);
IReadOnlyList<KeyValuePair<string, Tensor>> loaded = torch.load(weightsPath);
reloaded.load_state_dict(loaded);
foreach (KeyValuePair<string, Tensor> pair in loaded)
{
    pair.Value.Dispose();
}

double reloadedAccuracy = Accuracy(reloaded, testImages, testTargets);
Console.WriteLine($"reloaded model test accuracy: {reloadedAccuracy:P2}");
if (reloadedAccuracy != accuracy)
{
    Console.Error.WriteLine("The reloaded model scores differently from the trained one.");
    return 1;
}

return 0;

// Bytes 0..255 to float images in [0, 1], N x 1 x 28 x 28.
static Tensor ToImages(byte[] pixels, int count)
{
    using Tensor bytes = torch.tensor(pixels, count, 1, 28, 28);
    using Tensor floats = bytes.to(ScalarType.Float32);
    return floats / 255.0;
}

static double Accuracy(SmallBnNet model, Tensor images, Tensor targets)
{
    model.eval();
    using IDisposable inference = torch.inference_mode();
    long correct = 0, count = images.size(0);
    for (long start = 0; start < count; start += 1000)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        long length = Math.Min(1000, count - start);
        Tensor predicted = model.call(images.narrow(0, start, length)).argmax(1);
        correct += predicted.eq(targets.narrow(0, start, length)).sum().item<long>();
    }

    return (double)correct / count;
}
