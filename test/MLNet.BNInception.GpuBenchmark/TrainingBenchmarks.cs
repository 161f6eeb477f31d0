using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Trainers;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>
/// The three ways of training that the GPU benchmark times, each on random images and labels:
/// the engine's trainer through its public API, a plain TorchSharp loop over the same network (what
/// TorchSharp itself reaches), and the ML.NET trainer over an in-memory data view.
/// </summary>
internal static class TrainingBenchmarks
{
    /// <summary>
    /// <see cref="BnInceptionTrainer.Fit(ILabelledBatchSource, ILabelledBatchSource?, Action{TrainingProgress}?, Action{EpochMetrics}?, CancellationToken)"/>
    /// for one epoch of every step over <see cref="BenchmarkSettings.DistinctBatches"/> batches of
    /// images (<see cref="CyclingBatchSource"/>), in host memory or (with --data device) already on
    /// the device; timed from its step reports; stopped through its cancellation token once the last
    /// run ends.
    /// </summary>
    public static Dictionary<string, object?> Engine(BenchmarkSettings settings)
    {
        Device device = TorchRuntime.ResolveDevice(settings.Device);
        (Tensor images, Tensor labels) = Machine.RandomImages(settings, (long)settings.DistinctBatches * settings.Batch, device, settings.Data);
        using (images)
        using (labels)
        {
            var model = new BnInceptionOptions { InputSize = settings.Side, NumClasses = settings.Classes };
            // The trainer reads the loss back every StepsPerRun steps (Recipe), so that
            // every timed run ends at a read: the device has done its steps when onStep sees them.
            var trainer = new BnInceptionTrainer(model, Recipe(settings, epochs: 1));
            // One epoch of every step, as the ML.NET side below trains, cycling through the distinct batches.
            var source = new CyclingBatchSource(new InMemoryBatchSource(images, labels, model), settings.Batch, settings.TotalSteps);
            var clock = new RunClock(settings);
            using var stop = new CancellationTokenSource();
            try
            {
                using TrainingResult result = trainer.Fit(source, onStep: progress => Observe(progress, clock, stop), cancellationToken: stop.Token);
            }
            catch (OperationCanceledException) when (clock.Done)
            {
                // Stopped on purpose after the last run.
            }

            return Machine.Result(settings, device, clock.Rates(), new() { ["optimizer"] = Optimizer(trainer.Options, "the engine's FlatSgd") });
        }
    }

    /// <summary>
    /// A plain TorchSharp loop over the engine's <see cref="BnInception"/>: channels-last, data already
    /// on the device, cross-entropy, TorchSharp's own <c>optim.SGD</c> with the engine's settings and
    /// parameter groups (<see cref="Recipe"/>, as the PyTorch side), no augmentation, no read-back;
    /// the device is waited for only at the clock's readings.
    /// </summary>
    public static Dictionary<string, object?> Loop(BenchmarkSettings settings)
    {
        TrainerOptions recipe = Recipe(settings, epochs: 1);
        Device device = TorchRuntime.ResolveDevice(settings.Device);
        (Tensor images, Tensor labels) = Machine.RandomImages(settings, (long)settings.DistinctBatches * settings.Batch, device, "device");
        using (images)
        using (labels)
        using (var net = new BnInception(new BnInceptionOptions { InputSize = settings.Side, NumClasses = settings.Classes }))
        {
            net.UseChannelsLast().UseBFloat16Compute(settings.MixedPrecision).to(device);
            net.train();
            Tensor[] imageBatches = images.split(settings.Batch);
            Tensor[] labelBatches = labels.split(settings.Batch);
            // TorchSharp's own step, on purpose: this loop shows what TorchSharp itself reaches. It makes
            // Scalars implicitly, which a garbage collection can free mid-call (docs/engine.md, "Scalars
            // that stay alive"), so the engine never calls it; here a rare crash costs one measurement,
            // and run-on-device.sh goes on to the next.
            // The trainer's two groups (FlatSgd.ForTraining): decay on the convolution and classifier
            // weights only, unless DecayBatchNormAndBias.
            static bool Decayed(string name) => name.EndsWith("conv.weight", StringComparison.Ordinal) || name == "fc.weight";
            var decayed = net.named_parameters().Where(p => recipe.DecayBatchNormAndBias || Decayed(p.name)).Select(p => p.parameter).ToArray();
            var exempt = net.parameters().Except(decayed).ToArray();
            using TorchSharp.Modules.SGD optimizer = optim.SGD(
                [
                    new TorchSharp.Modules.SGD.ParamGroup(decayed, recipe.LearningRate, recipe.Momentum, weight_decay: recipe.WeightDecay, nesterov: recipe.Nesterov),
                    new TorchSharp.Modules.SGD.ParamGroup(exempt, recipe.LearningRate, recipe.Momentum, weight_decay: 0, nesterov: recipe.Nesterov),
                ],
                recipe.LearningRate, recipe.Momentum, nesterov: recipe.Nesterov);
            var clock = new RunClock(settings);
            for (long step = 1; step <= settings.TotalSteps; step++)
            {
                using (DisposeScope scope = NewDisposeScope())
                {
                    int batch = (int)((step - 1) % imageBatches.Length);
                    Tensor loss = F.cross_entropy(net.call(imageBatches[batch]), labelBatches[batch]);
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step()?.Dispose();
                }

                if (clock.Reads(step))
                {
                    Machine.Synchronize(device);
                    clock.StepDone(step);
                }
            }

            foreach (Tensor batch in imageBatches.Concat(labelBatches))
            {
                batch.Dispose();
            }

            return Machine.Result(settings, device, clock.Rates(), new() { ["optimizer"] = Optimizer(recipe, "TorchSharp optim.SGD, two parameter groups") });
        }
    }

