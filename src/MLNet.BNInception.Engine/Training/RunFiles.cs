using System.Globalization;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// What a <see cref="TrainingRun"/> reads and writes besides its data: its checkpoint (written,
/// restored, checked against the number of processes), the initial weights it starts from, and the
/// copy of the best weights kept for early stopping.
/// </summary>
internal static class RunFiles
{
    /// <summary>Puts a checkpoint's weights, momentum, best weights and generator state back; returns where the run stood.</summary>
    public static TrainingState Restore(TrainingCheckpoint.Loaded checkpoint, BnInception model, FlatSgd optimizer, Generator random, out Dictionary<string, Tensor>? best)
    {
        // Copied into the parameters, which stay views into the optimizer's buffers.
        PyTorchStateDict.LoadInto(model, checkpoint.Section("model."), source: "the checkpoint's model");
        optimizer.RefreshBFloat16Copies();
        var momentum = new List<KeyValuePair<int, Tensor>>();
        foreach ((string key, Tensor saved) in checkpoint.Section(TrainingCheckpoint.MomentumPrefix))
        {
            if (!int.TryParse(key, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                throw new InvalidDataException($"The checkpoint's momentum buffer '{key}' does not fit this network's optimizer.");
            }

            momentum.Add(new(index, saved));
        }

        try
        {
            // Copied into the views of each group's flat momentum, which keep their parameter's layout and device.
            optimizer.RestoreMomentum(momentum);
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"The checkpoint does not fit this network's optimizer: {error.Message}", error);
        }

        List<KeyValuePair<string, Tensor>> savedBest = checkpoint.Section("best.").ToList();
        best = savedBest.Count > 0 ? savedBest.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()) : null;
        // Checkpoints of earlier versions saved libtorch's global generator, which those runs drew
        // from as a run now draws from its own: the same state, read the same way.
        random.set_state(checkpoint.RngState);
        return checkpoint.State;
    }

    // A plain state dict, or a checkpoint's best weights (else its last ones).
    public static void LoadInitialWeights(BnInception model, string path)
    {
        using DisposeScope scope = NewDisposeScope();
        IReadOnlyList<KeyValuePair<string, Tensor>> entries = PyTorchStateDict.Load(path);
        if (TrainingCheckpoint.HoldsATrainingRun(entries))
        {
            string section = entries.Any(pair => pair.Key.StartsWith("best.", StringComparison.Ordinal)) ? "best." : "model.";
            entries = entries.Where(pair => pair.Key.StartsWith(section, StringComparison.Ordinal))
                .Select(pair => new KeyValuePair<string, Tensor>(pair.Key[section.Length..], pair.Value)).ToList();
            PyTorchStateDict.LoadInto(model, entries, source: $"the {(section == "best." ? "best" : "last")} weights of checkpoint {path}");
        }
        else
        {
            PyTorchStateDict.LoadInto(model, entries, source: path);
        }
    }

    /// <summary>Writes the run's checkpoint to <see cref="TrainerOptions.CheckpointPath"/>.</summary>
    public static void Save(BnInceptionOptions modelOptions, TrainerOptions options, TrainingState state, BnInception model, FlatSgd optimizer,
        Dictionary<string, Tensor>? best, Generator random)
    {

        Tensor?[] momentum = optimizer.MomentumBuffers();
        try
        {
            using Tensor randomState = random.get_state();
            TrainingCheckpoint.Save(options.CheckpointPath!, modelOptions, options, state, model.state_dict(), momentum, best, randomState);
        }
        finally
        {
            foreach (Tensor? view in momentum)
            {
                view?.Dispose();
            }
        }
    }

    /// <summary>A copy of <paramref name="source"/>, into the tensors of <paramref name="target"/> when it has them (the best weights so far).</summary>
    public static Dictionary<string, Tensor> CopyInto(Dictionary<string, Tensor>? target, Dictionary<string, Tensor> source)
    {
        target ??= [];
        using IDisposable noGrad = no_grad();
        // Frees what detach() returns; the clones leave it (docs/engine.md, "Tensors that stay alive").
        using DisposeScope scope = NewDisposeScope();
        foreach ((string key, Tensor value) in source)
        {
            if (target.TryGetValue(key, out Tensor? existing))
            {
                existing.copy_(value);
            }
            else
            {
                target[key] = value.detach().clone().DetachFromDisposeScope();
            }
        }

        return target;
    }

    // A run stopped inside an epoch resumes at its next batch, which the rows given must have. A
    // checkpoint that records no data (the engine's own, or an earlier version's) is checked against
    // nothing else, and one of a run on more rows would fail deep in the batch reader.
    public static void CheckPosition(TrainingCheckpoint.Loaded? checkpoint, int stepsPerEpoch)
    {
        if (checkpoint is null || checkpoint.State.NextBatch <= stepsPerEpoch)
        {
            return;
        }

        int done = checkpoint.State.NextBatch;
        string epochs = string.Create(CultureInfo.InvariantCulture,
            $"stopped after batch {done} of its epoch {checkpoint.State.Epoch + 1}, but the training rows given make epochs of {stepsPerEpoch} batch{(stepsPerEpoch == 1 ? "" : "es")} of {checkpoint.Trainer.BatchSize}");
        throw new CheckpointMismatchException($"{checkpoint.Path} {epochs}: it is a run on more rows than these. " +
            "Resume it on the data it was started with, or delete the checkpoint or choose another path to start afresh.");
    }

    // The checkpoint is written after every epoch: a path no file can be written at is refused before the first epoch.
    public static void CheckCheckpointPath(TrainerOptions options, bool writesIt)
    {
        if (writesIt && options.CheckpointPath is not null && OutputPath.Problem(options.CheckpointPath) is string problem)
        {
            throw new ArgumentException($"CheckpointPath: {problem}", nameof(TrainerOptions.CheckpointPath));
        }
    }

    // A checkpoint's global batch, shuffle split and learning rate hold for its number of ranks only.
    public static void CheckWorldSize(TrainingCheckpoint.Loaded? checkpoint, int worldSize)
    {
        int saved = checkpoint?.State.WorldSize ?? 1;
        if (checkpoint is null || saved == worldSize)
        {
            return;
        }

        string how = saved == 1 ? "without mpirun (or under mpirun -np 1)" : $"under mpirun -np {saved}";
        throw new CheckpointMismatchException(
            $"{checkpoint.Path} is a run of {saved} process{(saved == 1 ? "" : "es")} and this one has {worldSize}: its global batch " +
            $"({checkpoint.Trainer.BatchSize} per process x {saved} = {checkpoint.Trainer.BatchSize * saved}), the share of each epoch's order " +
            $"each process reads and the learning rate chosen for that batch hold for {saved} only, so it resumes exactly with {saved}. " +
            $"Resume it {how}, or start a new run from its weights (InitialWeightsPath, or --init-weights) with the number you have.");
    }
}
