using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// What keeps two <c>train</c> runs off one <c>--out</c> or <c>--checkpoint</c>: each would write over the other's
/// checkpoint every epoch and the last to end would leave its model, both reporting success (the check that a
/// checkpoint exists comes too late for a run started during the other's first epoch). Rank 0, which alone writes
/// them, holds a lock (<see cref="WriterLock"/>) on a file beside each, <c>PATH.lock</c>, for the whole run, and
/// deletes it at the end. A run ended outright leaves the file, unlocked: the next run takes it over.
/// </summary>
internal sealed class TrainingLock : IDisposable
{
    private readonly List<(FileStream Stream, string Path)> _held = [];

    private TrainingLock()
    {
    }

    /// <summary>The locks of --out and --checkpoint, on rank 0; null on another rank.</summary>
    /// <exception cref="CommandLineException">Another run holds one (<see cref="ExitCodes.BadArguments"/>), or a lock file cannot be written.</exception>
    public static TrainingLock? TakeOnRankZero(TrainingSettings settings)
    {
        if (Engine.Distributed.MpiWorld.Join().Rank != 0)
        {
            return null;
        }

        var taken = new TrainingLock();
        try
        {
            foreach (CommandFile output in settings.Outputs().Where(output => output.Role is null && output.Option is "--out" or "--checkpoint"))
            {
                taken.Take(output);
            }

            return taken;
        }
        catch
        {
            taken.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach ((FileStream stream, string path) in _held)
        {
            // Deleted while still locked, so that no other run takes a lock on the file on its way out.
            File.Delete(path);
            stream.Dispose();
        }

        _held.Clear();
    }

    private void Take(CommandFile output)
    {
        string path = output.Path + ".lock";
        FileStream stream;
        try
        {
            // FileShare.ReadWrite: .NET's own emulation of FileShare.None (a whole-file flock) is not the lock taken here.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw CommandLineException.UnreadableInput($"{output}: its lock file '{path}' cannot be written: {e.Message}", e);
        }

        if (!WriterLock.TryTake(stream.SafeFileHandle, path))
        {
            stream.Dispose();
            throw CommandLineException.BadArguments(
                $"{output} is being written by another training run (it holds '{path}'): two runs on one output would write over each other's " +
                $"checkpoint and model; wait for that run to end, or choose another {output.Option}");
        }

        _held.Add((stream, path));
    }
}
