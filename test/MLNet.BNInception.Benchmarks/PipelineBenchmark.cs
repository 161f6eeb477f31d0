using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Benchmarks;

/// <summary>
/// The ML.NET trainer fed from JPEG files: photograph-sized JPEGs (made from Fashion-MNIST images,
/// upscaled, tinted and noised so that they do not compress to nothing), loaded, resized and
/// extracted by ML.NET's image transforms, trained on by BN-Inception. Reports the training rate
/// and how long the network waited for the pipeline.
/// </summary>
internal static class PipelineBenchmark
{
    public sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    /// <param name="cachedList">
    /// The list (paths and labels) held in ML.NET's cache before the image steps, as <c>bninception train</c> holds
    /// it: a view read in any order, each epoch in a fresh order of all rows, where the text file read directly goes
    /// through ML.NET's shuffle pool.
    /// </param>
    /// <param name="holdOut">
    /// The training rows held out for validation (<c>ValidationFraction</c>): each training pass then leaves rows
    /// out, so it reads its row ids first (through ML.NET's shuffle pool, for the list read from its file) and
    /// fetches the images of the rows it keeps only.
    /// </param>
    public static object Run(int side, int batch, int images, int trainImages, int warmupSteps, string folder, bool cachedList = false, double holdOut = 0)
    {
        string allImages = WriteJpegs(folder, images, 500, 375);
        string csv = Path.Combine(folder, "train.csv");
        File.WriteAllLines(csv, File.ReadLines(allImages).Take(trainImages + 1));
        var ml = new MLContext(seed: 1);
        var waits = new List<string>();
        ml.Log += (_, e) =>
        {
            if (e.Message.Contains("the network waited", StringComparison.Ordinal))
            {
                waits.Add(e.Message);
            }
        };
        var rates = new List<double>();
        var clock = new Stopwatch();
        long lastStep = 0;
        IDataView data = ml.Data.LoadFromTextFile<ImageRow>(csv, separatorChar: ',', hasHeader: true);
        if (cachedList)
        {
            data = ml.Data.Cache(data);
        }

        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", Path.GetDirectoryName(csv)!, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", side, side))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = side,
                Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = batch, DropLastBatch = true, ValidationFraction = holdOut },
                MLContext = ml,
                OnStep = progress =>
                {
                    // The steps after the warm-up, timed from one to the next.
                    if (progress.Step > warmupSteps)
                    {
                        rates.Add(batch / clock.Elapsed.TotalSeconds);
                    }

                    lastStep = progress.Step;
                    clock.Restart();
                },
            }));
        clock.Start();
        var fitted = pipeline.Fit(data);
        using var network = (IDisposable)fitted.LastTransformer;
        rates.Sort();

        // Scoring the same files through the fitted pipeline (batched) and saving it, so that the
        // ML.NET-only application can time the loaded model on them too.
        var scoring = Stopwatch.StartNew();
        int scored = fitted.Transform(data).GetColumn<float[]>("Score").Count();
        double scoringRate = scored / scoring.Elapsed.TotalSeconds;
        string modelPath = Path.Combine(folder, "model.zip");
        ml.Model.Save(fitted, data.Schema, modelPath);
        return new
        {
            engine = "MLNet.BNInception ML.NET trainer, LoadImages + ResizeImages + ExtractPixels from 500x375 JPEG files",
            mode = "pipeline-train",
            list = cachedList ? "cached" : "file",
            hold_out = holdOut,
            image_side = side,
            batch,
            threads = TorchSharp.torch.get_num_threads(),
            images_per_second = Rates.Median(rates),
            runs = rates,
            steps = lastStep,
            waited = waits,
            transform_rows_per_second_with_decoding = scoringRate,
            saved_model = modelPath,
            image_list = allImages,
            peak_resident_bytes = Memory.PeakResidentBytes(),
        };
    }

    /// <summary>
    /// ML.NET's image steps alone, as the trainer's pipeline and the scoring job run them: load
    /// (decode), resize to side × side, extract scaled pixels; the files split among
    /// <paramref name="threads"/> cursors running side by side, one per thread.
    /// </summary>
    public static object Decode(int side, int images, int threads, string folder)
    {
        string csv = WriteJpegs(folder, images, 500, 375);
        ImageRow[] rows = File.ReadLines(csv).Skip(1).Select(line => new ImageRow { ImagePath = line.Split(',')[0] }).ToArray();
        var ml = new MLContext(seed: 1);
        var pipeline = ml.Transforms.LoadImages("Image", folder, "ImagePath")
            .Append(ml.Transforms.ResizeImages("Image", side, side))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255));
        ITransformer fitted = pipeline.Fit(ml.Data.LoadFromEnumerable(rows.Take(1)));
        var rates = new List<double>();
        for (int round = 0; round < 2; round++)
        {
            var clock = Stopwatch.StartNew();
            long read = 0;
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
            {
                IDataView view = fitted.Transform(ml.Data.LoadFromEnumerable(rows.Where((_, i) => i % threads == part)));
                long count = 0;
                using DataViewRowCursor cursor = view.GetRowCursor(view.Schema.Where(c => c.Name == "Features"));
                ValueGetter<VBuffer<float>> features = cursor.GetGetter<VBuffer<float>>(view.Schema["Features"]);
                VBuffer<float> pixels = default;
                while (cursor.MoveNext())
                {
                    features(ref pixels);
                    count++;
                }

                Interlocked.Add(ref read, count);
            });
            if (read != rows.Length)
            {
                throw new InvalidOperationException($"Read {read} of {rows.Length} images.");
            }

            // The first round warms the decoder and the file cache; the second is the figure.
            rates.Add(read / clock.Elapsed.TotalSeconds);
        }

        return new
        {
            engine = "ML.NET 6.0.0 LoadImages + ResizeImages + ExtractPixels, 500x375 JPEG files",
            mode = "decode",
            image_side = side,
            batch = 1,
            threads,
            images_per_second = rates[^1],
            runs = rates,
            peak_resident_bytes = Memory.PeakResidentBytes(),
        };
    }

    // 500×375 JPEGs, as photographs typically reach a pipeline; written once per folder.
    private static string WriteJpegs(string folder, int count, int width, int height)
    {
        string csv = Path.Combine(folder, "images.csv");
        if (File.Exists(csv) && File.ReadLines(csv).Count() == count + 1)
        {
            return csv;
        }

        Directory.CreateDirectory(folder);
        (byte[] pixels, long[] labels, _) = FashionMnist.Load(FashionMnist.DefaultFolder, "train", count);
        var random = new Random(7);
        var bgra = new byte[width * height * 4];
        var lines = new List<string> { "ImagePath,Label" };
        for (int i = 0; i < count; i++)
        {
            int tint = random.Next(3);
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    int value = pixels[(i * 784) + ((y * 28 / height) * 28) + (x * 28 / width)];
                    int p = ((y * width) + x) * 4;
                    for (int c = 0; c < 3; c++)
                    {
                        int v = value + random.Next(-24, 25) + (c == tint ? 40 : 0);
                        bgra[p + c] = (byte)Math.Clamp(v, 0, 255);
                    }

                    bgra[p + 3] = 255;
                }
            }

            string name = $"{i.ToString(CultureInfo.InvariantCulture)}.jpg";
            using (MLImage image = MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, bgra))
            {
                image.Save(Path.Combine(folder, name));
            }

            lines.Add($"{name},{FashionMnist.ClassNames[(int)labels[i]].Replace(',', ' ')}");
        }

        File.WriteAllLines(csv, lines);
        return csv;
    }
}