    /// <summary>
    /// The ML.NET trainer (<c>mlContext.MulticlassClassification.Trainers.BnInception</c>) over
    /// <c>LoadFromEnumerable</c> rows of float[3 × side × side] pixels and key labels: one epoch of
    /// as many rows as the steps need, cycling through the distinct batches' images. Timed from its
    /// step reports, as the engine.
    /// </summary>
    public static Dictionary<string, object?> Mlnet(BenchmarkSettings settings)
    {
        Device device = TorchRuntime.ResolveDevice(settings.Device);
        int distinct = settings.DistinctBatches * settings.Batch;
        float[][] pixels;
        uint[] classes;
        (Tensor images, Tensor labels) = Machine.RandomImages(settings, distinct, device, "host");
        using (images)
        using (labels)
        {
            pixels = Enumerable.Range(0, distinct).Select(i =>
            {
                using Tensor image = images[i];
                return image.data<float>().ToArray();
            }).ToArray();
            classes = labels.data<long>().ToArray().Select(label => (uint)label).ToArray();
        }

        long rows = settings.TotalSteps * settings.Batch;
        IEnumerable<PixelRow> Rows()
        {
            for (long i = 0; i < rows; i++)
            {
                yield return new PixelRow { Features = pixels[i % distinct], Label = classes[i % distinct] };
            }
        }

        var ml = new MLContext(seed: 0);
        SchemaDefinition schema = SchemaDefinition.Create(typeof(PixelRow));
        schema[nameof(PixelRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 3, settings.Side, settings.Side);
        IDataView view = ml.Data.LoadFromEnumerable(Rows(), schema);
        IDataView everyClass = ml.Data.LoadFromEnumerable(Enumerable.Range(0, settings.Classes).Select(c => new ClassRow { Label = (uint)c }));
        IDataView keyed = ml.Transforms.Conversion.MapValueToKey("Label", keyData: everyClass).Fit(view).Transform(view);

        var clock = new RunClock(settings);
        using var stop = new CancellationTokenSource();
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = settings.Side,
            Training = Recipe(settings, epochs: 1),
            OnStep = progress => Observe(progress, clock, stop),
            CancellationToken = stop.Token,
        };
        try
        {
            using var fitted = ml.MulticlassClassification.Trainers.BnInception(options).Fit(keyed);
        }
        catch (OperationCanceledException) when (clock.Done)
        {
            // Stopped on purpose after the last run.
        }

        return Machine.Result(settings, device, clock.Rates(), new() { ["optimizer"] = Optimizer(options.Training, "the engine's FlatSgd"), ["rows"] = rows });
    }

    /// <summary>
    /// The engine's default recipe (BN-x30: SGD at 0.045 with momentum 0.9, weight decay 4e-5 on the
    /// convolution and classifier weights only) at a constant rate, with the benchmark's batch,
    /// precision, device and augmentation. A constant rate, so that every side steps alike: PyTorch's
    /// side cannot follow the engine's schedule step for step, and over one epoch the default
    /// schedule (a 4% decay every 8/6 epochs) would not change the rate anyway.
    /// </summary>
    private static TrainerOptions Recipe(BenchmarkSettings settings, int epochs) => new()
    {
        Epochs = epochs,
        Schedule = new ConstantSchedule(),
        BatchSize = settings.Batch,
        Precision = settings.MixedPrecision ? TrainingPrecision.BFloat16Mixed : TrainingPrecision.Float32,
        Device = settings.Device,
        Augmentation = settings.Augment ? new AugmentationOptions() : AugmentationOptions.None,
        StepsPerHostRead = settings.StepsPerRun,
    };

    /// <summary>
    /// The optimizer's settings as the JSON line gives them, under the names pytorch_gpu_bench.py
    /// uses, so that gpu_report.py can check that both sides trained alike.
    /// </summary>
    private static Dictionary<string, object?> Optimizer(TrainerOptions options, string implementation) => new()
    {
        ["learning_rate"] = options.LearningRate,
        ["momentum"] = options.Momentum,
        ["nesterov"] = options.Nesterov,
        ["weight_decay"] = options.WeightDecay,
        ["decay_batch_norm_and_bias"] = options.DecayBatchNormAndBias,
        ["schedule"] = options.Schedule is ConstantSchedule { WarmupEpochs: 0 } ? "constant" : options.Schedule.ToString(),
        ["implementation"] = implementation,
    };

    private static void Observe(TrainingProgress progress, RunClock clock, CancellationTokenSource stop)
    {
        clock.StepDone(progress.Step);
        if (clock.Done)
        {
            stop.Cancel();
        }
    }

    private sealed class PixelRow
    {
        public float[] Features { get; set; } = [];

        public uint Label { get; set; }
    }

    private sealed class ClassRow
    {
        public uint Label { get; set; }
    }
}
