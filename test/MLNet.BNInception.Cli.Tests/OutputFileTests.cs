using System.Text;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Scoring;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>The pieces of the scoring job whose every case can be enumerated: the output file cut anywhere, the top-k choice, the shards.</summary>
public class OutputFileTests
{
    private const string Header = "ImagePath,PredictedLabel,Probability,Error";

    [Test]
    public void AnOutputCutAtAnyByteResumesAfterItsLastWholeBatch([Values(null, Header)] string? header)
    {
        // Rows with quoted line breaks, quotes and non-ASCII text, as the job writes them; batches of 3.
        using var work = new TemporaryDirectory();
        string whole = work.File("whole.csv");
        string[] rows = Enumerable.Range(0, 11).Select(i => i % 4 == 1
            ? $"\"dir/ä {i}.png\",,,\"FileNotFound: no file at 'dir/ä {i}.png'\nsecond line \"\"quoted\"\"\""
            : $"img{i}.png,Class {i % 3},0.{i}25,").ToArray();
        using (PredictionsFile file = PredictionsFile.Create(whole, header, overwrite: false, writeJobRecord: () => { }))
        {
            foreach (string[] batch in rows.Chunk(3))
            {
                file.Append(Encoding.UTF8.GetBytes(string.Concat(batch.Select(row => row + "\n"))));
            }
        }

        byte[] content = File.ReadAllBytes(whole);
        int headerBytes = header is null ? 0 : Encoding.UTF8.GetByteCount(header + "\n");
        long[] rowEnds = rows.Select((_, i) => (long)headerBytes + Encoding.UTF8.GetByteCount(string.Concat(rows.Take(i + 1).Select(r => r + "\n")))).ToArray();
        string cut = work.File("cut.csv");
        for (int length = 0; length <= content.Length; length++)
        {
            File.WriteAllBytes(cut, content[..length]);
            long wholeRows = rowEnds.Count(end => end <= length);
            long expectedRows = wholeRows - (wholeRows % 3);
            long expectedBytes = expectedRows == 0 ? headerBytes : rowEnds[expectedRows - 1];
            using (PredictionsFile resumed = PredictionsFile.OpenForResume(cut, header, 4, ',', 3))
            {
                Assert.That(resumed.RowsDone, Is.EqualTo(expectedRows), $"cut at {length} of {content.Length}");
            }

            Assert.That(File.ReadAllBytes(cut), Is.EqualTo(content[..(int)expectedBytes]), $"cut at {length}: kept whole batches (and the header) only");
        }
    }

    [Test]
    public void ResumingAnotherJobsOutputIsRefusedAndLeavesItAlone()
    {
        using var work = new TemporaryDirectory();
        string other = work.File("other.csv");
        File.WriteAllText(other, "id,name,Probability\n1,bob,0.5\n");
        CommandLineException refused = Assert.Throws<CommandLineException>(() => PredictionsFile.OpenForResume(other, Header, 4, ',', 3))!;
        Assert.That(refused.ExitCode, Is.EqualTo(ExitCodes.BadArguments));
        Assert.That(refused.Message, Does.Contain("is not this job's"));
        Assert.That(File.ReadAllText(other), Is.EqualTo("id,name,Probability\n1,bob,0.5\n"));

        // A first line without its line break that is not the start of the header is not a header cut short.
        File.WriteAllText(other, "id,name");
        Assert.Throws<CommandLineException>(() => PredictionsFile.OpenForResume(other, Header, 4, ',', 3));
        Assert.That(File.ReadAllText(other), Is.EqualTo("id,name"));
    }

