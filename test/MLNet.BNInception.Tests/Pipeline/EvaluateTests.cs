using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>MulticlassClassification.Evaluate as an adapter from a scored view to the metrics.</summary>
[TestFixture]
public sealed class EvaluateTests
{
    private const double Tolerance = 1e-12;

    //  row  label  scores              predicted
    //   0   1      0.5   0.3   0.2     1   right
    //   1   2      0.1   0.6   0.3     2   right
    //   2   3      0.2   0.4   0.4     2   wrong
    //   3   3      0.25  0.25  0.5     3   right
    private static Scored[] Example() =>
    [
        new() { Label = 1, Score = [0.5f, 0.3f, 0.2f], PredictedLabel = 1 },
        new() { Label = 2, Score = [0.1f, 0.6f, 0.3f], PredictedLabel = 2 },
        new() { Label = 3, Score = [0.2f, 0.4f, 0.4f], PredictedLabel = 2 },
        new() { Label = 3, Score = [0.25f, 0.25f, 0.5f], PredictedLabel = 3 },
    ];

    [Test]
    public void MetricsMatchHandComputation()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Example());

        MulticlassClassificationMetrics metrics = context.MulticlassClassification.Evaluate(data);

        Assert.Multiple(() =>
        {
            Assert.That(metrics.MicroAccuracy, Is.EqualTo(0.75).Within(Tolerance));
            // Per class: 1 of 1, 1 of 1, 1 of 2.
            Assert.That(metrics.MacroAccuracy, Is.EqualTo((1 + 1 + 0.5) / 3).Within(Tolerance));
            Assert.That(metrics.LogLoss, Is.EqualTo(-(Math.Log(0.5f) + Math.Log(0.6f) + Math.Log(0.4f) + Math.Log(0.5f)) / 4).Within(Tolerance));
            Assert.That(metrics.ConfusionMatrix.Counts[2], Is.EqualTo(new double[] { 0, 1, 1 }));
        });
    }

    [Test]
    public void KeysWithoutValuesAreNamedByIndex()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Example());

        MulticlassClassificationMetrics metrics = context.MulticlassClassification.Evaluate(data);

        Assert.Multiple(() =>
        {
            Assert.That(data.Schema["Label"].KeyValues, Is.Null);
            Assert.That(metrics.ConfusionMatrix.ClassNames, Is.EqualTo(new[] { "0", "1", "2" }));
        });
    }

    [Test]
    public void KeyValuesOfTheLabelNameTheClasses()
    {
        var context = new MLContext();
        string[] names = ["b", "a", "c", "c"];
        Scored[] example = Example();
        var rows = example.Select((row, i) => new NamedScored { Name = names[i], Score = row.Score, PredictedLabel = row.PredictedLabel }).ToArray();
        IDataView data = context.Data.LoadFromEnumerable(rows);
        IDataView keyed = context.Transforms.Conversion.MapValueToKey("Label", "Name").Fit(data).Transform(data);

        MulticlassClassificationMetrics metrics = context.MulticlassClassification.Evaluate(keyed);

        Assert.Multiple(() =>
        {
            // b, a, c by first occurrence, so keys 1, 2, 3, 3: the labels of the example.
            Assert.That(metrics.ConfusionMatrix.ClassNames, Is.EqualTo(new[] { "b", "a", "c" }));
            Assert.That(metrics.MicroAccuracy, Is.EqualTo(0.75).Within(Tolerance));
        });
    }

    [Test]
    public void LabelThatIsNotAKeyIsRejected()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(new[] { new PlainLabel { Label = 1, Score = [1f, 0f, 0f], PredictedLabel = 1 } });

        Assert.That(() => context.MulticlassClassification.Evaluate(data),
            Throws.ArgumentException.With.Message.Contain("label column 'Label'").And.Message.Contain("UInt32"));
    }

    [Test]
    public void ScoreLengthThatDiffersFromTheClassesIsRejected()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(new[] { new FourScores { Label = 1, Score = [1f, 0f, 0f, 0f], PredictedLabel = 1 } });

        Assert.That(() => context.MulticlassClassification.Evaluate(data),
            Throws.ArgumentException.With.Message.Contain("3 classes").And.Message.Contain("4 scores"));
    }

    [Test]
    public void MissingLabelIsAnErrorNamingTheRow()
    {
        var context = new MLContext();
        Scored[] rows = Example();
        rows[2].Label = 0;
        IDataView data = context.Data.LoadFromEnumerable(rows);

        Assert.That(() => context.MulticlassClassification.Evaluate(data),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("row 2").And.Message.Contain("'Label'"));
    }

    [Test]
    public void MissingPredictionIsAnErrorNamingTheRow()
    {
        var context = new MLContext();
        Scored[] rows = Example();
        rows[1].PredictedLabel = 0;
        IDataView data = context.Data.LoadFromEnumerable(rows);

        Assert.That(() => context.MulticlassClassification.Evaluate(data),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("row 1").And.Message.Contain("'PredictedLabel'"));
    }

    [Test]
    public void LabelOutsideItsKeyRangeIsAnErrorNamingTheRow()
    {
        var context = new MLContext();
        Scored[] rows = Example();
        rows[3].Label = 4;
        IDataView data = context.Data.LoadFromEnumerable(rows);

        Assert.That(() => context.MulticlassClassification.Evaluate(data),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("row 3").And.Message.Contain("'Label'").And.Message.Contain("is 4"));
    }

    [Test]
    public void NonFiniteScoreIsAnErrorNamingTheRow()
    {
        var context = new MLContext();
        Scored[] rows = Example();
        rows[3].Score = [0.5f, float.NaN, 0.5f];
        IDataView data = context.Data.LoadFromEnumerable(rows);

        Assert.That(() => context.MulticlassClassification.Evaluate(data),
            Throws.InstanceOf<InvalidDataException>().With.Message.Contain("row 3").And.Message.Contain("'Score'"));
    }

    [Test]
    public void MissingColumnIsNamed()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Example());

        Assert.That(() => context.MulticlassClassification.Evaluate(data, scoreColumnName: "Probabilities"),
            Throws.ArgumentException.With.Message.Contain("'Probabilities'"));
    }

    private sealed class Scored
    {
        [KeyType(3)]
        public uint Label { get; set; }

        [VectorType(3)]
        public float[] Score { get; set; } = [];

        [KeyType(3)]
        public uint PredictedLabel { get; set; }
    }

    private sealed class NamedScored
    {
        public string Name { get; set; } = "";

        [VectorType(3)]
        public float[] Score { get; set; } = [];

        [KeyType(3)]
        public uint PredictedLabel { get; set; }
    }

    private sealed class PlainLabel
    {
        public uint Label { get; set; }

        [VectorType(3)]
        public float[] Score { get; set; } = [];

        [KeyType(3)]
        public uint PredictedLabel { get; set; }
    }

    private sealed class FourScores
    {
        [KeyType(3)]
        public uint Label { get; set; }

        [VectorType(4)]
        public float[] Score { get; set; } = [];

        [KeyType(3)]
        public uint PredictedLabel { get; set; }
    }
}
