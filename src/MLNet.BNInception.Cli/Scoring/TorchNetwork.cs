using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// The saved network rebuilt in this package's TorchSharp engine: for bfloat16 scoring (weights and
/// activations in bfloat16, channels-last), which no ONNX Runtime CPU kernel offers and which runs
/// about twice as fast as float32 on CPUs with AVX512-BF16, its top class agreeing with float32's on
/// all but a fraction of a percent of images (docs/performance.md); and for scoring on a GPU in
/// either precision.
/// </summary>
internal sealed class TorchNetwork : IScoringNetwork
{
    private readonly BnInceptionScorer _scorer;
    private readonly long[] _imageShape;

    public TorchNetwork(ImportedNetwork network, IReadOnlyList<string> classLabels, ScoringPrecision precision, string device, int threads, int batchSize)
    {
        TorchRuntime.EnsureLoaded();
        torch.set_num_threads(threads);
        _scorer = new BnInceptionScorer(network.Model, new ScorerOptions { Precision = precision, BatchSize = batchSize, Device = device });
        // The images the saved file takes, which the scorer resizes when they are larger than the network's input.
        int channels = network.Model.Options.InputChannels, side = network.ImageSize;
        _imageShape = [channels, side, side];
        InputName = network.ExportOptions.InputName;
        FeatureLength = channels * side * side;
        ClassLabels = classLabels;
        Description = $"TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)} (libtorch), {(precision == ScoringPrecision.BFloat16 ? "bfloat16" : "float32")}, channels-last, {(network.Model.BatchNormalization == BatchNormalization.FoldedIntoConvolutions ? "BN folded" : "no BN")}, " +
            (device == "cpu" ? $"{threads} thread{(threads == 1 ? "" : "s")}" : $"on {device}");
    }

    public string Description { get; }

    public string InputName { get; }

    public int FeatureLength { get; }

    public IReadOnlyList<string> ClassLabels { get; }

    public void Score(float[] features, int count, float[] probabilities)
    {
        using DisposeScope scope = NewDisposeScope();
        // The buffer holds a whole batch; the first count images are the ones to score. One copy,
        // into libtorch, and none on the managed heap.
        Tensor images = tensor(features, [features.Length / FeatureLength, .. _imageShape]).narrow(0, 0, count);
        Tensor result = _scorer.Probabilities(images);
        result.data<float>().CopyTo(probabilities, 0);
    }

    public void Dispose() => _scorer.Dispose();
}
