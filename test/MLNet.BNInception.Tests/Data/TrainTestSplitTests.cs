using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>TrainTestSplit: sizes, disjointness, repeatability, sampling keys and stratification.</summary>
[TestFixture]
public sealed class TrainTestSplitTests
{
    private const int RowCount = 10_000;

    private static IDataView Numbered(MLContext context, int count = RowCount, int groups = 500) =>
        context.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new Item { Id = i, Group = $"g{i % groups}" }).ToArray());

    private static int[] Ids(IDataView data) => [.. data.GetColumn<int>("Id")];

    [Test]
    public void SidesAreDisjointCoverEveryRowAndHaveTheRequestedShare()
    {
        var context = new MLContext();

        TrainTestData split = context.Data.TrainTestSplit(Numbered(context), testFraction: 0.2, seed: 1);
        int[] train = Ids(split.TrainSet), test = Ids(split.TestSet);

        Assert.Multiple(() =>
        {
            // Binomial(10000, 0.2) has a standard deviation of 40 rows; ±200 is five of them.
            Assert.That(test, Has.Length.InRange(1800, 2200));
            Assert.That(train.Intersect(test), Is.Empty);
            Assert.That(train.Concat(test).Order(), Is.EqualTo(Enumerable.Range(0, RowCount)));
            Assert.That(train, Is.Ordered, "each side keeps the source order");
            Assert.That(Ids(split.TestSet), Is.EqualTo(test), "reading a side again gives the same rows");
        });
    }

    [Test]
    public void SameSeedSameSplitDifferentSeedDifferentSplit()
    {
        var context = new MLContext();
        IDataView data = Numbered(context);

        int[] first = Ids(context.Data.TrainTestSplit(data, 0.2, seed: 5).TestSet);
        int[] again = Ids(context.Data.TrainTestSplit(data, 0.2, seed: 5).TestSet);
        int[] other = Ids(context.Data.TrainTestSplit(data, 0.2, seed: 6).TestSet);
        int[] fromSeededContext = Ids(new MLContext(seed: 9).Data.TrainTestSplit(data, 0.2).TestSet);
        int[] fromSameSeededContext = Ids(new MLContext(seed: 9).Data.TrainTestSplit(data, 0.2).TestSet);

        Assert.Multiple(() =>
        {
            Assert.That(again, Is.EqualTo(first));
            Assert.That(other, Is.Not.EqualTo(first));
            Assert.That(fromSameSeededContext, Is.EqualTo(fromSeededContext));
        });
    }

    [Test]
    public void SamplingKeyKeepsEqualKeysTogether()
    {
        var context = new MLContext();
        IDataView data = Numbered(context);

        TrainTestData split = context.Data.TrainTestSplit(data, 0.2, samplingKeyColumnName: "Group", seed: 3);
        string[] trainGroups = [.. split.TrainSet.GetColumn<ReadOnlyMemory<char>>("Group").Select(text => text.ToString()).Distinct()];
        string[] testGroups = [.. split.TestSet.GetColumn<ReadOnlyMemory<char>>("Group").Select(text => text.ToString()).Distinct()];

        Assert.Multiple(() =>
        {
            Assert.That(trainGroups.Intersect(testGroups), Is.Empty);
            Assert.That(trainGroups.Length + testGroups.Length, Is.EqualTo(500));
            // 500 groups, each in the test set with probability 0.2: 100 expected, standard deviation about 9.
            Assert.That(testGroups, Has.Length.InRange(60, 140));
            Assert.That(Ids(split.TestSet), Has.Length.EqualTo(testGroups.Length * 20), "every group has 20 rows and all of them move together");
        });
    }

    [TestCase(0.2, 2, 5, 1)] // 2, 5, 1.4 → 1
    [TestCase(0.5, 5, 13, 4)] // 5, 12.5 → 13, 3.5 → 4 (halves round away from zero)
    public void StratificationTakesTheRoundedShareOfEachClass(double fraction, int testA, int testB, int testC)
    {
        var context = new MLContext();
        // Classes of 10, 25 and 7 rows, interleaved.
        string[] classes = [.. Enumerable.Repeat("a", 10).Concat(Enumerable.Repeat("b", 25)).Concat(Enumerable.Repeat("c", 7))];
        Item[] rows = [.. classes.Select((label, i) => new Item { Id = i, Group = label }).OrderBy(row => (row.Id * 17) % classes.Length)];
        IDataView data = context.Data.LoadFromEnumerable(rows);

        TrainTestData split = context.Data.TrainTestSplit(data, fraction, seed: 11, stratificationColumnName: "Group");
        int CountOf(IDataView side, string label) => side.GetColumn<ReadOnlyMemory<char>>("Group").Count(text => text.Span.SequenceEqual(label));

        Assert.Multiple(() =>
        {
            Assert.That(new[] { CountOf(split.TestSet, "a"), CountOf(split.TestSet, "b"), CountOf(split.TestSet, "c") }, Is.EqualTo(new[] { testA, testB, testC }));
            Assert.That(new[] { CountOf(split.TrainSet, "a"), CountOf(split.TrainSet, "b"), CountOf(split.TrainSet, "c") },
                Is.EqualTo(new[] { 10 - testA, 25 - testB, 7 - testC }));
            Assert.That(Ids(split.TrainSet).Concat(Ids(split.TestSet)).Order(), Is.EqualTo(Enumerable.Range(0, classes.Length)));
        });
    }

    [Test]
    public void StratifiedSplitDependsOnTheSeed()
    {
        var context = new MLContext();
        IDataView data = Numbered(context, 1000, groups: 5);

        int[] first = Ids(context.Data.TrainTestSplit(data, 0.2, seed: 1, stratificationColumnName: "Group").TestSet);
        int[] again = Ids(context.Data.TrainTestSplit(data, 0.2, seed: 1, stratificationColumnName: "Group").TestSet);
        int[] other = Ids(context.Data.TrainTestSplit(data, 0.2, seed: 2, stratificationColumnName: "Group").TestSet);

        Assert.Multiple(() =>
        {
            Assert.That(again, Is.EqualTo(first));
            Assert.That(other, Is.Not.EqualTo(first));
        });
    }

    [TestCase(0.0)]
    [TestCase(1.0)]
    [TestCase(-0.1)]
    [TestCase(1.5)]
    [TestCase(double.NaN)]
    public void FractionOutsideTheOpenIntervalIsRejected(double fraction)
    {
        var context = new MLContext();
        IDataView data = Numbered(context, 10);

        Assert.That(() => context.Data.TrainTestSplit(data, fraction), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void BadArgumentsAreRejected()
    {
        var context = new MLContext();
        IDataView data = Numbered(context, 10);

        Assert.Multiple(() =>
        {
            Assert.That(() => context.Data.TrainTestSplit(null!), Throws.ArgumentNullException);
            Assert.That(() => context.Data.TrainTestSplit(data, samplingKeyColumnName: "Group", stratificationColumnName: "Group"),
                Throws.ArgumentException.With.Message.Contain("not both"));
            Assert.That(() => context.Data.TrainTestSplit(data, samplingKeyColumnName: "Nope"),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("'Nope'"));
            Assert.That(() => context.Data.TrainTestSplit(data, stratificationColumnName: "Nope"),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("'Nope'"));
        });
    }

    private sealed class Item
    {
        public int Id { get; set; }

        public string Group { get; set; } = "";
    }
}
