using MLNet.BNInception.Cli.Progress;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>The time left that the progress lines and the trainer's log print, with its days.</summary>
public class ProgressEstimateTests
{
    [TestCase(40, 13, 48, 17, "40 d 13:48:17")]
    [TestCase(3, 0, 33, 6, "3 d 00:33:06")]
    [TestCase(1, 0, 0, 0, "1 d 00:00:00")]
    [TestCase(0, 23, 59, 59, "23:59:59")]
    [TestCase(0, 1, 2, 3, "1:02:03")]
    [TestCase(0, 0, 2, 3, "2:03")]
    [TestCase(0, 0, 0, 0, "0:00")]
    public void DurationsKeepTheirDays(int days, int hours, int minutes, int seconds, string expected)
    {
        var duration = new TimeSpan(days, hours, minutes, seconds) + TimeSpan.FromMilliseconds(999);
        Assert.That(ProgressDisplay.FormatDuration(duration), Is.EqualTo(expected), "before, the days were dropped: 40 days 13:48:17 printed 13:48:17");
    }
}
