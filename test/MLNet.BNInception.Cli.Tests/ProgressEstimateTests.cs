using MLNet.BNInception.Cli.Progress;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// The time left that the progress lines, the live bar and the trainer's log print: with its days, and
/// at the rate of this process's own work, so that a resumed run or a slow start does not skew it.
/// </summary>
public class ProgressEstimateTests
{
    private TimeSpan _now;

    private TimeSpan Clock() => _now;

    // NUnit runs a class's tests on one instance: each starts its clock at zero.
    [SetUp]
    public void StartTheClock() => _now = TimeSpan.Zero;

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

    [Test]
    public void AResumedScoreIsEstimatedFromTheRowsThisProcessWrote()
    {
        // A --resume at row 400,000 of 481,000, scoring 190 rows a second: 81,000 rows, about 7 minutes,
        // are left, where the work done before the resume over this process's 10 s said "about 0:01 left".
        var error = new StringWriter();
        var plain = new ProgressDisplay.PlainProgress(error, "scoring", Clock, TimeSpan.FromSeconds(10));
        plain.Report(400_000, 481_000, "resumed");
        _now = TimeSpan.FromSeconds(10);
        plain.Report(401_900, 481_000, "1,900 rows later");
        Assert.That(error.ToString().Trim(), Is.EqualTo("scoring: 1,900 rows later (83.6%), about 6:56 left"));
    }

    [Test]
    public void AResumedRunOfDaysIsEstimatedInDays()
    {
        // A run resumed at step 100,000 of 500,000 that does a step a second: 4 d 15:06:40 are left.
        var estimate = new RemainingTime(Clock);
        Assert.That(estimate.Update(100_000, 500_000), Is.Null, "no estimate from one report");
        _now = TimeSpan.FromSeconds(100);
        Assert.That(estimate.Update(100_100, 500_000), Is.EqualTo(TimeSpan.FromSeconds(399_900)));
        Assert.That(ProgressDisplay.FormatDuration(estimate.Remaining!.Value), Is.EqualTo("4 d 15:05:00"));
    }

    [Test]
    public void TheStartupIsNotTakenForTheRate()
    {
        // The shuffle pool takes 250 s to fill before step 1; then a step a second. At step 11 of 10,001,
        // 9,990 s are left, where the run's whole time said 236,127 s (2 d 17:35:27).
        var estimate = new RemainingTime(Clock);
        _now = TimeSpan.FromSeconds(250);
        estimate.Update(1, 10_001);
        for (int step = 2; step <= 11; step++)
        {
            _now = TimeSpan.FromSeconds(248 + step);
            estimate.Update(step, 10_001);
        }

        Assert.That(estimate.Remaining, Is.EqualTo(TimeSpan.FromSeconds(9_990)));
    }

    [Test]
    public void ReportsReadTogetherGiveNoEstimateOfNoTime()
    {
        // Steps read from the device four at a time arrive in the same instant: "0:00 left" would be wrong.
        var estimate = new RemainingTime(Clock);
        _now = TimeSpan.FromSeconds(5);
        for (int step = 1; step <= 4; step++)
        {
            Assert.That(estimate.Update(step, 1_000), Is.Null);
        }

        _now = TimeSpan.FromSeconds(9);
        for (int step = 5; step <= 8; step++)
        {
            estimate.Update(step, 1_000);
        }

        Assert.That(estimate.Remaining, Is.EqualTo(TimeSpan.FromSeconds(992)), "4 steps in 4 s, from the last of the first read");
    }

    [Test]
    public void NoProgressOverTimeGivesNoEstimate()
    {
        var estimate = new RemainingTime(Clock);
        estimate.Update(10, 100);
        _now = TimeSpan.FromSeconds(30);
        Assert.That(estimate.Update(10, 100), Is.Null);
        _now = TimeSpan.FromDays(1000);
        Assert.That(estimate.Update(10.0001, 100), Is.EqualTo(TimeSpan.FromDays(9999)), "capped, not an overflow");
        Assert.That(estimate.Update(100, 100), Is.EqualTo(TimeSpan.Zero));
    }
}
