using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Inference;

/// <summary>
/// Scores images with a trained BN-Inception: eval mode, BN folded into the convolutions,
/// channels-last, inference mode (no autograd bookkeeping), in batches, optionally in bfloat16 or on
/// a GPU (<see cref="ScorerOptions"/>). The scorer owns a copy of the weights, so later training of
/// the source model does not change it. It is safe to call from several threads at once: scoring
/// only reads the weights, and libtorch's inference mode and TorchSharp's dispose scopes are per thread.
/// On the CPU, while it lives, glibc keeps the heap its batches free for the next batch, as ONNX
/// Runtime keeps its arena, instead of returning it to the system and faulting it in again
/// (docs/engine.md, "Sharing two cores"; <c>BNINCEPTION_KEEP_HEAP=0</c> turns that off).
/// </summary>
public sealed class BnInceptionScorer : IDisposable
{
    private readonly BnInception _network;
    private readonly Device _device;
    private readonly ScalarType _computeType;
    // On the CPU, one batch's activations reuse the heap the batch before freed (KeptHeap); null on
    // a GPU, or where the deployer keeps glibc's own settings.
    private readonly KeptHeap? _heap;
    // A Dispose during a call leaves the freeing to the last call to end, so a call under way finishes whole.
    private readonly CallsInProgress _calls;

    /// <summary>Creates the scorer from <paramref name="model"/>'s current weights.</summary>
    /// <param name="model">The trained network.</param>
    /// <param name="options">How to score; null for the defaults.</param>
    /// <exception cref="ArgumentException">A setting is out of range, or the device is not available.</exception>
    public BnInceptionScorer(BnInception model, ScorerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Settings = options ?? new ScorerOptions();
        Settings.Validate();
        _device = TorchRuntime.ResolveDevice(Settings.Device);
        _computeType = Settings.Precision == ScoringPrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
        bool fold = Settings.FoldBatchNorm && model.BatchNormalization == BatchNormalization.Layers;
        _network = fold ? BatchNormFolding.Fold(model) : Copy(model);
        try
        {
            _network.eval();
            _network.UseChannelsLast(Settings.ChannelsLast);
            _network.to(_device).to(_computeType);
        }
        catch
        {
            _network.Dispose();
            throw;
        }

        _heap = _device.type == DeviceType.CPU ? KeptHeap.Hold() : null;
        _calls = new CallsInProgress(FreeNetwork, () => new ObjectDisposedException(nameof(BnInceptionScorer)));
    }

    /// <summary>The settings the scorer runs with.</summary>
    public ScorerOptions Settings { get; }

    /// <summary>
    /// True when the network scored has BN folded into its convolutions: folded here
    /// (<see cref="ScorerOptions.FoldBatchNorm"/>) or already folded in the model given.
    /// </summary>
    public bool IsFolded => _network.BatchNormalization == BatchNormalization.FoldedIntoConvolutions;

    /// <summary>The architecture settings.</summary>
    public BnInceptionOptions Options => _network.Options;

    /// <summary>
    /// Logits, N × classes (float32, CPU), for images N × channels × H × W (float32, any device and
    /// layout), H and W at least the network's <see cref="BnInceptionOptions.InputSize"/>, square or
    /// not. Larger images are resized whole to the input size on the scoring device, with the
    /// antialiased bilinear filter training uses (as <c>interpolate(…, mode: Bilinear,
    /// align_corners: false, antialias: true)</c>); images of the input size go to the network as they are.
    /// </summary>
    /// <exception cref="ArgumentException">The images do not fit the network.</exception>
    /// <exception cref="InsufficientMemoryException">The GPU ran out of memory; the message says which batch size to lower.</exception>
    /// <exception cref="ObjectDisposedException">The scorer was disposed before the call (one disposed during it finishes it first).</exception>
    public Tensor Logits(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        return _calls.Run(() => LogitsOfLiveNetwork(images));
    }

