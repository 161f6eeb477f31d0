using System.Diagnostics;
using System.Globalization;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Model.Save of the trainer's model stages its ONNX export (about 40 MB) in a temporary folder named
/// after this process, removes it whether the save succeeds or fails, and first removes the folders
/// that processes killed while saving or loading a model left. Each test gives the process a
/// temporary folder of its own (TMPDIR, which .NET's Path.GetTempPath reads on every call), so that
/// what a save leaves there is all that is there.
/// </summary>
[Trains]
[NonParallelizable]
public class ModelSaveTemporaryFolderTests
{
    // ONNX Runtime keeps a small file there, reused by every process: not something a save leaves.
    private const string OnnxRuntimeSessionFile = ".ses";

    private TemporaryDirectory _temporary = null!;
    private string? _variableBefore;

    [SetUp]
    public void UseAFolderOfItsOwn()
    {
        Assume.That(OperatingSystem.IsLinux(), "the folders' owners are read from Linux's /proc");
        _temporary = new TemporaryDirectory();
        _variableBefore = Environment.GetEnvironmentVariable("TMPDIR");
        Environment.SetEnvironmentVariable("TMPDIR", _temporary.Path);
        Assert.That(Path.GetTempPath().TrimEnd('/'), Is.EqualTo(_temporary.Path), "Path.GetTempPath reads TMPDIR again");
    }

    [TearDown]
    public void PutTheFolderBack()
    {
        Environment.SetEnvironmentVariable("TMPDIR", _variableBefore);
        _temporary?.Dispose();
    }

    [Test]
    public void TheNetworkIsStagedInAFolderOfThisProcessAndRemovedAfterTheSave()
    {
        var file = new WatchedStream(_temporary.Path, failAfterBytes: null);
        Save(file);

        Assert.That(file.SeenWhileWriting, Is.Not.Empty, "the staged network seen while the model was written");
        string pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        Assert.That(file.SeenWhileWriting, Has.All.Match($"^bninception-model-{pid}-[0-9]+-[0-9a-f]{{32}}-[0-9]+-[A-Za-z0-9]+/network\\.onnx$"),
            "in a folder that names this process, not loose in the temporary folder");
        Assert.That(Left(), Is.Empty, "removed after the save");
        Assert.That(file.Length, Is.GreaterThan(10_000_000), "the model, with its network, was written");
    }

    [Test]
    public void TheStagedNetworkIsRemovedWhenTheSaveFails()
    {
        var file = new WatchedStream(_temporary.Path, failAfterBytes: 1 << 20);
        Assert.That(() => Save(file), Throws.InstanceOf<IOException>().With.Message.EqualTo(WatchedStream.Failure));
        Assert.That(file.SeenWhileWriting, Is.Not.Empty, "the save failed while the network was staged");
        Assert.That(Left(), Is.Empty, "removed after the failed save");
    }

    [Test]
    public void ASaveRemovesTheFolderOfAProcessThatWasKilledAndLeavesARunningOnesAlone()
    {
        string boot = File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim().Replace("-", "", StringComparison.Ordinal);
        string pidNamespace = new FileInfo("/proc/self/ns/pid").LinkTarget!.Trim('p', 'i', 'd', ':', '[', ']');
        (int deadPid, ulong deadStart) = EndedProcess.Make();
        string dead = Path.Combine(_temporary.Path, $"bninception-model-{deadPid}-{deadStart}-{boot}-{pidNamespace}-Killed");
        string running = Path.Combine(_temporary.Path, $"bninception-model-{Environment.ProcessId}-{EndedProcess.StartTime(Environment.ProcessId)}-{boot}-{pidNamespace}-Running");
        foreach (string folder in new[] { dead, running })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "network.onnx"), "what a killed save leaves");
        }

        Save(new WatchedStream(_temporary.Path, failAfterBytes: null));

        Assert.That(Directory.Exists(dead), Is.False, "the killed process's folder is removed");
        Assert.That(Directory.Exists(running), Is.True, "a running process's folder is left alone");
    }

    private static void Save(Stream file)
    {
        TrainedModel.Trained trained = TrainedModel.Shared;
        IDataView rows = trained.Keyed(PipelineData.FashionRows("train", 1));
        trained.Ml.Model.Save(trained.Model, rows.Schema, file);
    }

    // Everything in the temporary folder but ONNX Runtime's file, relative to it.
    private string[] Left() => Directory.EnumerateFileSystemEntries(_temporary.Path, "*", SearchOption.AllDirectories)
        .Where(entry => Path.GetFileName(entry) != OnnxRuntimeSessionFile)
        .Select(entry => Path.GetRelativePath(_temporary.Path, entry)).ToArray();

    /// <summary>
    /// The model file being written, in memory: it notes the files in the temporary folder once
    /// the first megabyte has been written (the network's entry is being written then), and can fail
    /// from there on as a full disk would.
    /// </summary>
    private sealed class WatchedStream(string temporaryFolder, long? failAfterBytes) : MemoryStream
    {
        public const string Failure = "No space left on device (the test's)";

        public IReadOnlyList<string> SeenWhileWriting { get; private set; } = [];

        // MemoryStream's Write of a span calls Stream's, which calls this: both end here.
        public override void Write(ReadOnlySpan<byte> buffer) => Write(buffer.ToArray(), 0, buffer.Length);

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (Length >= 1 << 20 && SeenWhileWriting.Count == 0)
            {
                SeenWhileWriting = Directory.EnumerateFiles(temporaryFolder, "*.onnx", SearchOption.AllDirectories)
                    .Select(file => Path.GetRelativePath(temporaryFolder, file)).ToArray();
            }

            if (Length >= failAfterBytes)
            {
                throw new IOException(Failure);
            }

            base.Write(buffer, offset, count);
        }
    }
}
