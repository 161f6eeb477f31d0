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

    // The ranks of a data-parallel run (docs/distributed.md); null for one process, and then not
    // written, so a single process's checkpoint is as before.
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? WorldSize { get; set; }

    /// <summary>Whether the run of <paramref name="settings"/> saved in this state had stopped early: no epoch left to train.</summary>
    public bool StoppedEarly(TrainerOptions settings) =>
        settings.EarlyStopping is { } stopping && EpochsWithoutImprovement >= stopping.Patience;
}

/// <summary>
/// One checkpoint file in PyTorch's format, which <c>torch.load</c> reads as a dict of tensors: the
/// model's state dict under <c>model.</c>, SGD's momentum buffers under <c>optimizer.momentum.{i}</c>
/// (parameters in the optimizer's order), the best weights so far under <c>best.</c>, and the state
/// of the run's random generator (augmentation, dropout). The options and progress are UTF-8 JSON in a record of their own beside the
/// tensors, <c>archive/bninception-checkpoint.json</c>, readable with any zip tool; torch.load
/// ignores it. Each epoch's shuffle order follows from the seed, so it is not stored. Written
/// atomically (a temporary file, then a rename).
/// </summary>
/// <remarks>
/// Format 2 kept the JSON as a byte tensor, <c>trainer.meta</c>, among the others. Such a
/// checkpoint is refused with a message that says to start training again: before 1.0 a checkpoint
/// is a run's working file, resumed by the version that wrote it, and a second reader kept for an
/// older layout would outlive its use. Its weights can still start a new run (initial weights).
/// </remarks>
internal static class TrainingCheckpoint
{
    public const int FormatVersion = 3;
    public const string MomentumPrefix = "optimizer.momentum.";

    /// <summary>The record holding the options and progress, in the archive's folder.</summary>
    public const string DescriptionRecord = "bninception-checkpoint.json";

    /// <summary>Where format 2 kept the description, as a byte tensor.</summary>
    private const string Format2DescriptionKey = "trainer.meta";

    private const string RngKey = "trainer.rng_state";

    private static readonly JsonSerializerOptions Json = new()
    {
        IncludeFields = true,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // Data: absent from the checkpoints of runs whose caller described no data, and of earlier versions.
    private sealed record Meta(int FormatVersion, BnInceptionOptions Model, TrainerOptions Trainer, TrainingState State,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TrainingData? Data = null);

    public static void Save(string path, BnInceptionOptions model, TrainerOptions trainer, TrainingState state,
        IEnumerable<KeyValuePair<string, Tensor>> modelState, IReadOnlyList<Tensor?> momentumBuffers,
        IEnumerable<KeyValuePair<string, Tensor>>? bestWeights, Tensor generatorState)
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

        entries.Add(new(RngKey, generatorState));
        byte[] description = JsonSerializer.SerializeToUtf8Bytes(new Meta(FormatVersion, model, trainer, state, trainer.Data), Json);
        TorchArchive.WriteFile(entries, path, new Dictionary<string, byte[]> { [DescriptionRecord] = description });
    }

    /// <summary>
    /// Whether a state dict read from a file is a checkpoint's (this format's or format 2's), whose
    /// weights are under <c>model.</c> and <c>best.</c>, rather than a model's own.
    /// </summary>
    public static bool HoldsATrainingRun(IEnumerable<KeyValuePair<string, Tensor>> entries) => entries.Any(pair => pair.Key == RngKey);

    /// <summary>What <see cref="Identify"/> tells a file to be.</summary>
    public enum FileKind
    {
        /// <summary>No torch.save archive, or a damaged one.</summary>
        Other,

        /// <summary>A torch.save archive that is no checkpoint: a state dict, say.</summary>
        TorchSave,

        /// <summary>A checkpoint of this format.</summary>
        Checkpoint,

        /// <summary>A checkpoint of format 2, which this version does not resume.</summary>
        Format2Checkpoint,
    }

    // Format 2's data.pkl is about 100 bytes a tensor; a larger one is searched no further.
    private const long LargestPickleSearched = 64L << 20;

    /// <summary>
    /// What <paramref name="file"/>, from its position on, holds, read without its tensors, for a
    /// caller that tells a checkpoint or a state dict given in place of another file: a checkpoint of
    /// this format has the description record; one of format 2 names <c>trainer.meta</c> in its
    /// data.pkl, found by its bytes without unpickling it. A damaged archive is <see cref="FileKind.Other"/>.
    /// The stream must be seekable; its position is put back.
    /// </summary>
    public static FileKind Identify(Stream file, string source)
    {
        long start = file.Position;
        try
        {
            using TorchArchive.Reader archive = TorchArchive.Reader.Open(file, source);
            return archive.ReadExtraRecord(DescriptionRecord) is not null ? FileKind.Checkpoint
                : archive.PickleHoldsString(Format2DescriptionKey, LargestPickleSearched) ? FileKind.Format2Checkpoint
                : FileKind.TorchSave;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return FileKind.Other;
        }
        finally
        {
            file.Position = start;
        }
    }

