using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML;
using MLNet.BNInception.Benchmarks;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Programs;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

// One measurement of BN-Inception's throughput on this engine, printed as one JSON line; bench.sh
// runs it alternately with python/pytorch_bench.py (the same work in Debian's PyTorch) and reports
// medians and ratios. Each measurement runs in a process of its own, so neither side inherits the
// other's warm caches or memory, and each line carries the process's peak resident memory.
//
//   train  forward + backward + SGD step (momentum 0.9) in training mode, on random images and
//          labels; --precision bfloat16-mixed trains in mixed precision
//   train-engine  the engine's BnInceptionTrainer (its own loop: flat-buffer SGD, prefetching,
//          weight decay, the schedule) over --warmup + --iterations batches of random images in
//          memory, one epoch; --augment on adds its random resized crops and flips
//   infer  the engine's scorer: BN folded, inference mode; --precision bfloat16 computes in bfloat16
//   infer-onnxruntime  ONNX Runtime (float32, graph optimisations on) on the engine's ONNX export
//                  of the same network: the other engine the scoring job can use
//   infer-mlnet-onnx  ML.NET's ApplyOnnxModel on the export as an ML.NET model file holds it,
//                  through a data view of --batch rows per timed pass (one row per ONNX run)
//   decode  ML.NET's LoadImages + ResizeImages + ExtractPixels alone over --images JPEG files,
//          one cursor per thread (--threads, default the cores)
//   agreement  bfloat16 against float32 scoring: top-1 agreement on Fashion-MNIST's 10,000 test
//          images, with a Fashion-MNIST model of 384 steps at 64×64
//   pipeline-train  the ML.NET trainer fed from JPEG files through ML.NET's image transforms; --list cached
//          holds the list in ML.NET's cache first (as bninception train does), --hold-out F sets ValidationFraction
// --layout channels-last (default) or contiguous.

// The JSON lines bench.sh collects, and the libraries' messages, read alike on every machine, whatever LANG says.
ProgramCulture.UseInvariant();
var settings = new Dictionary<string, string>
{
    ["mode"] = "train", ["side"] = "224", ["batch"] = "32", ["layout"] = "channels-last", ["precision"] = "float32",
    ["warmup"] = "2", ["iterations"] = "5", ["images"] = "320", ["train-images"] = "320", ["threads"] = "0", ["augment"] = "off",
    ["folder"] = Path.Combine(Path.GetTempPath(), "bninception-bench-jpegs"), ["list"] = "file", ["hold-out"] = "0",
};
for (int i = 0; i + 1 < args.Length; i += 2)
{
    string key = args[i].TrimStart('-');
    if (!settings.ContainsKey(key))
    {
        Console.Error.WriteLine($"Unknown option {args[i]}; options: {string.Join(", ", settings.Keys.Select(k => "--" + k))}");
        return 2;
    }

    settings[key] = args[i + 1];
}

int side = int.Parse(settings["side"], CultureInfo.InvariantCulture);
int batch = int.Parse(settings["batch"], CultureInfo.InvariantCulture);
int warmup = int.Parse(settings["warmup"], CultureInfo.InvariantCulture);
int iterations = int.Parse(settings["iterations"], CultureInfo.InvariantCulture);
bool channelsLast = settings["layout"] switch
{
    "channels-last" => true,
    "contiguous" => false,
    var other => throw new ArgumentException($"--layout {other}: use channels-last or contiguous."),
};

int imageCount = int.Parse(settings["images"], CultureInfo.InvariantCulture);
TorchRuntime.EnsureLoaded();
switch (settings["mode"])
{
    case "pipeline-train":
        Console.WriteLine(JsonSerializer.Serialize(PipelineBenchmark.Run(side, batch, imageCount, int.Parse(settings["train-images"], CultureInfo.InvariantCulture),
            warmup, settings["folder"], settings["list"] switch
            {
                "file" => false,
                "cached" => true,
                var other => throw new ArgumentException($"--list {other}: use file or cached."),
            }, double.Parse(settings["hold-out"], CultureInfo.InvariantCulture))));
        return 0;
    case "decode":
        int threads = int.Parse(settings["threads"], CultureInfo.InvariantCulture);
        Console.WriteLine(JsonSerializer.Serialize(PipelineBenchmark.Decode(side, imageCount, threads > 0 ? threads : Environment.ProcessorCount, settings["folder"])));
        return 0;
    case "agreement":
        Console.WriteLine(JsonSerializer.Serialize(AgreementBenchmark.Run()));
        return 0;
    case "train-engine":
        Console.WriteLine(JsonSerializer.Serialize(TrainerBenchmark.Run(side, batch, warmup, iterations, channelsLast,
            settings["precision"] == "bfloat16-mixed" ? MLNet.BNInception.Engine.Training.TrainingPrecision.BFloat16Mixed : MLNet.BNInception.Engine.Training.TrainingPrecision.Float32,
            settings["augment"] == "on")));
        return 0;
}

