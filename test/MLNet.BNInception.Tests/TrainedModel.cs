using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>A BN-Inception trained briefly on Fashion-MNIST rows, shared by the tests of what a fitted model does.</summary>
internal static class TrainedModel
{
    /// <summary>Trains on <paramref name="data"/> for three epochs in batches of 8, enough steps for BN's running statistics to settle (seconds for a hundred rows at 64×64).</summary>
    public static BnInceptionPredictionTransformer Train(MLContext ml, IDataView data, int batchSize = 8) =>
        ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 3, BatchSize = batchSize, Seed = 3, Schedule = new CosineSchedule(), Augmentation = AugmentationOptions.None },
        }).Fit(data);
}
