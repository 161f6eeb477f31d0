using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Tests;

/// <summary>The fitted transformer's columns, lazy batched scoring, and prediction engines.</summary>
[Trains]
public class TransformTests
{
    private static MLContext Ml => TrainedModel.Shared.Ml;

    private static BnInceptionPredictionTransformer Model => TrainedModel.Shared.Model;

    private sealed class Output
    {
        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }

    [Test]
    public void AddsScoreAndPredictedLabelAsMLNetsMulticlassTrainersDo()
    {
        IDataView input = PipelineData.KeyedView(Ml, PipelineData.FashionRows("t10k", 5));
        DataViewSchema schema = Model.Transform(input).Schema;
        DataViewSchema.Column score = schema["Score"], predicted = schema["PredictedLabel"];
        Assert.That(score.Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 10)));
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        score.GetSlotNames(ref slotNames);
        Assert.That(slotNames.DenseValues().Select(name => name.ToString()), Is.EqualTo(PipelineData.ClassNames));
        Assert.That(predicted.Type, Is.EqualTo(input.Schema["Label"].Type), "the label's key type");
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        predicted.GetKeyValues(ref keyValues);
        Assert.That(keyValues.DenseValues().Select(name => name.ToString()), Is.EqualTo(PipelineData.ClassNames));
        Assert.That(score.Annotations.Schema.Select(column => column.Name), Does.Contain("ScoreColumnKind").And.Contain("ScoreValueKind"));
    }

    [Test]
    public void TransformIsLazyAndBatchingDoesNotChangeScores()
    {
        var input = new RecordingDataView(PipelineData.KeyedView(Ml, PipelineData.FashionRows("t10k", 23)));
        IDataView scored = Model.Transform(input);
        Assert.That(input.Cursors, Is.Empty, "Transform reads nothing until a cursor is opened");

        float[][] batched = scored.GetColumn<float[]>("Score").ToArray();
        Assert.That(batched, Has.Length.EqualTo(23));
        var engine = Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(Model);
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 23);
        using var scorer = new BnInceptionScorer(Model.Model, new ScorerOptions { ChannelsLast = false, BatchSize = 1 });
        for (int i = 0; i < rows.Length; i++)
        {
            Output single = engine.Predict(rows[i]);
            Assert.That(single.Score, Is.EqualTo(batched[i]).Within(1e-5), $"row {i}: a prediction engine scores as the batched transform");
            Assert.That(single.PredictedLabel, Is.EqualTo((uint)Array.IndexOf(batched[i], batched[i].Max()) + 1));
        }

        // The engine's own scorer, contiguous layout, batches of one: an independent path to the same probabilities.
        using TorchSharp.torch.Tensor images = TorchSharp.torch.tensor(rows.SelectMany(r => r.Features).ToArray(), [23, 1, 64, 64]);
        using TorchSharp.torch.Tensor probabilities = scorer.Probabilities(images);
        float[] direct = probabilities.data<float>().ToArray();
        Assert.That(batched.SelectMany(s => s).ToArray(), Is.EqualTo(direct).Within(1e-4));
    }

    [Test]
    public void AScoreReadFromARowKeepsItsValuesAfterTheCursorMovesOn()
    {
        // More rows than a scoring batch: the cursor scores a second batch while the first one's scores are held.
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 70);
        Assert.That(Model.ScoringBatchSize, Is.LessThan(rows.Length), "the rows span two batches");
        IDataView scored = Model.Transform(PipelineData.KeyedView(Ml, rows));
        DataViewSchema.Column score = scored.Schema["Score"];
        var held = new VBuffer<float>[rows.Length];
        VBuffer<float> reused = default;
        bool filledInPlace = true;
        using (DataViewRowCursor cursor = scored.GetRowCursor([score]))
        {
            ValueGetter<VBuffer<float>> getScore = cursor.GetGetter<VBuffer<float>>(score);
            for (int i = 0; cursor.MoveNext(); i++)
            {
                getScore(ref held[i]);
                VBuffer<float> before = reused;
                getScore(ref reused);
                filledInPlace &= i == 0 || System.Runtime.CompilerServices.Unsafe.AreSame(
                    ref System.Runtime.InteropServices.MemoryMarshal.GetReference(before.GetValues()),
                    ref System.Runtime.InteropServices.MemoryMarshal.GetReference(reused.GetValues()));
            }
        }

        // The engine's own scorer, contiguous layout, batches of one: an independent path to the same probabilities.
        using var scorer = new BnInceptionScorer(Model.Model, new ScorerOptions { ChannelsLast = false, BatchSize = 1 });
        using TorchSharp.torch.Tensor images = TorchSharp.torch.tensor(rows.SelectMany(r => r.Features).ToArray(), [rows.Length, 1, 64, 64]);
        using TorchSharp.torch.Tensor probabilities = scorer.Probabilities(images);
        float[] direct = probabilities.data<float>().ToArray();
        int classes = PipelineData.ClassNames.Length;
        for (int i = 0; i < rows.Length; i++)
        {
            Assert.That(held[i].DenseValues().ToArray(), Is.EqualTo(direct[(i * classes)..((i + 1) * classes)]).Within(1e-4), $"row {i}, read before the cursor moved on");
        }

        Assert.That(reused.DenseValues().ToArray(), Is.EqualTo(direct[^classes..]).Within(1e-4), "a buffer filled row after row holds the last row's scores");
        Assert.That(filledInPlace, Is.True, "the getter fills the caller's buffer in place, as ML.NET's getters do, rather than giving it new arrays per row");
    }

    [Test]
    public void InputColumnsPassThroughUnchangedAndOnlyAskedColumnsAreComputed()
    {
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 9);
        IDataView scored = Model.Transform(PipelineData.KeyedView(Ml, rows));
        Assert.That(scored.GetColumn<float[]>("Features").ToArray(), Is.EqualTo(rows.Select(r => r.Features).ToArray()));
        Assert.That(scored.GetColumn<uint>("Label").ToArray(), Has.Length.EqualTo(9));
        using DataViewRowCursor cursor = scored.GetRowCursor([scored.Schema["Label"]]);
        Assert.That(cursor.IsColumnActive(scored.Schema["Score"]), Is.False);
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]));
    }

    [Test]
    public void ARowWithANaNOrInfinitePixelScoresNaNWithAMissingLabelAsMLNetsOwnTrainersDoAndTheOtherRowsAsBefore()
    {
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 4);
        float[][] before = Model.Transform(PipelineData.KeyedView(Ml, rows)).GetColumn<float[]>("Score").ToArray();
        rows[1].Features[100] = float.NaN;
        rows[3].Features[2000] = float.PositiveInfinity;
        IDataView scored = Model.Transform(PipelineData.KeyedView(Ml, rows));
        float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
        uint[] labels = scored.GetColumn<uint>("PredictedLabel").ToArray();
        Assert.That(scores[1], Is.All.NaN);
        Assert.That(labels[1], Is.Zero, "no class: the missing key");
        Assert.That(scores[3], Is.All.NaN, "an infinite pixel");
        Assert.That(labels[3], Is.Zero);
        Assert.That(Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(Model, new PredictionEngineOptions { OwnsTransformer = false })
            .Predict(rows[1]).PredictedLabel, Is.Zero, "a prediction engine too");
        foreach (int i in new[] { 0, 2 })
        {
            Assert.That(scores[i], Is.EqualTo(before[i]), $"row {i} of the same batch");
            Assert.That(labels[i], Is.EqualTo((uint)Array.IndexOf(scores[i], scores[i].Max()) + 1));
        }

        // The reference: one of ML.NET's own multiclass trainers, given a NaN feature to score.
        IDataView small = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ml.Data.LoadFromEnumerable(TwoFeatureRows())).Transform(Ml.Data.LoadFromEnumerable(TwoFeatureRows()));
        ITransformer theirs = Ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy().Fit(small);
        IDataView theirsScored = theirs.Transform(Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ml.Data.LoadFromEnumerable(TwoFeatureRows()))
            .Transform(Ml.Data.LoadFromEnumerable(new[] { new TwoFeatureRow { Features = [float.NaN, 1f], Label = "a" } })));
        Assert.That(theirsScored.GetColumn<float[]>("Score").Single(), Is.All.NaN);
        Assert.That(theirsScored.GetColumn<uint>("PredictedLabel").Single(), Is.Zero, "ML.NET's own: NaN scores, the missing key");
    }

    private sealed class TwoFeatureRow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    private static TwoFeatureRow[] TwoFeatureRows() =>
        [new() { Features = [0f, 1f], Label = "a" }, new() { Features = [1f, 0f], Label = "b" }, new() { Features = [1f, 1f], Label = "c" },
         new() { Features = [0f, 0.9f], Label = "a" }, new() { Features = [0.9f, 0f], Label = "b" }, new() { Features = [0.9f, 1f], Label = "c" }];

    [Test]
    public void AFeaturesColumnOfAnotherTypeIsRefusedWithItsName()
    {
        IDataView wrong = Ml.Data.LoadFromEnumerable(new[] { new { Features = new float[10] } });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Model.Transform(wrong));
        Assert.That(error!.Message, Does.Contain("Features is").And.Contain("1×64×64"));

        // The right number of values, interleaved (ExtractPixels' interleavePixelColors): refused as in training, not scored scrambled.
        IDataView interleaved = Ml.Data.LoadFromEnumerable(new[] { new InterleavedRow() });
        var layoutError = Assert.Throws<ArgumentOutOfRangeException>(() => Model.Transform(interleaved));
        Assert.That(layoutError!.Message, Does.Contain("Features is 64×64×1 (height × width × channels): pixels interleaved").And.Contain("interleavePixelColors")
            .And.Contain("trained on Vector<Single, 1, 64, 64>"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Model.CreatePredictionEngine<InterleavedRow, Output>(Model, new PredictionEngineOptions { OwnsTransformer = false }));
    }

    [Test]
    public void APredictionEngineDisposesItsModelUnlessMadeAsTheErrorSays()
    {
        IDataView train = PipelineData.KeyedView(Ml, PipelineData.FashionRows("train", 16));
        PipelineData.PixelRow row = PipelineData.FashionRows("t10k", 1)[0];
        BnInceptionPredictionTransformer owned = TrainedModel.Train(Ml, train);
        Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(owned).Dispose();
        var error = Assert.Throws<ObjectDisposedException>(() => owned.Transform(train))!;
        Assert.That(error.Message, Does.Contain("new PredictionEngineOptions { OwnsTransformer = false }"));

        using BnInceptionPredictionTransformer kept = TrainedModel.Train(Ml, train);
        Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(kept, new PredictionEngineOptions { OwnsTransformer = false }).Dispose();
        Assert.That(Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(kept).Predict(row).Score, Has.Length.EqualTo(10), "the model made as the error says is still there");
    }

    [Test]
    public void AFeaturesVectorOfAnotherLengthThanItsTypeIsRefusedNamingTheRow()
    {
        // LoadFromEnumerable does not check an array against its [VectorType]: a short row would have
        // been scored with the rest of an earlier row's pixels, left in the reused buffer.
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 12);
        rows[9] = new PipelineData.PixelRow { Features = rows[9].Features[..100], Label = rows[9].Label };
        IDataView input = Ml.Data.LoadFromEnumerable(rows);
        var batched = Assert.Throws<InvalidDataException>(() => Model.Transform(input).GetColumn<float[]>("Score").ToArray())!;
        Assert.That(batched.Message, Does.Contain("Row 9 ").And.Contain("has 100 values in Features, not the 4096 of its type"));

        var engine = Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(Model, new PredictionEngineOptions { OwnsTransformer = false });
        engine.Predict(rows[8]);
        var single = Assert.Throws<InvalidDataException>(() => engine.Predict(rows[9]))!;
        // A prediction engine's row is the one it was given: no number (its position counts its calls, 1 here).
        Assert.That(single.Message, Does.StartWith("The row has 100 values in Features, not the 4096 of its type"));
        Assert.That(engine.Predict(rows[8]).Score, Has.Length.EqualTo(10), "the engine scores the next row");

        // A pixel that is no number gives what ML.NET's own predictors give: NaN scores, a missing label.
        float[] notANumber = (float[])rows[8].Features.Clone();
        notANumber[3] = float.NaN;
        Output nan = engine.Predict(new PipelineData.PixelRow { Features = notANumber, Label = rows[8].Label });
        Assert.That(nan.Score, Has.All.NaN);
        Assert.That(nan.PredictedLabel, Is.Zero);

        PipelineData.PixelRow[] longer = PipelineData.FashionRows("train", 16);
        longer[5] = new PipelineData.PixelRow { Features = [.. longer[5].Features, 0.5f], Label = longer[5].Label };
        var training = Assert.Throws<InvalidDataException>(() => TrainedModel.Train(Ml, PipelineData.KeyedView(Ml, longer)).Dispose())!;
        Assert.That(training.Message, Does.Contain("Row 5 of the training data").And.Contain("has 4097 values in Features, not the 4096 of its type"));
    }

    [Test]
    public void DisposingAModelWhileThreadsScoreWithItFailsTheirCallsAsDisposedOnly()
    {
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("t10k", 3);
        DataViewSchema.Column features = Ml.Data.LoadFromEnumerable(rows).Schema[Model.FeatureColumnName];
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        for (int race = 0; race < 10; race++)
        {
            BnInceptionPredictionTransformer copy = CopyOfModel(features);
            var predicted = new CountdownEvent(3 * 3);
            Thread[] threads = [.. Enumerable.Range(0, 3).Select(t => new Thread(() =>
            {
                var engine = Ml.Model.CreatePredictionEngine<PipelineData.PixelRow, Output>(copy, new PredictionEngineOptions { OwnsTransformer = false });
                try
                {
                    for (int i = 0; ; i++)
                    {
                        engine.Predict(rows[t]);
                        if (i < 3)
                        {
                            predicted.Signal();
                        }
                    }
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }))];
            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            Assert.That(predicted.Wait(TimeSpan.FromMinutes(1)), Is.True);
            copy.Dispose();
            foreach (Thread thread in threads)
            {
                thread.Join();
            }
        }

        Assert.That(failures, Has.Count.EqualTo(30));
        Assert.That(failures.Where(e => e is not ObjectDisposedException).Select(e => e.ToString()), Is.Empty,
            "a call in progress finishes on the network it started with; the calls after the disposal say it was disposed");
    }

    [TestCase("ONNX")]
    [TestCase("weights")]
    [TestCase("ML.NET")]
    public void DisposingAModelWhileItIsSavedLetsThatSaveFinishWholeAndRefusesTheNext(string format)
    {
        DataViewSchema.Column features = Ml.Data.LoadFromEnumerable(PipelineData.FashionRows("t10k", 1)).Schema[Model.FeatureColumnName];
        using var folder = new TemporaryDirectory();
        string expected;
        using (BnInceptionPredictionTransformer reference = CopyOfModel(features))
        {
            expected = Saved(reference, folder.File("reference"), format);
        }

        for (int race = 0; race < 2; race++)
        {
            BnInceptionPredictionTransformer copy = CopyOfModel(features);
            var saved = new List<string>();
            Exception? failure = null;
            using var firstSaved = new ManualResetEventSlim();
            var thread = new Thread(() =>
            {
                try
                {
                    for (int i = 0; ; i++)
                    {
                        saved.Add(Saved(copy, folder.File($"race{race}-{i}"), format));
                        firstSaved.Set();
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
                finally
                {
                    firstSaved.Set();
                }
            });
            thread.Start();
            firstSaved.Wait();
            copy.Dispose();  // most often while the thread's next save is under way
            thread.Join();

            Assert.That(failure, Is.InstanceOf<ObjectDisposedException>(), failure?.ToString());
            Assert.That(saved, Is.Not.Empty);
            Assert.That(saved, Has.All.EqualTo(expected), "every save that returned wrote the whole model");
        }
    }

    // A hash of what the model saves in a format: the file's bytes, or, for the zip files, their
    // entries' names and contents (a zip's bytes hold the time it was written). ML.NET's files of
    // data (.idv: the label map's) are left out: two saves of one model compress one block apart.
    private static string Saved(BnInceptionPredictionTransformer model, string path, string format)
    {
        switch (format)
        {
            case "ONNX":
                model.ExportOnnx(path);
                return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
            case "weights":
                model.SaveWeights(path);
                return ZipContentsHash(File.OpenRead(path));
            default:
                var zip = new MemoryStream();
                Ml.Model.Save(model, null, zip);
                zip.Position = 0;
                return ZipContentsHash(zip);
        }
    }

    private static string ZipContentsHash(Stream zip)
    {
        using var archive = new System.IO.Compression.ZipArchive(zip);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (System.IO.Compression.ZipArchiveEntry entry in archive.Entries
            .Where(entry => !entry.FullName.EndsWith(".idv", StringComparison.Ordinal)).OrderBy(entry => entry.FullName, StringComparer.Ordinal))
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(entry.FullName));
            using var contents = new MemoryStream();
            using (Stream data = entry.Open())
            {
                data.CopyTo(contents);
            }

            hash.AppendData(contents.ToArray());
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    // Another transformer on the shared model's weights: one the test can dispose.
    private static BnInceptionPredictionTransformer CopyOfModel(DataViewSchema.Column features)
    {
        var network = new Engine.Network.BnInception(Model.Model.Options);
        using (TorchSharp.torch.NewDisposeScope())
        {
            network.load_state_dict(Model.Model.state_dict());
        }

        network.eval();
        return new BnInceptionPredictionTransformer(new Engine.Training.TrainingResult(network, Model.History, Model.BestEpoch, Engine.Training.StopReason.Completed),
            features, Model.Layout, Model.Label, new ScorerOptions());
    }

    private sealed class InterleavedRow
    {
        [VectorType(64, 64, 1)]
        public float[] Features { get; set; } = new float[64 * 64];
    }
}
