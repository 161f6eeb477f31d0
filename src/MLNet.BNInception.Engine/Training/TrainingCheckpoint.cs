using System.Text.Json.Serialization;
using System.Text.Json;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>Where a run stands, saved in checkpoints so that a resumed run continues exactly.</summary>
internal sealed record TrainingState
{
    public int Epoch { get; set; }                 // the epoch in progress, counting from 0
    public int NextBatch { get; set; }             // the next batch of that epoch
    public long Step { get; set; }                 // steps done in all
    public double EpochLossSum { get; set; }
    public long EpochCorrect { get; set; }
    public long EpochSeen { get; set; }
    public int EpochBatches { get; set; }
    public List<EpochMetrics> History { get; set; } = [];
    public int BestEpoch { get; set; }
    public double? BestMetric { get; set; }
    public int EpochsWithoutImprovement { get; set; }
}

/// <summary>
/// One checkpoint file in PyTorch's format (so Python can read it too): the model's state dict
/// under <c>model.</c>, SGD's momentum buffers under <c>optimizer.momentum.{i}</c> (parameters in
/// the optimizer's order), the best weights so far under <c>best.</c>, the global generator's state,
/// and the options and progress as UTF-8 JSON in <c>trainer.meta</c>. Each epoch's shuffle order
/// follows from the seed, so it is not stored. Written atomically by <see cref="PyTorchStateDict.Save(IEnumerable{KeyValuePair{string, Tensor}}, string)"/>.
/// </summary>
internal static class TrainingCheckpoint
{
    public const int FormatVersion = 2;
    public const string MomentumPrefix = "optimizer.momentum.";
    public const string MetaKey = "trainer.meta";
    private const string RngKey = "trainer.rng_state";

    private static readonly JsonSerializerOptions Json = new()
    {
        IncludeFields = true,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private sealed record Meta(int FormatVersion, BnInceptionOptions Model, TrainerOptions Trainer, TrainingState State);

    public static void Save(string path, BnInceptionOptions model, TrainerOptions trainer, TrainingState state,
        IEnumerable<KeyValuePair<string, Tensor>> modelState, IReadOnlyList<Tensor?> momentumBuffers,
        IEnumerable<KeyValuePair<string, Tensor>>? bestWeights)
    {
        using DisposeScope scope = NewDisposeScope();
        var entries = new List<KeyValuePair<string, Tensor>>();
        entries.AddRange(modelState.Select(pair => Prefixed("model.", pair)));
        for (int i = 0; i < momentumBuffers.Count; i++)
        {
            if (momentumBuffers[i] is { } buffer)
            {
                entries.Add(new(MomentumPrefix + i, buffer));
            }
        }

        if (bestWeights is not null)
        {
            entries.AddRange(bestWeights.Select(pair => Prefixed("best.", pair)));
        }

        entries.Add(new(RngKey, get_rng_state()));
        byte[] meta = JsonSerializer.SerializeToUtf8Bytes(new Meta(FormatVersion, model, trainer, state), Json);
        entries.Add(new(MetaKey, tensor(meta)));
        PyTorchStateDict.Save(entries, path);
    }

    /// <summary>A loaded checkpoint; dispose it to free its tensors.</summary>
    public sealed class Loaded : IDisposable
    {
        private readonly IReadOnlyList<KeyValuePair<string, Tensor>> _entries;

        internal Loaded(IReadOnlyList<KeyValuePair<string, Tensor>> entries, BnInceptionOptions model, TrainerOptions trainer, TrainingState state)
        {
            _entries = entries;
            Model = model;
            Trainer = trainer;
            State = state;
        }

        public BnInceptionOptions Model { get; }
        public TrainerOptions Trainer { get; }
        public TrainingState State { get; }

        public IEnumerable<KeyValuePair<string, Tensor>> Section(string prefix) =>
            _entries.Where(pair => pair.Key.StartsWith(prefix, StringComparison.Ordinal))
                .Select(pair => new KeyValuePair<string, Tensor>(pair.Key[prefix.Length..], pair.Value));

        public Tensor? Find(string key) => _entries.FirstOrDefault(pair => pair.Key == key).Value;

        public Tensor RngState => Find(RngKey)!;

        public void Dispose()
        {
            foreach (KeyValuePair<string, Tensor> pair in _entries)
            {
                pair.Value.Dispose();
            }
        }
    }

    public static Loaded Load(string path)
    {
        IReadOnlyList<KeyValuePair<string, Tensor>> entries = PyTorchStateDict.Load(path);
        try
        {
            Tensor meta = entries.FirstOrDefault(pair => pair.Key == MetaKey).Value
                ?? throw new InvalidDataException($"{path} is not a BN-Inception training checkpoint: it has no '{MetaKey}' entry.");
            Meta parsed = JsonSerializer.Deserialize<Meta>(meta.data<byte>().ToArray(), Json)
                ?? throw new InvalidDataException($"{path}: the checkpoint's description is empty.");
            if (parsed.FormatVersion != FormatVersion)
            {
                throw new InvalidDataException($"{path} is checkpoint format {parsed.FormatVersion}; this version reads format {FormatVersion}.");
            }

            if (entries.All(pair => pair.Key != RngKey))
            {
                throw new InvalidDataException($"{path} has no '{RngKey}' entry: it is incomplete.");
            }

            return new Loaded(entries, parsed.Model, parsed.Trainer, parsed.State);
        }
        catch (Exception error) when (error is JsonException or InvalidDataException)
        {
            foreach (KeyValuePair<string, Tensor> pair in entries)
            {
                pair.Value.Dispose();
            }

            throw error as InvalidDataException ?? new InvalidDataException($"{path}: the checkpoint's description is corrupt: {error.Message}", error);
        }
    }

    private static KeyValuePair<string, Tensor> Prefixed(string prefix, KeyValuePair<string, Tensor> pair) => new(prefix + pair.Key, pair.Value);
}