    /// <summary>A loaded checkpoint; dispose it to free its tensors.</summary>
    public sealed class Loaded : IDisposable
    {
        private readonly IReadOnlyList<KeyValuePair<string, Tensor>> _entries;

        internal Loaded(string path, IReadOnlyList<KeyValuePair<string, Tensor>> entries, BnInceptionOptions model, TrainerOptions trainer, TrainingState state)
        {
            Path = path;
            _entries = entries;
            Model = model;
            Trainer = trainer;
            State = state;
        }

        /// <summary>The file it was loaded from, for messages.</summary>
        public string Path { get; }

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

    /// <exception cref="InvalidDataException">
    /// The file is not a complete checkpoint of this format: the message names it and says why, and
    /// for a checkpoint of an earlier version, that training must start again.
    /// </exception>
    public static Loaded Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        List<KeyValuePair<string, Tensor>> entries;
        byte[]? description;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        using (TorchArchive.Reader archive = TorchArchive.Reader.Open(file, path))
        {
            description = archive.ReadExtraRecord(DescriptionRecord);
            entries = archive.ReadStateDict();
        }

        try
        {
            if (description is null && entries.Any(pair => pair.Key == Format2DescriptionKey))
            {
                throw new InvalidDataException(
                    $"{path} is a checkpoint of an earlier version of MLNet.BNInception (format 2, which kept its description in the tensor " +
                    $"'{Format2DescriptionKey}'); this version resumes format {FormatVersion} only. Start the training again without resuming from it " +
                    "(delete it, or choose another checkpoint path); its weights can still start the new run (InitialWeightsPath, or --init-weights).");
            }

            Meta parsed = Parse(path, description);
            if (entries.All(pair => pair.Key != RngKey))
            {
                throw new InvalidDataException($"{path} has no '{RngKey}' entry: it is incomplete.");
            }

            return new Loaded(path, entries, parsed.Model, parsed.Trainer with { Data = parsed.Data }, parsed.State);
        }
        catch (InvalidDataException)
        {
            foreach (KeyValuePair<string, Tensor> pair in entries)
            {
                pair.Value.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// What the checkpoint in <paramref name="path"/> is a run of, read without its tensors: for a
    /// caller that checks a resume against its data before reading any of it.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint of this format; the message names it and says why.</exception>
    public static (BnInceptionOptions Model, TrainerOptions Trainer, TrainingState State) ReadDescription(string path)
    {
        byte[]? description;
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        using (TorchArchive.Reader archive = TorchArchive.Reader.Open(file, path))
        {
            description = archive.ReadExtraRecord(DescriptionRecord);
        }

        if (description is null)
        {
            // Not a checkpoint of this format: Load says which it is (an earlier format names its
            // tensor), at the cost of reading the tensors on this path only.
            Load(path).Dispose();
        }

        Meta parsed = Parse(path, description);
        return (parsed.Model, parsed.Trainer with { Data = parsed.Data }, parsed.State);
    }

    private static Meta Parse(string path, byte[]? description)
    {
        if (description is null)
        {
            throw new InvalidDataException(
                $"{path} is not a BN-Inception training checkpoint: it has no record '{StorageTypes.ArchiveName}/{DescriptionRecord}'.");
        }

        Meta parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<Meta>(description, Json) ?? throw new InvalidDataException($"{path}: the checkpoint's description is empty.");
        }
        catch (JsonException error)
        {
            throw new InvalidDataException($"{path}: the checkpoint's description is corrupt: {error.Message}", error);
        }

        if (parsed.FormatVersion != FormatVersion)
        {
            throw new InvalidDataException(
                $"{path} is checkpoint format {parsed.FormatVersion}; this version resumes format {FormatVersion} only. Start the training again without resuming from it.");
        }

        if (parsed.Model is null || parsed.Trainer is null || parsed.State is null)
        {
            throw new InvalidDataException($"{path}: the checkpoint's description lacks its model, trainer or state: it is corrupt.");
        }

        return parsed;
    }

    private static KeyValuePair<string, Tensor> Prefixed(string prefix, KeyValuePair<string, Tensor> pair) => new(prefix + pair.Key, pair.Value);
}