manual_seed(0);
using var net = new BnInception(new BnInceptionOptions { InputSize = side, NumClasses = 1000 });
using Tensor images = randn([batch, 3, side, side]);
using Tensor labels = randint(0, 1000, [batch]);
Action step;
IDisposable? owned = null;
switch (settings["mode"])
{
    case "train":
        net.UseChannelsLast(channelsLast).UseBFloat16Compute(settings["precision"] == "bfloat16-mixed").train();
        var optimizer = optim.SGD(net.parameters(), 0.01, momentum: 0.9);
        owned = optimizer;
        step = () =>
        {
            using DisposeScope scope = NewDisposeScope();
            Tensor loss = F.cross_entropy(net.call(images), labels);
            optimizer.zero_grad();
            loss.backward();
            // TorchSharp's SGD.step with its numbers in held Scalars (its own makes them implicitly, which a
            // collection can free mid-call: the engine's SgdStep).
            MLNet.BNInception.Engine.Training.SgdStep.Apply(optimizer);
        };
        break;
    case "infer":
        ScoringPrecision precision = settings["precision"] == "bfloat16" ? ScoringPrecision.BFloat16 : ScoringPrecision.Float32;
        var scorer = new BnInceptionScorer(net, new ScorerOptions { BatchSize = batch, ChannelsLast = channelsLast, Precision = precision });
        owned = scorer;
        step = () =>
        {
            using Tensor logits = scorer.Logits(images);
        };
        break;
    case "infer-mlnet-onnx":
        var ml = new MLContext(seed: 1);
        ITransformer applyOnnx = MLNetOnnx(ml, net, side, out string onnxPath);
        float[] image = images.narrow(0, 0, 1).data<float>().ToArray();
        IDataView rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, batch).Select(_ => new FeatureRow { Features = image }), FeatureRow.Schema(side));
        owned = new Deleting(onnxPath);
        step = () =>
        {
            int scored = applyOnnx.Transform(rows).GetColumn<float[]>("Probabilities").Count(row => row.Length == 1000);
            if (scored != batch)
            {
                throw new InvalidOperationException($"ApplyOnnxModel scored {scored} of {batch} rows.");
            }
        };
        break;
    case "infer-onnxruntime":
        var session = OnnxRuntimeSession(net, get_num_threads());
        owned = session;
        float[] pixels = images.data<float>().ToArray();
        step = () =>
        {
            using OrtValue input = OrtValue.CreateTensorValueFromMemory(pixels, [batch, 3, side, side]);
            using var run = new RunOptions();
            using IDisposableReadOnlyCollection<OrtValue> logits = session.Run(run, ["input"], [input], ["logits"]);
        };
        break;
    default:
        throw new ArgumentException($"--mode {settings["mode"]}: use train, train-engine, infer, infer-onnxruntime, infer-mlnet-onnx, decode, agreement or pipeline-train.");
}

for (int i = 0; i < warmup; i++)
{
    step();
}

var rates = new List<double>();
for (int i = 0; i < iterations; i++)
{
    var clock = Stopwatch.StartNew();
    step();
    rates.Add(batch / clock.Elapsed.TotalSeconds);
}

owned?.Dispose();
rates.Sort();
Console.WriteLine(JsonSerializer.Serialize(new
{
    engine = settings["mode"] switch
    {
        "infer-onnxruntime" => "ONNX Runtime 1.32 (C#), on our ONNX export",
        "infer-mlnet-onnx" => "ML.NET 6.0.0 ApplyOnnxModel (ONNX Runtime 1.32), on our ONNX export",
        _ => "MLNet.BNInception (TorchSharp 0.107, libtorch 2.10)",
    },
    mode = settings["mode"],
    layout = settings["layout"],
    precision = settings["precision"],
    image_side = side,
    batch,
    threads = get_num_threads(),
    warmup_steps = warmup,
    timed_steps = iterations,
    images_per_second = Rates.Median(rates),
    runs = rates,
    peak_resident_bytes = Memory.PeakResidentBytes(),
}));
return 0;

// The export as an ML.NET model file holds it (one row per run, probabilities), applied by ML.NET.
static ITransformer MLNetOnnx(MLContext ml, BnInception network, int side, out string path)
{
    path = Path.Combine(Path.GetTempPath(), $"bninception-bench-{Environment.ProcessId}.onnx");
    network.eval();
    using (FileStream file = File.Create(path))
    {
        MLNet.BNInception.Engine.Onnx.OnnxExporter.Export(network, file, new MLNet.BNInception.Engine.Onnx.OnnxExportOptions
        {
            InputName = "Features",
            Outputs = MLNet.BNInception.Engine.Onnx.OnnxOutputs.Probabilities,
            ProbabilitiesName = "Probabilities",
            ClassLabels = Enumerable.Range(0, (int)network.Options.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray(),
            ForMLNetOnnxTransformer = true,
        });
    }

    return ml.Transforms.ApplyOnnxModel("Probabilities", "Features", path).Fit(ml.Data.LoadFromEnumerable(Array.Empty<FeatureRow>(), FeatureRow.Schema(side)));
}

// The network exported as the scoring job finds it (BN folded), run with every graph optimisation
// and as many intra-op threads as libtorch gets.
static InferenceSession OnnxRuntimeSession(BnInception network, int threads)
{
    using var onnx = new MemoryStream();
    network.eval();
    MLNet.BNInception.Engine.Onnx.OnnxExporter.Export(network, onnx, new MLNet.BNInception.Engine.Onnx.OnnxExportOptions { Outputs = MLNet.BNInception.Engine.Onnx.OnnxOutputs.Logits });
    using var options = new SessionOptions
    {
        IntraOpNumThreads = threads,
        InterOpNumThreads = 1,
        ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };
    return new InferenceSession(onnx.ToArray(), options);
}