    private Tensor LogitsOfLiveNetwork(Tensor images)
    {
        if (images.dtype != ScalarType.Float32)
        {
            throw new ArgumentException($"The scorer takes float32 images, not {images.dtype}.", nameof(images));
        }

        Options.CheckResizableImageShape(images.shape, "The images", nameof(images));
        long count = images.size(0);
        using IDisposable inference = inference_mode();
        using DisposeScope scope = NewDisposeScope();
        // On a GPU, each batch goes through page-locked host memory with an asynchronous copy, and
        // the logits stay on the device until the end: the host queues the next batch while the
        // device computes, and waits once, for the last result, instead of once per batch.
        bool staged = _device.type == DeviceType.CUDA && images.device_type == DeviceType.CPU;
        var batches = new List<Tensor>();
        for (long start = 0; start < count; start += Settings.BatchSize)
        {
            BeforeEachBatch?.Invoke();
            // Only the batch's logits outlive it: its copy on the device, the resized and cast
            // images and the network's own output go with this scope, so a call over many batches
            // holds one batch of images at a time, on the GPU too.
            using DisposeScope batchScope = NewDisposeScope();
            Tensor slice = images.narrow(0, start, Math.Min(Settings.BatchSize, count - start));
            Tensor batch = staged ? CopyThroughPinnedMemory(slice) : slice.to(_device);
            // Resized in float32 before the cast, so that bfloat16 scoring sees the same pixels.
            Tensor resized = WholeImageResize.ToSide(batch, Options.InputSize);
            try
            {
                batches.Add(_network.call(resized.to(_computeType)).to(ScalarType.Float32).MoveToOuterDisposeScope());
            }
            catch (Exception error) when (DeviceMemory.IsOutOfMemory(error))
            {
                throw DeviceMemory.OutOfMemory(error, _device, "the scorer's BatchSize", Settings.BatchSize);
            }
        }

        Tensor result = batches.Count switch
        {
            0 => empty([0, Options.NumClasses]),
            1 => batches[0],
            _ => cat(batches),
        };
        return result.cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Called before each batch of <see cref="Logits"/>, on its thread: for tests that look at what each batch leaves behind.</summary>
    internal Action? BeforeEachBatch { get; set; }

    // The batch in page-locked memory and its asynchronous copy to the device. The page-locked copy
    // is freed as soon as the copy is queued: libtorch's page-locked allocator records the copy's
    // stream and hands that memory out again only after the copy has run.
    private Tensor CopyThroughPinnedMemory(Tensor slice)
    {
        using Tensor pinned = slice.pin_memory();
        return pinned.to(_device, non_blocking: true);
    }

    /// <summary>Softmax probabilities, N × classes.</summary>
    public Tensor Probabilities(Tensor images)
    {
        using Tensor logits = Logits(images);
        using IDisposable inference = inference_mode();
        return F.softmax(logits, 1);
    }

    /// <summary>The <paramref name="k"/> most probable classes per image, most probable first, with their probabilities.</summary>
    public (Tensor Probabilities, Tensor Classes) TopK(Tensor images, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, Options.NumClasses);
        using Tensor probabilities = Probabilities(images);
        using IDisposable inference = inference_mode();
        return probabilities.topk(k, dim: 1);
    }

    /// <summary>
    /// Frees the scorer's copy of the weights, and lets glibc's heap shrink if nothing else keeps it;
    /// calls under way on other threads finish first, and the last of them frees them.
    /// </summary>
    public void Dispose() => _calls.Dispose();

    private void FreeNetwork()
    {
        _network.Dispose();
        _heap?.Dispose();
    }

    private static BnInception Copy(BnInception model)
    {
        BnInception copy = model.BuiltAlike();
        try
        {
            PyTorchStateDict.LoadInto(copy, model.state_dict(), source: "the trained model");
            return copy;
        }
        catch
        {
            copy.Dispose();
            throw;
        }
    }
}
