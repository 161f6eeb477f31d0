using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>The summary line of <c>bninception train</c> quotes the epoch whose weights were saved, and what its time covers.</summary>
public class TrainingReportTests
{
    private static readonly EpochMetrics[] Epochs =
    [
        new(1, 1.5, 0.40, 1.20, 0.55, 0.045),
        new(2, 1.1, 0.60, 0.90, 0.70, 0.043),
        new(3, 0.9, 0.70, 1.05, 0.66, 0.041),
    ];

    [Test]
    public void WithValidationTheSummaryQuotesTheBestEpochThatWasSavedNotTheLast()
    {
        string text = new TrainingReport("model.zip", "model.zip.ckpt", Epochs, 10, 800, TimeSpan.FromSeconds(90), false, KeptEpoch: 2).Describe();
        Assert.That(text, Does.Contain("the saved model is epoch 2 (best validation; the last was 3): train loss 1.1000, accuracy 60.00 %, validation loss 0.9000, accuracy 70.00 %"));
        Assert.That(text, Does.Not.Contain("66.00"), "the last epoch's figures are not the saved model's");
    }

    [Test]
    public void WhenTheLastEpochWasSavedTheSummarySaysSo()
    {
        string text = new TrainingReport("model.zip", "model.zip.ckpt", Epochs, 10, 800, TimeSpan.FromSeconds(90), false, KeptEpoch: 3).Describe();
        Assert.That(text, Does.Contain("the saved model is epoch 3 (the last): train loss 0.9000, accuracy 70.00 %, validation loss 1.0500, accuracy 66.00 %"));
    }

    [TestCase(null, "for 3 epochs in 1:30;")]
    [TestCase(3, "for 3 epochs in 1:30;")]
    [TestCase(1, "for 3 epochs (this run trained the last 1 of them, in 1:30);")]
    [TestCase(0, "for 3 epochs (this run trained none of them: the checkpoint's run had ended; 1:30);")]
    public void AResumedRunsTimeIsSaidToCoverOnlyTheEpochsItTrained(int? trainedHere, string expected)
    {
        string text = new TrainingReport("model.zip", "model.zip.ckpt", Epochs, 10, 800, TimeSpan.FromSeconds(90), false, KeptEpoch: 3)
        {
            EpochsInThisRun = trainedHere,
        }.Describe();
        Assert.That(text, Does.Contain(expected));
    }

    [Test]
    public void UnderMpirunAnInterruptedRankOtherThanZeroLeavesTheCheckpointToRankZero()
    {
        // Rank 0 writes the checkpoint, perhaps on another machine: rank 1 cannot tell whether one exists.
        string text = new TrainingReport("model.zip", "/nowhere/model.zip.ckpt", [], 10, 800, TimeSpan.FromSeconds(8), Interrupted: true) { Rank = 1 }.Describe();
        Assert.That(text, Is.EqualTo("rank 1: interrupted after 0:08; rank 0 says whether its checkpoint holds the run."));
    }
}
