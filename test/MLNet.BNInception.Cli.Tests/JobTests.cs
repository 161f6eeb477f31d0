using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.Cli.Scoring;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>The scoring job as an unattended job: killed and resumed, split into shards, and over many rows.</summary>
[Trains]
public partial class JobTests
{
    [Test]
    public void AJobKilledWithSigkillResumesToTheBytesOfAnUninterruptedRun()
    {
        using var work = new TemporaryDirectory();
        (string[] job, string whole, string resumed) = UninterruptedRun(work);

        using (Process killed = InstalledTool.Start(work.Path, [.. job, "--output", resumed]))
        {
            Task<string> drained = Task.WhenAll(killed.StandardOutput.ReadToEndAsync(), killed.StandardError.ReadToEndAsync()).ContinueWith(_ => "", TaskScheduler.Default);
            WaitForRows(resumed, 400, killed);
            using (var probe = new FileStream(resumed, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
            {
                Assert.That(WriterLock.TryTake(probe.SafeFileHandle, resumed), Is.False, "the running job holds its output's lock");
            }

            killed.Kill(); // SIGKILL: no chance to finish anything, its lock goes with it
            killed.WaitForExit();
            drained.Wait();
        }

        long rowsAtKill = File.ReadLines(resumed).LongCount() - 1;
        Assert.That(rowsAtKill, Is.GreaterThan(0).And.LessThan(UninterruptedRows), "killed mid-way");
        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, [.. job, "--output", resumed, "--resume"]);

        Assert.That(run.Output, Does.Contain("done earlier"));
        Assert.That(File.ReadAllBytes(resumed), Is.EqualTo(File.ReadAllBytes(whole)));
    }

    [Test]
    public void AJobOnAnOutputAnotherJobIsWritingIsRefusedAndChangesNothing()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = work.File("predictions.csv"), record = JobRecord.PathFor(output);
        string[] job = ["score", "--model", trained.ModelPath, "--input", RepeatedList(work, trained, 16), "--output", output, "--batch", "8"];
        InstalledTool.Succeed(work.Path, job);
        byte[] rows = File.ReadAllBytes(output), itsRecord = File.ReadAllBytes(record);

        // This test holds the lock as a job still writing would: a second job may neither start again nor resume.
        using (var writing = new FileStream(output, FileMode.Open, FileAccess.Write, FileShare.Read))
        {
            Assert.That(WriterLock.TryTake(writing.SafeFileHandle, output), Is.True);
            foreach (string[] second in new[] { [.. job, "--overwrite"], [.. job, "--top-k", "2", "--overwrite"], (string[])[.. job, "--resume"] })
            {
                ExternalProcess.Result run = InstalledTool.Run(work.Path, second);
                Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
                Assert.That(run.Error, Does.Contain($"the output '{output}' is being written by another job"));
                Assert.That(File.ReadAllBytes(output), Is.EqualTo(rows), string.Join(" ", second[^2..]));
                Assert.That(File.ReadAllBytes(record), Is.EqualTo(itsRecord), "its job record is left alone too");
            }
        }

        Assert.That(InstalledTool.Succeed(work.Path, [.. job, "--resume"]).Output, Does.Contain("done earlier"), "free once the writer has closed it");
    }

    [Test]
    public void ResumingOverAnOutputOfZerosIsRefusedInPrintableTextAndLeavesItAlone()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = work.File("predictions.csv");
        string[] job = ["score", "--model", trained.ModelPath, "--input", RepeatedList(work, trained, 16), "--output", output, "--batch", "16"];
        InstalledTool.Succeed(work.Path, job);