    [Test]
    public void AnOutputTakenOverAsUnstartedIsRefusedIfAnotherJobBeganItMeanwhile()
    {
        // The job finds an empty output without a record at its start, and takes it over once it has
        // loaded its model; by then another job may have begun it (rows, or its record first).
        using var work = new TemporaryDirectory();
        string output = work.File("out.csv");
        File.WriteAllText(output, Header + "\na.png,Coat,0.5,\n");
        CommandLineException rows = Assert.Throws<CommandLineException>(
            () => PredictionsFile.Create(output, Header, overwrite: false, writeJobRecord: () => Assert.Fail("no record"), onlyIfUnstarted: true))!;
        Assert.That(rows.Message, Does.Contain($"the output '{output}' was begun by another job while this one loaded"));
        Assert.That(File.ReadAllText(output), Is.EqualTo(Header + "\na.png,Coat,0.5,\n"), "left as it was");

        File.WriteAllBytes(output, []);
        File.WriteAllText(JobRecord.PathFor(output), "{}");
        Assert.Throws<CommandLineException>(
            () => PredictionsFile.Create(output, Header, overwrite: false, writeJobRecord: () => Assert.Fail("no record"), onlyIfUnstarted: true));

        File.Delete(JobRecord.PathFor(output));
        using (PredictionsFile taken = PredictionsFile.Create(output, Header, overwrite: false, writeJobRecord: () => { }, onlyIfUnstarted: true))
        {
            Assert.That(taken.RowsDone, Is.Zero);
        }

        Assert.That(File.ReadAllText(output), Is.EqualTo(Header + "\n"));
    }

    [Test]
    public void AnOutputAnotherJobIsWritingIsRefusedAndLeftAsItIsAndStaysReadable()
    {
        using var work = new TemporaryDirectory();
        string output = work.File("out.csv");
        byte[] written;
        using (PredictionsFile writing = PredictionsFile.Create(output, Header, overwrite: false, writeJobRecord: () => { }))
        {
            writing.Append("a.png,Coat,0.5,\nb.png,Bag,0.25,\n"u8);
            written = File.ReadAllBytes(output);
            Assert.That(written, Has.Length.GreaterThan(Header.Length), "readable, by .NET too, while a job writes it");

            bool recordWritten = false;
            CommandLineException overwriting = Assert.Throws<CommandLineException>(
                () => PredictionsFile.Create(output, Header, overwrite: true, writeJobRecord: () => recordWritten = true))!;
            Assert.That(overwriting.ExitCode, Is.EqualTo(ExitCodes.BadArguments));
            Assert.That(overwriting.Message, Does.Contain($"the output '{output}' is being written by another job"));
            Assert.That(recordWritten, Is.False, "the other job's record is left alone");
            CommandLineException resuming = Assert.Throws<CommandLineException>(() => PredictionsFile.OpenForResume(output, Header, 4, ',', 1))!;
            Assert.That(resuming.Message, Does.Contain("is being written by another job"));
            Assert.That(File.ReadAllBytes(output), Is.EqualTo(written), "neither emptied nor cut back");
        }

        // The lock goes with the job: the output resumes once it has ended.
        using (PredictionsFile resumed = PredictionsFile.OpenForResume(output, Header, 4, ',', 1))
        {
            Assert.That(resumed.RowsDone, Is.EqualTo(2));
        }
    }

    [Test]
    public void TheTopClassesAreTheMostProbableWithTiesToTheLowerClass()
    {
        var random = new Random(5);
        for (int trial = 0; trial < 500; trial++)
        {
            int classes = random.Next(1, 12), k = random.Next(1, classes + 1);

            // Few distinct values, so that ties are common.
            float[] p = Enumerable.Range(0, classes).Select(_ => random.Next(4) / 4f).ToArray();
            int[] expected = Enumerable.Range(0, classes).OrderByDescending(c => p[c]).ThenBy(c => c).Take(k).ToArray();
            var best = new int[k];
            TopClasses.Find(p, best);
            Assert.That(best, Is.EqualTo(expected), $"probabilities {string.Join(", ", p)}, k {k}");
        }
    }

    [Test]
    public void ShardsTakeEveryNthBlockStartingAtTheirOwn()
    {
        ShardSelection? second = ShardSelection.Parse("1/3", 4, out string? error);
        Assert.That(error, Is.Null);
        bool[] taken = Enumerable.Range(0, 30).Select(row => second!.Contains(row)).ToArray();
        Assert.That(Enumerable.Range(0, 30).Where(row => taken[row]), Is.EqualTo(new[] { 4, 5, 6, 7, 16, 17, 18, 19, 28, 29 }));
        Assert.That(ShardSelection.Parse("3/3", 4, out error), Is.Null);
        Assert.That(error, Does.Contain("K counts from 0"));
        Assert.That(ShardSelection.Parse("1/0", 4, out _), Is.Null);
        Assert.That(ShardSelection.Parse("-1/3", 4, out _), Is.Null);
        Assert.That(ShardSelection.Parse("1 / 3", 4, out _), Is.Null);
    }
}
