using System.Text;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>The one atomic file write: whole or not at all, and nothing left behind.</summary>
public class AtomicFileTests
{
    [Test]
    public void ItWritesTheTargetThroughAUniqueTemporaryFileBesideIt()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("model.zip");
        var temporaries = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            AtomicFile.Write(target, stream =>
            {
                temporaries.Add(((FileStream)stream).Name);
                stream.Write([(byte)i, 1, 2]);
            }, flushToDisk: i == 0);
        }

        Assert.That(File.ReadAllBytes(target), Is.EqualTo(new byte[] { 1, 1, 2 }), "the second write replaced the first");
        Assert.That(temporaries.Select(Path.GetDirectoryName), Is.All.EqualTo(folder.Path), "in the target's folder, so the rename is within one file system");
        Assert.That(temporaries, Is.All.StartsWith(target + ".").And.All.EndsWith(".tmp"));
        Assert.That(temporaries.Distinct().Count(), Is.EqualTo(2), "a new name for every write");
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }), "no temporary file is left");
    }

    [Test]
    public void AFailingWriterLeavesTheOldFileAndNoTemporaryFile()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("data.csv");
        File.WriteAllText(target, "old\n");

        var error = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, stream =>
        {
            stream.Write("half of the new contents"u8);
            throw new InvalidOperationException("the writer failed");
        }, flushToDisk: true));

        Assert.That(error!.Message, Is.EqualTo("the writer failed"), "the writer's own exception");
        Assert.That(File.ReadAllText(target), Is.EqualTo("old\n"));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void ACancelledWriteLeavesNothing()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("figure.png");
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        Assert.Throws<OperationCanceledException>(() => AtomicFile.Write(target, stream => stream.Write([1]), flushToDisk: false, cancellation.Token));
        Assert.That(Directory.GetFiles(folder.Path), Is.Empty, "cancelled before anything was created");

        // Cancelled while the writer ran: the whole new file is written, and still never renamed.
        File.WriteAllBytes(target, [9]);
        using var during = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => AtomicFile.Write(target, stream =>
        {
            stream.Write([1, 2, 3]);
            during.Cancel();
        }, flushToDisk: true, during.Token));
        Assert.That(File.ReadAllBytes(target), Is.EqualTo(new byte[] { 9 }));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void AReaderSeesTheOldBytesOrTheNewNeverAMix()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("checkpoint.ckpt");

        // Large enough that writing takes many system calls, so an in-place write would be seen half done.
        byte[][] contents = [Enumerable.Repeat((byte)'a', 1 << 20).ToArray(), Enumerable.Repeat((byte)'b', 1 << 19).ToArray()];
        AtomicFile.WriteAllBytes(target, contents[0], flushToDisk: false);
        using var done = new CancellationTokenSource();
        Task writer = Task.Run(() =>
        {
            for (int i = 1; i <= 200; i++)
            {
                AtomicFile.Write(target, stream =>
                {
                    // In pieces, as a serializer writes.
                    byte[] whole = contents[i % 2];
                    for (int offset = 0; offset < whole.Length; offset += 4096)
                    {
                        stream.Write(whole, offset, 4096);
                        stream.Flush();
                    }
                }, flushToDisk: false);
            }

            done.Cancel();
        });

        int reads = 0;
        var seen = new HashSet<int>();
        while (!done.IsCancellationRequested || reads == 0)
        {
            byte[] read = File.ReadAllBytes(target);
            int which = Array.FindIndex(contents, whole => whole.AsSpan().SequenceEqual(read));
            Assert.That(which, Is.Not.EqualTo(-1), $"read {read.Length} bytes that are neither the old contents nor the new");
            seen.Add(which);
            reads++;
        }

        writer.GetAwaiter().GetResult();
        TestContext.Out.WriteLine($"{reads} reads during 200 replacements, saw {seen.Count} versions");
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void ConcurrentWritersEachWriteAWholeFileOfTheirOwn()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("job.json");
        string[] texts = [.. Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 100_000 + i))];
        Parallel.For(0, 64, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => AtomicFile.WriteAllText(target, texts[i % texts.Length], flushToDisk: false));
        Assert.That(texts, Does.Contain(File.ReadAllText(target)), "one writer's whole text");
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void TextAndLinesAreWrittenAsFileWritesThem()
    {
        using var folder = new TemporaryDirectory();
        string[] lines = ["ImagePath,Label", "t10k/0.png,\"T-shirt, top\"", "ünïcödé,×"];
        AtomicFile.WriteAllLines(folder.File("ours.csv"), lines, flushToDisk: false);
        File.WriteAllLines(folder.File("theirs.csv"), lines);
        Assert.That(File.ReadAllBytes(folder.File("ours.csv")), Is.EqualTo(File.ReadAllBytes(folder.File("theirs.csv"))));

        string text = string.Join("\n", lines);
        AtomicFile.WriteAllText(folder.File("ours.txt"), text, flushToDisk: true);
        File.WriteAllText(folder.File("theirs.txt"), text);
        Assert.That(File.ReadAllBytes(folder.File("ours.txt")), Is.EqualTo(File.ReadAllBytes(folder.File("theirs.txt"))), "UTF-8 without a byte-order mark");
    }

    [Test]
    public void AWriterThatClosesTheStreamIsStillSyncedAndRenamed()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("model.zip");
        AtomicFile.Write(target, stream =>
        {
            using var writer = new StreamWriter(stream, Encoding.ASCII);
            writer.Write("closed by the writer");
        }, flushToDisk: true);
        Assert.That(File.ReadAllText(target), Is.EqualTo("closed by the writer"));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }));
    }

    [Test]
    public void StagedFilesReplaceTheirTargetsOnlyWhenCommitted()
    {
        using var folder = new TemporaryDirectory();
        string png = folder.File("curves.png"), csv = folder.File("curves.csv");
        File.WriteAllText(png, "old png");
        File.WriteAllText(csv, "old csv");

        using (AtomicFile.StagedFile newPng = AtomicFile.Stage(png, stream => stream.Write("new png"u8), flushToDisk: false))
        {
            Assert.Throws<IOException>(() => AtomicFile.Stage(csv, _ => throw new IOException("disk full"), flushToDisk: false));
            Assert.That(File.ReadAllText(png), Is.EqualTo("old png"), "not renamed before Commit");
        }

        Assert.That(File.ReadAllText(png), Is.EqualTo("old png"), "an uncommitted staged file is deleted, never renamed");
        Assert.That(Directory.GetFiles(folder.Path), Is.EquivalentTo(new[] { png, csv }));

        using (AtomicFile.StagedFile newPng = AtomicFile.Stage(png, stream => stream.Write("new png"u8), flushToDisk: false))
        using (AtomicFile.StagedFile newCsv = AtomicFile.Stage(csv, stream => stream.Write("new csv"u8), flushToDisk: false))
        {
            newPng.Commit();
            newCsv.Commit();
            Assert.Throws<ObjectDisposedException>(newCsv.Commit, "a staged file is renamed once");
        }

        Assert.That((File.ReadAllText(png), File.ReadAllText(csv)), Is.EqualTo(("new png", "new csv")));
        Assert.That(Directory.GetFiles(folder.Path), Is.EquivalentTo(new[] { png, csv }));
    }
}