        // What a power cut can leave: the file's length on disk, its blocks never written.
        byte[] zeros = new byte[new FileInfo(output).Length];
        File.WriteAllBytes(output, zeros);
        ExternalProcess.Result run = InstalledTool.Run(work.Path, [.. job, "--resume"]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        string message = run.Error.TrimEnd('\n');
        Assert.That(message, Does.Contain(@"is not this job's ('\x00\x00\x00"));
        Assert.That(message.Where(char.IsControl), Is.Empty, "printable: control characters escaped");
        Assert.That(message, Has.Length.LessThan(1000), "what the message quotes from the file is cut short");
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(zeros), "left as it was");
    }

    [Test]
    public void TheModelFolderOfAJobKilledWithSigkillIsRemovedByALaterRunAndNothingElse()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = work.File("predictions.csv");
        string[] info = ["info", "--model", trained.ModelPath];
        using Process killed = InstalledTool.Start(work.Path, "score", "--model", trained.ModelPath, "--input", RepeatedList(work, trained, 4000), "--output", output, "--batch", "16");
        Task drained = Task.WhenAll(killed.StandardOutput.ReadToEndAsync(), killed.StandardError.ReadToEndAsync());

        // Not to be touched: an older version's folder (no owner in its name), names of nearly the form, someone else's.
        string[] others = ["bninception-model-AbC123", "bninception-model-1-2-3-4-Xyz", "bninception-model-99999999-1-00000000000000000000000000000000-1-Xyz", "someone-elses"];
        foreach (string other in others)
        {
            Directory.CreateDirectory(Path.Combine(InstalledTool.TemporaryFolder, other));
        }

        WaitForRows(output, 16, killed);

        // Paused, so that it cannot finish (and remove its folder itself) while the checks run.
        ExternalProcess.Run("kill", ["-STOP", killed.Id.ToString(CultureInfo.InvariantCulture)]).AssertSucceeded();
        string folder = Directory.GetDirectories(InstalledTool.TemporaryFolder, "bninception-model-*").Single(path => !others.Contains(Path.GetFileName(path)));

        InstalledTool.RunWithTemporaryFolderAsItIs(work.Path, info).AssertSucceeded();
        Assert.That(Directory.Exists(folder), Is.True, "a running job's folder is left alone");

        Assert.That(killed.HasExited, Is.False, "the job is still there to be killed");
        killed.Kill(); // SIGKILL: the job cannot delete its folder
        killed.WaitForExit();
        drained.Wait();
        Assert.That(Directory.Exists(folder), Is.True, "left behind by the killed job");
        InstalledTool.RunWithTemporaryFolderAsItIs(work.Path, info).AssertSucceeded();

        Assert.That(Directory.Exists(folder), Is.False, "removed once its process is gone");
        Assert.That(others.Where(other => !Directory.Exists(Path.Combine(InstalledTool.TemporaryFolder, other))), Is.Empty, "everything else left alone");
    }

    [Test]
    public void CtrlCStopsAfterAWholeBatchAndResumeFinishesTheJob()
    {
        using var work = new TemporaryDirectory();
        (string[] job, string whole, string resumed) = UninterruptedRun(work);

        string stdout;
        int exitCode;
        using (Process interrupted = InstalledTool.Start(work.Path, [.. job, "--output", resumed]))
        {
            Task<string> output = interrupted.StandardOutput.ReadToEndAsync();
            Task<string> error = interrupted.StandardError.ReadToEndAsync();
            WaitForRows(resumed, 400, interrupted);
            ExternalProcess.Run("kill", ["-INT", interrupted.Id.ToString(CultureInfo.InvariantCulture)]).AssertSucceeded();
            Assert.That(interrupted.WaitForExit(TimeSpan.FromMinutes(1)), Is.True, "stops after SIGINT");
            exitCode = interrupted.ExitCode;
            stdout = output.Result;
            _ = error.Result;
        }

        long rows = File.ReadLines(resumed).LongCount() - 1;
        Assert.That(exitCode, Is.EqualTo(130));
        Assert.That(stdout, Does.Contain("interrupted").And.Contain("--resume"));
        Assert.That(rows % 16, Is.Zero, $"{rows} rows: whole batches only");
        Assert.That(File.ReadAllBytes(resumed), Is.EqualTo(File.ReadAllBytes(whole).Take((int)new FileInfo(resumed).Length)), "the beginning of the whole run's output");

        InstalledTool.Succeed(work.Path, [.. job, "--output", resumed, "--resume"]);
        Assert.That(File.ReadAllBytes(resumed), Is.EqualTo(File.ReadAllBytes(whole)));
    }

    [Test]
    public void ShardsTogetherHoldEveryRowOnceAndInterleaveIntoTheUnshardedOutput()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = RepeatedList(work, trained, 1000);
        string[] job = ["score", "--model", trained.ModelPath, "--input", input, "--batch", "16", "--shard-block", "64"];
        InstalledTool.Succeed(work.Path, [.. job, "--output", work.File("whole.csv")]);
        const int Shards = 3;
        List<string>[] shards = Enumerable.Range(0, Shards).Select(k =>
        {
            string output = work.File($"shard{k}.csv");
            InstalledTool.Succeed(work.Path, [.. job, "--output", output, "--shard", $"{k}/{Shards}"]);
            return File.ReadAllLines(output).ToList();
        }).ToArray();

        // Each shard has the header, then blocks K, K + N, …: interleaving the blocks restores the order.
        string[] whole = File.ReadAllLines(work.File("whole.csv"));
        Assert.That(shards.Select(lines => lines[0]), Is.All.EqualTo(whole[0]));
        Assert.That(shards.Sum(lines => lines.Count - 1), Is.EqualTo(1000));
        var merged = new List<string> { whole[0] };
        int[] next = Enumerable.Repeat(1, Shards).ToArray();
        for (int block = 0; merged.Count - 1 < 1000; block++)
        {
            int k = block % Shards;
            List<string> rows = shards[k];
            merged.AddRange(rows.Skip(next[k]).Take(64));
            next[k] += 64;
        }

        Assert.That(merged, Is.EqualTo(whole));
    }

    [Test]
    public void PeakMemoryDoesNotGrowWithTheRowCount()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        // Enough rows that anything kept per row shows over the second half: an image's pixels (16 KB
        // at 64×64) or a tensor per row would add 94 MiB over its 6,000 rows, half again the limit
        // below. Resident memory still climbs over the first few thousand rows (ONNX Runtime's and
        // the GC's pools: 512 MiB at 1,200-3,000 rows, 550 MiB later, in a run of 12,000), then
        // stays within about ±15 MiB (565 MiB at 4,000-10,000 rows, a peak of 551 MiB over the
        // second half of 40,000); so the early window is the 4,500 to 6,000 rows before the second
        // half. (16,000 rows took 77 s of the suite's 15 minutes, 12,000 took 52 s. With those, an
        // early window from a quarter of the rows began at 3,000, still climbing: 505 MiB against a
        // peak of 543 in one run.)
        const int Rows = 12_000;
        string input = RepeatedList(work, trained, Rows, distinctImages: 5);
        string output = work.File("out.csv");
        var samples = new List<(long OutputBytes, long ResidentBytes)>();
        using (Process job = InstalledTool.Start(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", output))
        {
            Task<string> stdout = job.StandardOutput.ReadToEndAsync();
            Task<string> stderr = job.StandardError.ReadToEndAsync();
            while (!job.WaitForExit(TimeSpan.FromMilliseconds(250)))
            {
                long? resident = ResidentBytes(job.Id);
                if (resident is not null && File.Exists(output))
                {
                    samples.Add((new FileInfo(output).Length, resident.Value));
                }
            }

            Assert.That(job.ExitCode, Is.Zero, stderr.Result + stdout.Result);
        }

        // Resident memory once the job is under way (between three eighths and half of the output)
        // against the peak over the second half: rows must not pile up anywhere.
        long finalBytes = new FileInfo(output).Length;
        long[] earlySamples = samples.Where(s => s.OutputBytes > finalBytes * 3 / 8 && s.OutputBytes < finalBytes / 2).Select(s => s.ResidentBytes).ToArray();
        long[] lateSamples = samples.Where(s => s.OutputBytes >= finalBytes / 2).Select(s => s.ResidentBytes).ToArray();
        Assert.That(earlySamples, Has.Length.GreaterThan(5), "samples between three eighths and half of the rows");
        Assert.That(lateSamples, Has.Length.GreaterThan(5), "samples over the second half");
        long early = earlySamples.Max(), late = lateSamples.Max();
        TestContext.Out.WriteLine($"resident memory: {early / 1048576.0:F0} MiB after 37.5-50% of the rows, peak {late / 1048576.0:F0} MiB over the second half ({samples.Count} samples)");
        Assert.That(File.ReadLines(output).LongCount(), Is.EqualTo(Rows + 1));
        Assert.That(late - early, Is.LessThan(64L << 20), "memory grew with the rows");
    }

    [Test]
    public void ResumeRefusesTheOutputOfAnotherJob()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = RepeatedList(work, trained, 100);
        string output = work.File("out.csv");
        string[] job = ["score", "--model", trained.ModelPath, "--input", input, "--output", output];
        InstalledTool.Succeed(work.Path, [.. job, "--batch", "16"]);
        byte[] before = File.ReadAllBytes(output);

        ExternalProcess.Result run = InstalledTool.Run(work.Path, [.. job, "--batch", "32", "--resume"]);

        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.Error, Does.Contain("was written by another job (--batch: 16 then, 32 now)"));
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(before));
    }

    [Test]
    public void ResumingWithAnotherImageFolderIsWarnedOfAndTheSameFolderIsNot()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = work.File("out.csv");
        string[] job = ["score", "--model", trained.ModelPath, "--input", RepeatedList(work, trained, 16), "--output", output, "--batch", "8"];
        InstalledTool.Succeed(work.Path, job); // relative paths read from the model's folder
        byte[] whole = File.ReadAllBytes(output);
        string elsewhere = Directory.CreateDirectory(work.File("mounted elsewhere")).FullName;
        File.CreateSymbolicLink(Path.Combine(elsewhere, "t10k"), Path.Combine(trained.Files.ImageFolder, "t10k"));

        // The output as a job stopped after its first batch leaves it: the resumes below score the second batch.
        void CutToTheFirstBatch() => File.WriteAllLines(output, File.ReadLines(output).Take(1 + 8).ToArray());

        CutToTheFirstBatch();
        ExternalProcess.Result moved = InstalledTool.Succeed(work.Path, [.. job, "--resume", "--image-folder", elsewhere]);
        Assert.That(moved.Error, Does.Contain(
            $"warning: --resume: the rows already written read relative image paths from '{trained.Files.ImageFolder}', this run reads them from '{elsewhere}'"));
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(whole), "the resume scored the second batch, as the uninterrupted run did");

        ExternalProcess.Result finished = InstalledTool.Succeed(work.Path, [.. job, "--resume", "--image-folder", elsewhere]);
        Assert.That(finished.Error, Does.Not.Contain("warning"), "a finished output reads no image");

        CutToTheFirstBatch();
        ExternalProcess.Result same = InstalledTool.Succeed(work.Path, [.. job, "--resume", "--image-folder", trained.Files.ImageFolder + "/"]);
        Assert.That(same.Error, Does.Not.Contain("warning"), "the model's folder, spelt with a final slash");
    }

    [Test]
    public void AJobStoppedByFailFastResumesOnceTheRowIsFixed()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = work.File("list.csv");
        string fixable = work.File("late.png");
        File.WriteAllLines(input, ["ImagePath", .. Enumerable.Range(0, 40).Select(i => i == 21 ? fixable : $"t10k/{i}.png")]);
        string[] job = ["score", "--model", trained.ModelPath, "--input", input, "--batch", "8", "--fail-fast"];

        ExternalProcess.Result stopped = InstalledTool.Run(work.Path, [.. job, "--output", work.File("out.csv")]);
        Assert.That(stopped.ExitCode, Is.EqualTo(5));
        Assert.That(File.ReadAllLines(work.File("out.csv")), Has.Length.EqualTo(1 + 16), "the two whole batches before the bad row's");

        File.Copy(Path.Combine(trained.Files.ImageFolder, "t10k/21.png"), fixable);
        InstalledTool.Succeed(work.Path, [.. job, "--output", work.File("out.csv"), "--resume"]);
        InstalledTool.Succeed(work.Path, [.. job, "--output", work.File("whole.csv")]);
        Assert.That(File.ReadAllBytes(work.File("out.csv")), Is.EqualTo(File.ReadAllBytes(work.File("whole.csv"))));
    }

    [Test]
    public void AListThatCanBeReadOnlyOnceIsRefused()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = RepeatedList(work, trained, 100);
        ExternalProcess.Result run = ExternalProcess.Run("bash",
            ["-c", $"'{InstalledTool.Command}' score --model '{trained.ModelPath}' --input <(cat '{input}') --output '{work.File("out.csv")}'"],
            work.Path, timeout: TimeSpan.FromMinutes(2));
        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Does.Contain("is a named pipe (FIFO), not a file"));
        Assert.That(File.Exists(work.File("out.csv")), Is.False);

        // A named pipe nobody writes to: opening it would wait for ever, so it is not opened.
        ExternalProcess.Run("mkfifo", [work.File("list.fifo")], work.Path).AssertSucceeded();
        ExternalProcess.Result fifo = ExternalProcess.Run(InstalledTool.Command,
            ["score", "--model", trained.ModelPath, "--input", work.File("list.fifo"), "--output", work.File("out.csv")], work.Path, timeout: TimeSpan.FromMinutes(2));
        Assert.That(fifo.ExitCode, Is.EqualTo(3), fifo.Error);
        Assert.That(fifo.Error.Trim(), Does.Contain("list.fifo' is a named pipe (FIFO), not a file"));
    }

    // A job of 2,000 rows in batches of 16, run to the end: the output an interrupted run must equal.
    // The interrupted runs are stopped once 400 rows are out: these leave a few seconds of work after that.
    private const int UninterruptedRows = 2000;

    /// <summary>
    /// A job and the output it writes uninterrupted, which the SIGKILL and the Ctrl-C test each
    /// resume to: the same job, so it runs once (it took about 10 s of each), in a folder beside the
    /// shared model that lives as long as the model does.
    /// </summary>
    private static readonly Lazy<(string[] Job, string Whole)> Uninterrupted = new(() =>
    {
        TrainedTool.Context trained = TrainedTool.Get();
        string folder = Path.Combine(trained.Folder, "uninterrupted-job");
        Directory.CreateDirectory(folder);
        string list = Path.Combine(folder, "list.csv");
        File.WriteAllLines(list, ["Row,ImagePath", .. Enumerable.Range(0, UninterruptedRows).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i + 1},t10k/{i % 200}.png"))]);
        string[] job = ["score", "--model", trained.ModelPath, "--input", list, "--batch", "16"];
        string whole = Path.Combine(folder, "whole.csv");
        InstalledTool.Succeed(folder, [.. job, "--output", whole]);
        return (job, whole);
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The shared uninterrupted job, and where a test writes its own interrupted run of it.</summary>
    private static (string[] Job, string Whole, string Resumed) UninterruptedRun(TemporaryDirectory work) =>
        (Uninterrupted.Value.Job, Uninterrupted.Value.Whole, work.File("resumed.csv"));

    private static long? ResidentBytes(int pid)
    {
        try
        {
            string? line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return null; // the process ended between the check and the read
        }
    }

    // A list of rows cycling over the first test images, with a row number column.
    private static string RepeatedList(TemporaryDirectory work, TrainedTool.Context trained, int rows, int distinctImages = 200)
    {
        string path = work.File($"list{rows}.csv");
        using var writer = new StreamWriter(path);
        writer.Write("Row,ImagePath\n");
        for (int i = 0; i < rows; i++)
        {
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"{i + 1},t10k/{i % distinctImages}.png\n"));
        }

        return path;
    }

    // Waits however long the machine takes (a job that hangs is ended by the run's own time limit):
    // how fast the job writes is the benchmark's business, not a test's.
    private static void WaitForRows(string output, int rows, Process job)
    {
        while (!File.Exists(output) || File.ReadLines(output).Count() <= rows)
        {
            Assert.That(job.HasExited, Is.False, "the job ended before it could be interrupted");
            Thread.Sleep(20);
        }
    }
}
