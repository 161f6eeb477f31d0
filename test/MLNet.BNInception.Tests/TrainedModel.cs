using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>A BN-Inception trained briefly on Fashion-MNIST rows, shared by the tests of what a fitted model does.</summary>
internal static class TrainedModel
{
    private static readonly Lazy<Trained> SharedModel = new(TrainShared, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>
    /// One model, trained on first use and kept for the test run, for the fixtures that need a
    /// trained model but not a training of their own: the first 96 training images of Fashion-MNIST,
    /// labels mapped to keys in class order (<see cref="PipelineData.KeyedView"/>). Do not dispose it.
    /// </summary>
    public static Trained Shared => SharedModel.Value;

    /// <summary>The shared model, its context, and the label mapping it was trained behind.</summary>
    /// <param name="Ml">The context it was trained in.</param>
    /// <param name="Keys">MapValueToKey("Label") over the class names in class order, as fitted.</param>
    /// <param name="Model">The trained transformer.</param>
    public sealed record Trained(MLContext Ml, ITransformer Keys, BnInceptionPredictionTransformer Model)
    {
        /// <summary>Rows as a data view with their labels mapped by <see cref="Keys"/>.</summary>
        public IDataView Keyed(IEnumerable<PipelineData.PixelRow> rows) => Keys.Transform(Ml.Data.LoadFromEnumerable(rows));
    }

    private static Trained TrainShared()
    {
        var ml = new MLContext(seed: 1);
        IDataView rows = ml.Data.LoadFromEnumerable(PipelineData.FashionRows("train", 96));
        IDataView classNames = ml.Data.LoadFromEnumerable(PipelineData.ClassNames.Select(name => new { Label = name }));
        ITransformer keys = ml.Transforms.Conversion.MapValueToKey("Label", keyData: classNames).Fit(rows);
        return new Trained(ml, keys, Train(ml, keys.Transform(rows)));
    }

    /// <summary>Frees the shared model, if a test asked for it (at the end of the test run).</summary>
    public static void FreeShared()
    {
        if (SharedModel.IsValueCreated)
        {
            SharedModel.Value.Model.Dispose();
        }
    }

    /// <summary>Trains on <paramref name="data"/> for three epochs in batches of 8, enough steps for BN's running statistics to settle (seconds for a hundred rows at 64×64).</summary>
    public static BnInceptionPredictionTransformer Train(MLContext ml, IDataView data, int batchSize = 8) =>
        ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 3, BatchSize = batchSize, Seed = 3, Schedule = new CosineSchedule(), Augmentation = AugmentationOptions.None },
        }).Fit(data);
}
