namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Reported for every training step, in order, when the host reads its loss: right after it by
/// default on the CPU, in bursts of <see cref="TrainerOptions.StepsPerHostRead"/> steps on CUDA.
/// </summary>
/// <param name="Epoch">Epoch, counting from 1.</param>
/// <param name="Step">Steps done since training began, counting from 1.</param>
/// <param name="StepInEpoch">Step within the epoch, counting from 1.</param>
/// <param name="StepsPerEpoch">Steps in an epoch.</param>
/// <param name="Loss">This batch's mean loss.</param>
/// <param name="Accuracy">This batch's top-1 accuracy (on augmented images).</param>
/// <param name="LearningRate">The rate used for this step.</param>
/// <param name="ImagesPerSecond">Throughput over the run so far (this session), measured when the step's loss was read.</param>
/// <param name="Remaining">Estimated time from this step to the end of the last epoch, at that throughput.</param>
public sealed record TrainingProgress(int Epoch, long Step, int StepInEpoch, int StepsPerEpoch, double Loss, double Accuracy,
    double LearningRate, double ImagesPerSecond, TimeSpan Remaining);
