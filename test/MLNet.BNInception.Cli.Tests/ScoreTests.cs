using System.Globalization;
using System.Text;

namespace MLNet.BNInception.Cli.Tests;

/// <summary><c>bninception score</c> against ML.NET's own scoring of the same model file, and the job's handling of what real lists hold.</summary>
[Trains]
public class ScoreTests
{
    [Test]
    public void PredictionsAreThoseOfTheModelLoadedInMLNet()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = work.File("predictions.csv");
        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv,
            "--output", output, "--top-k", "3", "--batch", "48");

        MLNetReference.Prediction[] expected = MLNetReference.Predict(trained.ModelPath, trained.Files.TestCsv);
        string[] classes = MLNetReference.ClassNames(trained.ModelPath);
        Csv written = Csv.Read(output);
        Csv input = Csv.Read(trained.Files.TestCsv);
        Assert.That(written.Header, Is.EqualTo(new[] { "ImagePath", "Label", "PredictedLabel", "Probability", "PredictedLabel2", "Probability2", "PredictedLabel3", "Probability3", "Error" }));
        Assert.That(written.Rows, Has.Count.EqualTo(TrainedTool.TestImages));
        Assert.That(written.Column("ImagePath"), Is.EqualTo(input.Column("ImagePath")), "the input's columns, in order");
        Assert.That(written.Column("Label"), Is.EqualTo(input.Column("Label")));
        Assert.That(written.Column("Error"), Is.All.Empty);
        int differentLabels = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            // The top 3 by ML.NET's probabilities (ties to the lower class), and ML.NET's own pick.
            int[] top = Enumerable.Range(0, classes.Length).OrderByDescending(c => expected[i].Score[c]).ThenBy(c => c).Take(3).ToArray();
            for (int k = 0; k < 3; k++)
            {
                string suffix = k == 0 ? "" : (k + 1).ToString(CultureInfo.InvariantCulture);
                float probability = float.Parse(written.Column("Probability" + suffix)[i], CultureInfo.InvariantCulture);
                Assert.That(probability, Is.EqualTo(expected[i].Score[top[k]]).Within(1e-5), $"row {i + 1}, class {k + 1}");
                Assert.That(written.Column("PredictedLabel" + suffix)[i], Is.EqualTo(classes[top[k]]), $"row {i + 1}, class {k + 1}");
            }

            differentLabels += written.Column("PredictedLabel")[i] == expected[i].PredictedLabel ? 0 : 1;
        }

        // ML.NET picks its label by K-means over the probabilities; only an exact tie could differ.
        Assert.That(differentLabels, Is.EqualTo(0));
        Assert.That(run.Output, Does.Contain("done: 500 rows").And.Contain("no bad rows"));
        Assert.That(run.Error, Does.Contain("scoring: 500 of 500 rows"), "plain progress lines when standard error is not a terminal");
    }

    /// <summary>
    /// bfloat16 (this package's engine) against float32 (ONNX Runtime, which
    /// <see cref="PredictionsAreThoseOfTheModelLoadedInMLNet"/> ties to ML.NET): every class's
    /// probability, read from a top-k of all the classes, is a probability within bfloat16's error of
    /// float32's for the same image, and the top class is float32's on at least 99% of the images.
    /// </summary>
    [Test]
    public void Bfloat16GivesFloat32sProbabilitiesWithinItsErrorAndTheTopClassOfAtLeast99PercentOfImages()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string[] classes = MLNetReference.ClassNames(trained.ModelPath);
        string[] score = ["score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv, "--top-k", classes.Length.ToString(CultureInfo.InvariantCulture)];
        InstalledTool.Succeed(work.Path, [.. score, "--output", work.File("float32.csv")]);
        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, [.. score, "--output", work.File("bfloat16.csv"), "--precision", "bfloat16"]);

        float[][] single = ScoredProbabilities.ByClass(Csv.Read(work.File("float32.csv")), classes);
        float[][] half = ScoredProbabilities.ByClass(Csv.Read(work.File("bfloat16.csv")), classes);
        double largest = ScoredProbabilities.AssertDistributionsClose(half, single, ScoredProbabilities.BFloat16Tolerance, "bfloat16 against float32");
        static int Top(float[] probabilities) => Array.IndexOf(probabilities, probabilities.Max());
        int agree = single.Zip(half).Count(pair => Top(pair.First) == Top(pair.Second));
        TestContext.Out.WriteLine($"bfloat16 agrees with float32 on {agree} of {TrainedTool.TestImages} images; its probabilities differ by {largest:F4} at most");
        Assert.That(agree, Is.GreaterThanOrEqualTo(TrainedTool.TestImages * 99 / 100), $"{agree} of {TrainedTool.TestImages} agree");
        Assert.That(run.Output, Does.Contain("bfloat16"));
    }

    /// <summary>
    /// The network's threads: <c>--threads</c>, else BNINCEPTION_NUM_THREADS as the library reads it
    /// (docs/distributed.md divides a machine's cores among ranks with it), else one per core.
    /// </summary>
    [Test]
    public void TheNetworkTakesTheThreadsOfTheOptionElseOfTheVariable()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string few = work.File("few.csv");
        File.WriteAllLines(few, File.ReadLines(trained.Files.TestCsv).Take(9));
        string[] score = ["score", "--model", trained.ModelPath, "--input", few];
        var three = new Dictionary<string, string?> { ["BNINCEPTION_NUM_THREADS"] = "3" };
        ExternalProcess.Result fromVariable = InstalledTool.RunWithVariables(three, work.Path, [.. score, "--output", work.File("a.csv")]).AssertSucceeded();
        ExternalProcess.Result fromOption = InstalledTool.RunWithVariables(three, work.Path, [.. score, "--output", work.File("b.csv"), "--threads", "1"])
            .AssertSucceeded();
        ExternalProcess.Result byDefault = InstalledTool.RunWithVariables(new Dictionary<string, string?> { ["BNINCEPTION_NUM_THREADS"] = null },
            work.Path, [.. score, "--output", work.File("c.csv")]).AssertSucceeded();
        Assert.That(fromVariable.Output + fromVariable.Error, Does.Contain("float32, 3 threads,"));
        Assert.That(fromOption.Output + fromOption.Error, Does.Contain("float32, 1 thread,"));
        Assert.That(byDefault.Output + byDefault.Error, Does.Contain($"float32, {Environment.ProcessorCount} thread"));
    }

    /// <summary>
    /// The count the description names is the one ONNX Runtime computes on: its session's intra-op
    /// pool has one thread fewer than the count, the caller's thread being the other. A Linux thread
    /// starts with the name of the thread that started it, so the session is made on a thread named
    /// for the test alone, and the process's threads of that name are the maker and its pool.
    /// </summary>
    [TestCase(1)]
    [TestCase(3)]
    public void OnnxRuntimeComputesOnTheThreadsItIsGiven(int threads)
    {
        byte[] onnx = MLNet.BNInception.ModelFiles.BnInceptionModelFile.ReadOnnxModel(TrainedTool.Get().ModelPath);
        // ONNX Runtime's environment, made once per process, is made here rather than on the named thread.
        _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
        string name = $"ort-test-{threads}";
        int named = 0;
        var maker = new Thread(() =>
        {
            using var network = new Scoring.OnnxRuntimeNetwork(onnx, threads, "the Cli tests' model");
            named = ThreadsNamed(name);
        }) { Name = name };
        maker.Start();
        maker.Join();
        Assert.That(named, Is.EqualTo(threads), $"the maker and the {threads - 1} threads of its session's pool");
    }

    private static int ThreadsNamed(string name) =>
        Directory.GetDirectories("/proc/self/task").Count(task =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name;
            }
            catch (IOException)
            {
                // A thread that ended while the folder was listed.
                return false;
            }
        });

    [Test]
    public void AnyCsvDialectIsReadAndItsColumnsAreKeptAsTheyWere()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();

        // Paths with spaces, quotes and non-ASCII letters; fields with the separator, quotes and a
        // line break inside quotes; CRLF line ends; a semicolon separator; a byte order mark.
        string folder = Path.Combine(work.Path, "Bilder mit Leerzeichen");
        Directory.CreateDirectory(folder);
        string[] sources = ["t10k/0.png", "t10k/1.png", "t10k/2.png"];
        string[] names = ["Ärmel ünd Öse 1.png", "kleid \"rot\"; 2.png", "日本語 3.png"];
        for (int i = 0; i < sources.Length; i++)
        {
            File.Copy(Path.Combine(trained.Files.ImageFolder, sources[i]), Path.Combine(folder, names[i]));
        }

        string Quote(string field) => "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        string[] notes = ["plain", "with; separator", "two\r\nlines"];
        var text = new StringBuilder("\uFEFFid;\"Image Path\";note\r\n");
        for (int i = 0; i < names.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{i + 1};{Quote(Path.Combine(folder, names[i]))};{Quote(notes[i])}\r\n");
        }

        string input = work.File("list.csv");
        File.WriteAllText(input, text.ToString(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        string output = work.File("out.csv");
        InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", output,
            "--separator", ";", "--path-column", "Image Path");

        Csv written = Csv.Read(output, ';');
        Assert.That(written.Header, Is.EqualTo(new[] { "id", "Image Path", "note", "PredictedLabel", "Probability", "Error" }));
        Assert.That(written.Column("id"), Is.EqualTo(new[] { "1", "2", "3" }));
        Assert.That(written.Column("Image Path"), Is.EqualTo(names.Select(name => Path.Combine(folder, name)).ToArray()));
        Assert.That(written.Column("note"), Is.EqualTo(notes));
        Assert.That(written.Column("Error"), Is.All.Empty);
        string[] expected = MLNetReference.Predict(trained.ModelPath, trained.Files.TestCsv).Take(3).Select(p => p.PredictedLabel).ToArray();
        Assert.That(written.Column("PredictedLabel"), Is.EqualTo(expected), "the same images, under other names, get the same predictions");

        // Without a header, tab-separated (from the .tsv name), the path column by number.
        string tsv = work.File("list.tsv");
        File.WriteAllLines(tsv, sources.Select((source, i) => $"{i + 1}\t{source}"));
        string tsvOutput = work.File("out.tsv");
        InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", tsv, "--output", tsvOutput,
            "--no-header", "--path-column", "2");
        Csv tabbed = Csv.Read(tsvOutput, '\t', hasHeader: false);
        Assert.That(tabbed.Rows.Select(row => row[0]), Is.EqualTo(new[] { "1", "2", "3" }));
        Assert.That(tabbed.Rows.Select(row => row[2]), Is.EqualTo(expected));
        Assert.That(tabbed.Rows.Select(row => row.Length), Is.All.EqualTo(5));
    }

    [Test]
    public void BadRowsGetAnErrorAndAreCountedAndTheJobGoesOn()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string images = trained.Files.ImageFolder;
        byte[] png = File.ReadAllBytes(Path.Combine(images, "t10k/5.png"));
        File.WriteAllBytes(work.File("truncated.png"), png[..(png.Length / 2)]);
        File.WriteAllBytes(work.File("noise.png"), Enumerable.Range(0, 4000).Select(i => (byte)(i * 7919 % 251)).ToArray());
        File.WriteAllText(work.File("notes.png"), "not an image at all\n");
        File.WriteAllBytes(work.File("empty.png"), []);
        string[] lines =
        [
            "ImagePath,Label",
            $"{images}/t10k/0.png,a",
            $"{work.File("missing.png")},b",
            $"{work.File("truncated.png")},c",
            $"{work.File("noise.png")},d",
            ",e",
            $"{work.File("notes.png")},f",
            $"{work.File("empty.png")},g",
            $"{images}/t10k/1.png",
            $"{images}/t10k/2.png,h",
        ];
        string input = work.File("list.csv");
        File.WriteAllLines(input, lines);
        string output = work.File("out.csv");
        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", output, "--batch", "4");

        Csv written = Csv.Read(output);
        string[] errors = written.Column("Error");
        Assert.That(errors, Has.Length.EqualTo(9));
        Assert.Multiple(() =>
        {
            Assert.That(errors[0], Is.Empty);
            Assert.That(errors[1], Does.StartWith("FileNotFound:").And.Contain("missing.png"));
            Assert.That(errors[2], Does.StartWith("Truncated:"));
            Assert.That(errors[3], Does.StartWith("NotAnImage:"));
            Assert.That(errors[4], Does.StartWith("EmptyPath:"));
            Assert.That(errors[5], Does.StartWith("NotAnImage:"));
            Assert.That(errors[6], Does.StartWith("EmptyFile:"));
            Assert.That(errors[7], Does.StartWith("FieldCount:").And.Contain("1 field"));
            Assert.That(errors[8], Is.Empty);
        });
        string[] predicted = written.Column("PredictedLabel");
        Assert.That(Enumerable.Range(1, 7).Select(i => predicted[i]), Is.All.Empty);
        string[] expected = MLNetReference.Predict(trained.ModelPath, trained.Files.TestCsv).Take(3).Select(p => p.PredictedLabel).ToArray();
        Assert.That(new[] { predicted[0], predicted[8] }, Is.EqualTo(new[] { expected[0], expected[2] }));
        Assert.That(written.Column("ImagePath")[7], Is.EqualTo($"{images}/t10k/1.png"), "a short row keeps what it has");
        Assert.That(run.Output, Does.Contain("7 bad rows").And.Contain("NotAnImage 2").And.Contain("FileNotFound 1").And.Contain("FieldCount 1"));
    }

    [Test]
    public void FailFastStopsAtTheFirstBadRowNamingItsRowAndPath()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string images = trained.Files.ImageFolder;
        string input = work.File("list.csv");
        File.WriteAllLines(input, ["ImagePath", $"{images}/t10k/0.png", $"{images}/t10k/1.png", $"{images}/t10k/2.png", work.File("gone.png"), $"{images}/t10k/3.png"]);
        string output = work.File("out.csv");
        ExternalProcess.Result run = InstalledTool.Run(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", output,
            "--batch", "2", "--fail-fast");

        Assert.That(run.ExitCode, Is.EqualTo(5));
        string message = run.Error.Trim().Split('\n').Last();
        Assert.That(message, Does.StartWith($"bninception: '{input}', row 3 (counting from 0), line 5, path '" + work.File("gone.png") + "': FileNotFound"));
        Assert.That(File.ReadAllLines(output), Has.Length.EqualTo(3), "the header and the whole batch before the bad row's");

        // The advice works: the file is put back, and the same command with --resume finishes the job.
        Assert.That(message, Does.Contain("repair or replace the file and rerun the same command with --resume"));
        File.Copy($"{images}/t10k/4.png", work.File("gone.png"));
        InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", output, "--batch", "2", "--fail-fast", "--resume");
        Csv written = Csv.Read(output);
        Assert.That(written.Column("Error"), Is.All.Empty);
        Assert.That(written.Column("ImagePath"), Is.EqualTo(File.ReadAllLines(input).Skip(1)));
    }

    [Test]
    public void FailFastQuotesAPathWithALineBreakAndADirectionOverrideEscapedAndSendsATooLargeImageToTheLimit()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        // The file the path would name if its line break were a space, as the rest of a message's are: the message must not name it.
        // The path also holds a right-to-left override (U+202E), which would show the rest of the line reversed.
        File.Copy(Path.Combine(trained.Files.ImageFolder, "t10k", "0.png"), work.File("gone x.png"));
        string input = work.File("list.csv");
        File.WriteAllText(input, "ImagePath\n\"gone\nx\u202Egnp.png\"\n");
        ExternalProcess.Result run = InstalledTool.Run(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", work.File("out.csv"),
            "--image-folder", work.Path, "--fail-fast");
        Assert.That(run.ExitCode, Is.EqualTo(5), run.Error);
        string message = run.Error.Trim().Split('\n').Last();
        Assert.That(message, Does.StartWith($"bninception: '{input}', " + @"row 0 (counting from 0), line 2, path 'gone\x0Ax\u202Egnp.png': FileNotFound: ")
            .And.Contain(@"no file exists at '" + work.File(@"gone\x0Ax\u202Egnp.png'")));
        Assert.That(message, Does.Not.Contain("gone x"));
        Assert.That(message.Where(char.IsControl), Is.Empty, "one line");
        // Counted by hand: a culture's comparison, NUnit's Does.Contain included, ignores the override and finds it in any text.
        Assert.That(message.Count(c => c == '\u202E'), Is.Zero, "no direction override");

        // An image over --max-image-pixels is not to be repaired: the advice is the limit, and it works.
        string large = work.File("large.csv");
        File.WriteAllLines(large, ["ImagePath", "t10k/0.png", "t10k/1.png"]);
        string[] job = ["score", "--model", trained.ModelPath, "--input", large, "--output", work.File("large-out.csv"), "--image-folder", trained.Files.ImageFolder,
            "--batch", "1", "--fail-fast"];
        run = InstalledTool.Run(work.Path, [.. job, "--max-image-pixels", "100"]);
        Assert.That(run.ExitCode, Is.EqualTo(5), run.Error);
        Assert.That(run.Error, Does.Contain("TooManyPixels").And.Contain("raise --max-image-pixels (now 100) and rerun the same command with --resume"));
        Assert.That(run.Error, Does.Not.Contain("repair or replace"));
        InstalledTool.Succeed(work.Path, [.. job, "--resume"]);
        Assert.That(Csv.Read(work.File("large-out.csv")).Column("Error"), Is.EqualTo(new[] { "", "" }));
    }

    [TestCase(",a", "EmptyPath", TestName = "FailFastOnARowWithoutAPathAsksForTheInputToBeCorrected")]
    [TestCase("t10k/1.png", "FieldCount", TestName = "FailFastOnARowWithTooFewFieldsAsksForTheInputToBeCorrected")]
    public void FailFastOnAMalformedRowAsksForTheInputToBeCorrected(string malformed, string reason)
    {
        // The row is at fault, not a file: --resume would refuse the corrected input, so the advice
        // must not send the user there.
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = work.File("list.csv");
        File.WriteAllLines(input, ["ImagePath,Label", "t10k/0.png,a", malformed, "t10k/2.png,c"]);
        ExternalProcess.Result run = InstalledTool.Run(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", work.File("out.csv"),
            "--image-folder", trained.Files.ImageFolder, "--batch", "1", "--fail-fast");

        Assert.That(run.ExitCode, Is.EqualTo(5));
        string message = run.Error.Trim().Split('\n').Last();
        Assert.That(message, Does.StartWith($"bninception: '{input}', row 1 (counting from 0), line 3, path '").And.Contain($"': {reason}: "));
        Assert.That(message, Does.Contain("the row itself is malformed: correct it in the input and score again with --overwrite"));
        Assert.That(message, Does.Not.Contain("--resume (in place of --overwrite"));
        Assert.That(File.ReadAllLines(work.File("out.csv")), Has.Length.EqualTo(2), "the header and the row before the bad one");
    }

    [TestCase("--overwrite")]
    [TestCase("--resume")]
    public void AnOutputThatIsASymbolicLinkIsRefusedAndItsTargetLeftAlone(string reopening)
    {
        // A link planted at the output's path (in a shared folder, say) would have the job write into
        // whatever file it names; train and export replace such a link, score opens its output in place.
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string victim = work.File("victim.txt"), output = work.File("out.csv");
        File.WriteAllText(victim, "not the job's to write\n");
        File.CreateSymbolicLink(output, "victim.txt");   // relative to the link's folder, named in full in the message

        ExternalProcess.Result run = InstalledTool.Run(work.Path, "score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv, "--output", output,
            "--image-folder", trained.Files.ImageFolder, reopening);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error.Trim(), Is.EqualTo($"bninception: the output '{output}' is a symbolic link (to '{victim}'): give the path of a file, not of a link"));
        Assert.That(File.ReadAllText(victim), Is.EqualTo("not the job's to write\n"));
        Assert.That(new FileInfo(output).LinkTarget, Is.EqualTo("victim.txt"));
        Assert.That(Directory.EnumerateFileSystemEntries(work.Path).Count(), Is.EqualTo(2), "no job record either");
    }
}
