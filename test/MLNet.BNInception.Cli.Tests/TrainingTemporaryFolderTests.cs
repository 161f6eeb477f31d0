using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// What ML.NET writes while train saves its model goes into the tool's own folder for the model's
/// files, not loose into the temporary folder: mlContext.Model.Save makes a folder ml_dotnet_* under
/// its context's TempFilePath and fills it with the model's parts before zipping them, and a process
/// killed meanwhile left it (up to 40 MB) where nothing removed it. In the tool's folder, named after
/// its process, the next run that saves or loads a model removes it. The test watches the temporary
/// folder (TMPDIR, read by .NET on every call) while an in-process train runs, for what appears in it.
/// </summary>
[NonParallelizable]
public class TrainingTemporaryFolderTests
{
    // ONNX Runtime keeps a small file there, reused by every process: not something a save leaves.
    private const string OnnxRuntimeSessionFile = ".ses";

    [Test]
    public void TrainsSaveWritesOnlyIntoAFolderOfTheToolsOwnAndRemovesIt()
    {
        Assume.That(OperatingSystem.IsLinux(), "the folders' owners are read from Linux's /proc");
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files data = FashionMnistFiles.Write(work.File("data"), 8, 0, 1);
        string temporary = Directory.CreateDirectory(work.File("tmp")).FullName;
        string? variableBefore = Environment.GetEnvironmentVariable("TMPDIR");
        var appeared = new List<string>();
        try
        {
            Environment.SetEnvironmentVariable("TMPDIR", temporary);
            using var watcher = new FileSystemWatcher(temporary) { IncludeSubdirectories = false, EnableRaisingEvents = true };
            watcher.Created += (_, created) =>
            {
                lock (appeared)
                {
                    appeared.Add(created.Name!);
                }
            };
            InProcessTool.Run("train", "--train", data.TrainCsv, "--image-folder", data.ImageFolder, "--size", "64", "--channels", "gray",
                "--epochs", "1", "--batch", "4", "--no-augment", "--out", work.File("model.zip")).AssertSucceeded();
            Thread.Sleep(200);  // the watcher's last events
        }
        finally
        {
            Environment.SetEnvironmentVariable("TMPDIR", variableBefore);
        }

        lock (appeared)
        {
            Assert.That(appeared.Where(name => name != OnnxRuntimeSessionFile), Is.Not.Empty.And.All.StartWith("bninception-model-"),
                "made in the temporary folder: only the tool's own folders");
        }

        Assert.That(Directory.GetFileSystemEntries(temporary).Select(Path.GetFileName).Where(name => name != OnnxRuntimeSessionFile), Is.Empty, "nothing left");
    }
}
