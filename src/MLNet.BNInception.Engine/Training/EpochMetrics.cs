namespace MLNet.BNInception.Engine.Training;

/// <summary>Reported after every epoch and kept in the training history.</summary>
/// <param name="Epoch">Epoch, counting from 1.</param>
/// <param name="TrainLoss">Mean loss over the epoch's batches.</param>
/// <param name="TrainAccuracy">Top-1 accuracy over the epoch's (augmented) training images.</param>
/// <param name="ValidationLoss">Mean loss on the validation data, in eval mode; null without validation.</param>
/// <param name="ValidationAccuracy">Top-1 accuracy on the validation data; null without validation.</param>
/// <param name="LearningRate">The rate at the epoch's last step.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate);
