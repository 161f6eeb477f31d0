using Microsoft.ML;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception;

/// <summary>BN-Inception in ML.NET's trainer catalog: <c>mlContext.MulticlassClassification.Trainers.BnInception(…)</c>.</summary>
public static class BnInceptionTrainerCatalog
{
    /// <summary>
    /// BN-Inception with the common settings; the rest are the paper's BN-x30 recipe (see
    /// <see cref="BnInceptionMulticlassTrainer.Options"/> for all of them).
    /// </summary>
    /// <param name="catalog">ML.NET's multiclass trainers.</param>
    /// <param name="labelColumnName">The label: a key type (MapValueToKey). Default "Label".</param>
    /// <param name="featureColumnName">The pixels, as ExtractPixels writes them. Default "Features".</param>
    /// <param name="imageSize">
    /// The side of the square images, which is also the network's: a multiple of 32, at least 64.
    /// Default 224. For images larger than the network's input, set
    /// <see cref="BnInceptionMulticlassTrainer.Options.InputSize"/> through the options overload.
    /// </param>
    /// <param name="epochs">Passes over the training data. Default 10.</param>
    /// <param name="batchSize">Images per step, at least 2. Default 32.</param>
    /// <param name="learningRate">The base learning rate; null (default) takes the preset's.</param>
    /// <param name="preset">The paper's recipe: BN-x30 (default, rate 0.045) or BN-x5 (0.0075).</param>
    /// <param name="log">
    /// The MLContext whose <c>Log</c> receives progress: a line every 50 steps and every epoch, with
    /// the source "BnInception". ML.NET gives a catalog extension no way to reach the MLContext it
    /// belongs to, so it is passed here; without it, training is silent.
    /// </param>
    public static BnInceptionMulticlassTrainer BnInception(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", int imageSize = 224, int epochs = 10, int batchSize = 32,
        double? learningRate = null, BnInceptionPreset preset = BnInceptionPreset.BnX30, MLContext? log = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        TrainerOptions recipe = TrainerOptions.For((TrainingPreset)preset);
        return new BnInceptionMulticlassTrainer(new BnInceptionMulticlassTrainer.Options
        {
            LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName,
            ImageSize = imageSize,
            Training = recipe with { Epochs = epochs, BatchSize = batchSize, LearningRate = learningRate ?? recipe.LearningRate },
            MLContext = log,
        });
    }

    /// <summary>BN-Inception with every setting given by <paramref name="options"/>.</summary>
    public static BnInceptionMulticlassTrainer BnInception(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        BnInceptionMulticlassTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new BnInceptionMulticlassTrainer(options);
    }
}
