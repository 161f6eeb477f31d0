using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests.Evaluation;

/// <summary>
/// Checks the multiclass metrics against values worked out by hand from ML.NET's definitions. Scores are floats,
/// so the expected log-losses take the log of the same float values (e.g. <c>Math.Log(0.7f)</c>).
/// </summary>
[TestFixture]
public sealed class MulticlassMetricsTests
{
    private const double Tolerance = 1e-12;

    // The example's per-row log-loss, -ln of each row's label probability (see the table below).
    // Row 6 gives its label probability 0, which is clipped up to the float 1e-15 (a loss of about 34.54).
    private static readonly double[] ExampleRowLoss =
    [
        -Math.Log(0.7f), -Math.Log(0.3f), -Math.Log(0.6f), -Math.Log(0.4f), -Math.Log(0.25f), -Math.Log(1e-15f), -Math.Log(0.8f),
    ];

    private static readonly double ExampleLogLoss =
        (ExampleRowLoss[0] + ExampleRowLoss[1] + ExampleRowLoss[2] + ExampleRowLoss[3] + ExampleRowLoss[4] + ExampleRowLoss[5] + ExampleRowLoss[6]) / 7;

    // Four classes, seven rows, top-3. Class C is never predicted; class D never occurs as a label.
    //
    //  row  label  scores (A, B, C, D)        predicted  classes ranked above the label (rank)
    //   1   A      0.7   0.2   0.1   0.0      A          none                          0
    //   2   A      0.3   0.5   0.1   0.1      B          B                             1
    //   3   B      0.1   0.6   0.2   0.1      B          none                          0
    //   4   B      0.4   0.4   0.1   0.1      A          A (tie, lower index)          1
    //   5   C      0.25  0.25  0.25  0.25     A          A, B (ties, lower index)      2
    //   6   C      0.0   0.5   0.0   0.5      D          B, D, A (tie, lower index)    3
    //   7   B      0.1   0.8   0.05  0.05     B          none                          0
    private static MulticlassClassificationMetrics EvaluateExample(int topK = 3)
    {
        var accumulator = new MulticlassMetricsAccumulator(4, topK, ["A", "B", "C", "D"]);
        accumulator.Add(0, [0.7f, 0.2f, 0.1f, 0.0f], 0);
        accumulator.Add(0, [0.3f, 0.5f, 0.1f, 0.1f], 1);
        accumulator.Add(1, [0.1f, 0.6f, 0.2f, 0.1f], 1);
        accumulator.Add(1, [0.4f, 0.4f, 0.1f, 0.1f], 0);
        accumulator.Add(2, [0.25f, 0.25f, 0.25f, 0.25f], 0);
        accumulator.Add(2, [0.0f, 0.5f, 0.0f, 0.5f], 3);
        accumulator.Add(1, [0.1f, 0.8f, 0.05f, 0.05f], 1);
        return accumulator.Finish();
    }

    [Test]
    public void CountsPutActualClassesInRowsAndPredictedInColumns()
    {
        ConfusionMatrix matrix = EvaluateExample().ConfusionMatrix;

        Assert.Multiple(() =>
        {
            Assert.That(matrix.NumberOfClasses, Is.EqualTo(4));
            Assert.That(matrix.IsWeighted, Is.False);
            Assert.That(matrix.ClassNames, Is.EqualTo(new[] { "A", "B", "C", "D" }));
            // A: rows 1 (A), 2 (B). B: rows 3 (B), 4 (A), 7 (B). C: rows 5 (A), 6 (D). D: none.
            Assert.That(matrix.Counts[0], Is.EqualTo(new double[] { 1, 1, 0, 0 }));
            Assert.That(matrix.Counts[1], Is.EqualTo(new double[] { 1, 2, 0, 0 }));
            Assert.That(matrix.Counts[2], Is.EqualTo(new double[] { 1, 0, 0, 1 }));
            Assert.That(matrix.Counts[3], Is.EqualTo(new double[] { 0, 0, 0, 0 }));
            // Predicted first, actual second: row 6 is a C predicted as D.
            Assert.That(matrix.GetCountForClassPair(predictedClassIndex: 3, actualClassIndex: 2), Is.EqualTo(1));
            Assert.That(matrix.GetCountForClassPair(predictedClassIndex: 2, actualClassIndex: 3), Is.EqualTo(0));
            Assert.That(matrix.GetCountForClassPair(predictedClassIndex: 1, actualClassIndex: 1), Is.EqualTo(2));
        });
    }

    [Test]
    public void PrecisionAndRecallAreZeroForClassesNeverPredictedOrNeverPresent()
    {
        ConfusionMatrix matrix = EvaluateExample().ConfusionMatrix;

        // Precision = diagonal / column sum. Column C is empty (never predicted) -> 0, as ML.NET; column D
        // holds one wrong prediction -> 0 / 1.
        double[] precision = [1.0 / (1 + 1 + 1), 2.0 / (1 + 2), 0, 0.0 / 1];
        // Recall = diagonal / row sum. Row D is empty (never a label) -> 0, as ML.NET.
        double[] recall = [1.0 / (1 + 1), 2.0 / (1 + 2), 0.0 / (1 + 1), 0];
        Assert.Multiple(() =>
        {
            Assert.That(matrix.PerClassPrecision, Is.EqualTo(precision).Within(Tolerance));
            Assert.That(matrix.PerClassRecall, Is.EqualTo(recall).Within(Tolerance));
        });
    }

    [Test]
    public void AccuraciesFollowMlNetDefinitions()
    {
        MulticlassClassificationMetrics metrics = EvaluateExample();

        Assert.Multiple(() =>
        {
            // Rows 1, 3 and 7 are predicted correctly.
            Assert.That(metrics.MicroAccuracy, Is.EqualTo(3.0 / 7).Within(Tolerance));
            // Mean recall over A, B and C, the classes present as labels; D does not enter the mean.
            Assert.That(metrics.MacroAccuracy, Is.EqualTo((1.0 / 2 + 2.0 / 3 + 0.0 / 2) / 3).Within(Tolerance));
        });
    }

    [Test]
    public void LogLossClipsTheLabelProbabilityAndAveragesPerRowAndPerClass()
    {
        MulticlassClassificationMetrics metrics = EvaluateExample();

        double[] rowLoss = ExampleRowLoss;
        double[] perClass =
        [
            (rowLoss[0] + rowLoss[1]) / 2,              // A: rows 1, 2
            (rowLoss[2] + rowLoss[3] + rowLoss[6]) / 3, // B: rows 3, 4, 7
            (rowLoss[4] + rowLoss[5]) / 2,              // C: rows 5, 6
            0,                                          // D: no rows -> 0, as ML.NET
        ];
        Assert.Multiple(() =>
        {
            Assert.That(metrics.LogLoss, Is.EqualTo(ExampleLogLoss).Within(Tolerance));
            Assert.That(metrics.PerClassLogLoss, Is.EqualTo(perClass).Within(Tolerance));
        });
    }

    [Test]
    public void LogLossReductionIsAFractionOfThePriorEntropy()
    {
        MulticlassClassificationMetrics metrics = EvaluateExample();

        // Label frequencies: A 2/7, B 3/7, C 2/7 (D is absent and contributes nothing).
        double prior = -(2.0 / 7 * Math.Log(2.0 / 7) + 3.0 / 7 * Math.Log(3.0 / 7) + 2.0 / 7 * Math.Log(2.0 / 7));
        // The clipped zero in row 6 makes this model much worse than the prior, so the reduction is negative.
        Assert.Multiple(() =>
        {
            Assert.That(metrics.LogLossReduction, Is.EqualTo((prior - ExampleLogLoss) / prior).Within(Tolerance));
            Assert.That(metrics.LogLossReduction, Is.LessThan(0));
        });
    }

    [Test]
    public void LogLossReductionOfAConfidentGoodModelIsBelowOne()
    {
        var accumulator = new MulticlassMetricsAccumulator(2, 0, ["no", "yes"]);
        accumulator.Add(0, [0.9f, 0.1f], 0);
        accumulator.Add(1, [0.2f, 0.8f], 1);

        double prior = Math.Log(2); // two equally frequent labels
        double logLoss = (-Math.Log(0.9f) - Math.Log(0.8f)) / 2;
        // Not scaled by 100: 1 would be perfect.
        Assert.That(accumulator.Finish().LogLossReduction, Is.EqualTo((prior - logLoss) / prior).Within(Tolerance));
    }

    [Test]
    public void LogLossReductionIsUndefinedWhenOnlyOneClassOccurs()
    {
        var accumulator = new MulticlassMetricsAccumulator(2, 0, ["no", "yes"]);
        accumulator.Add(0, [0.5f, 0.5f], 0);

        // Prior entropy is -(1 * ln 1) / 1 = -0, and (-0 - ln 2) / -0 is +infinity in ML.NET's arithmetic.
        Assert.That(accumulator.Finish().LogLossReduction, Is.EqualTo(double.PositiveInfinity));
    }

    [Test]
    public void LogLossClipsProbabilitiesAboveOne()
    {
        var accumulator = new MulticlassMetricsAccumulator(2, 0, ["no", "yes"]);
        accumulator.Add(1, [0f, 1.5f], 1);

        Assert.That(accumulator.Finish().LogLoss, Is.EqualTo(0));
    }

    [Test]
    public void TopKAccuracyRanksTiesByClassIndex()
    {
        MulticlassClassificationMetrics metrics = EvaluateExample();

        // Ranks from the table above: 0, 1, 0, 1, 2, 3, 0.
        double[] expected = [3.0 / 7, (3.0 + 2) / 7, (3.0 + 2 + 1) / 7];
        Assert.Multiple(() =>
        {
            Assert.That(metrics.TopKPredictionCount, Is.EqualTo(3));
            Assert.That(metrics.TopKAccuracyForAllK, Is.EqualTo(expected).Within(Tolerance));
            Assert.That(metrics.TopKAccuracy, Is.EqualTo(6.0 / 7).Within(Tolerance));
        });
    }

    [Test]
    public void TopKBeyondTheClassCountReachesOne()
    {
        MulticlassClassificationMetrics metrics = EvaluateExample(topK: 5);

        double[] expected = [3.0 / 7, 5.0 / 7, 6.0 / 7, 7.0 / 7, 7.0 / 7];
        Assert.Multiple(() =>
        {
            Assert.That(metrics.TopKAccuracyForAllK, Is.EqualTo(expected).Within(Tolerance));
            Assert.That(metrics.TopKAccuracy, Is.EqualTo(1).Within(Tolerance));
        });
    }

    [Test]
    public void TopKIsEmptyAndZeroWhenNotRequested()
    {
        MulticlassClassificationMetrics metrics = EvaluateExample(topK: 0);

        Assert.Multiple(() =>
        {
            Assert.That(metrics.TopKPredictionCount, Is.EqualTo(0));
            Assert.That(metrics.TopKAccuracyForAllK, Is.Empty);
            Assert.That(metrics.TopKAccuracy, Is.EqualTo(0));
        });
    }

    [Test]
    public void TopOneFollowsScoresWhileAccuracyFollowsThePassedPrediction()
    {
        var accumulator = new MulticlassMetricsAccumulator(2, 1, ["no", "yes"]);
        // A tie: "yes" ranks behind "no" for top-K, but the caller predicted "yes".
        accumulator.Add(1, [0.5f, 0.5f], 1);

        MulticlassClassificationMetrics metrics = accumulator.Finish();
        Assert.Multiple(() =>
        {
            Assert.That(metrics.TopKAccuracy, Is.EqualTo(0));
            Assert.That(metrics.MicroAccuracy, Is.EqualTo(1));
        });
    }

    [Test]
    public void FormattedTableForThreeClassesMatchesMlNetLayout()
    {
        var accumulator = new MulticlassMetricsAccumulator(3, 0, ["cat", "dog", "emu"]);
        // cat: 2 right, 1 as dog. dog: 1 right. emu: 1 as cat, 1 as dog (never predicted).
        foreach ((int label, int predicted) in new[] { (0, 0), (0, 0), (0, 1), (1, 1), (2, 0), (2, 1) })
        {
            float[] scores = [0.1f, 0.1f, 0.1f];
            scores[predicted] = 0.8f;
            accumulator.Add(label, scores, predicted);
        }

        // Cells are 5 wide, rules 3 * 8 = 24 '='; names fit, so no indices.
        // Recall: 2/3, 1/1, 0/2. Precision: 2/3, 1/3, 0 (emu never predicted).
        string[] lines =
        [
            "",
            "Confusion table",
            "          ||========================",
            "PREDICTED ||   cat |   dog |   emu | Recall",
            "TRUTH     ||========================",
            "      cat ||     2 |     1 |     0 | 0.6667",
            "      dog ||     0 |     1 |     0 | 1.0000",
            "      emu ||     1 |     1 |     0 | 0.0000",
            "          ||========================",
            "Precision ||0.6667 |0.3333 |0.0000 |",
            "",
        ];
        Assert.That(accumulator.Finish().ConfusionMatrix.GetFormattedConfusionTable(), Is.EqualTo(string.Join(Environment.NewLine, lines)));
    }

    [Test]
    public void FormattedTableForTwoClassesWithLongNamesUsesIndices()
    {
        var accumulator = new MulticlassMetricsAccumulator(2, 0, ["background", "target"]);
        AddRows(accumulator, label: 0, predicted: 0, count: 1200);
        AddRows(accumulator, label: 0, predicted: 1, count: 34);
        AddRows(accumulator, label: 1, predicted: 0, count: 5);
        AddRows(accumulator, label: 1, predicted: 1, count: 61);

        // Two classes: cells 8 wide, rules 2 * 11 = 22 '='. "background" (10) does not fit in 8, so the header shows
        // indices and rows read "i. name"; the label column is 10 + 1 digit + 2 = 13 wide, 4 more than "PREDICTED".
        // Recall: 1200/1234 = 0.97245, 61/66 = 0.92424. Precision: 1200/1205 = 0.99585, 61/95 = 0.64211.
        string[] lines =
        [
            "",
            "Confusion table",
            "              ||======================",
            "PREDICTED     ||        0 |        1 | Recall",
            "TRUTH         ||======================",
            "0. background ||    1,200 |       34 | 0.9724",
            "1.     target ||        5 |       61 | 0.9242",
            "              ||======================",
            "Precision     ||   0.9959 |   0.6421 |",
            "",
        ];
        Assert.That(accumulator.Finish().ConfusionMatrix.GetFormattedConfusionTable(), Is.EqualTo(string.Join(Environment.NewLine, lines)));
    }

    [Test]
    public void ConstructorRejectsBadArguments()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new MulticlassMetricsAccumulator(1, 0, ["only"]), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => new MulticlassMetricsAccumulator(2, -1, ["a", "b"]), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => new MulticlassMetricsAccumulator(2, 0, null!), Throws.TypeOf<ArgumentNullException>());
            Assert.That(() => new MulticlassMetricsAccumulator(3, 0, ["a", "b"]),
                Throws.ArgumentException.With.Message.Contains("Expected 3 class names"));
            Assert.That(() => new MulticlassMetricsAccumulator(2, 0, ["a", null!]), Throws.ArgumentException);
        });
    }

    [Test]
    public void AddRejectsBadRowsWithoutCountingThem()
    {
        var accumulator = new MulticlassMetricsAccumulator(3, 1, ["a", "b", "c"]);

        Assert.Multiple(() =>
        {
            Assert.That(() => accumulator.Add(0, [0.5f, 0.5f], 0),
                Throws.ArgumentException.With.Message.Contains("Expected 3 scores"));
            Assert.That(() => accumulator.Add(-1, [0.2f, 0.3f, 0.5f], 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => accumulator.Add(3, [0.2f, 0.3f, 0.5f], 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => accumulator.Add(0, [0.2f, 0.3f, 0.5f], 3), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => accumulator.Add(0, [0.2f, float.NaN, 0.5f], 0), Throws.ArgumentException.With.Message.Contains("finite"));
            Assert.That(() => accumulator.Finish(),
                Throws.InvalidOperationException.With.Message.Contains("no rows"));
        });
    }

    [Test]
    public void GetCountForClassPairRejectsIndicesOutOfRange()
    {
        ConfusionMatrix matrix = EvaluateExample().ConfusionMatrix;

        Assert.Multiple(() =>
        {
            Assert.That(() => matrix.GetCountForClassPair(4, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
            Assert.That(() => matrix.GetCountForClassPair(0, -1), Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }

    private static void AddRows(MulticlassMetricsAccumulator accumulator, int label, int predicted, int count)
    {
        float[] scores = [0.1f, 0.1f];
        scores[predicted] = 0.9f;
        for (int i = 0; i < count; i++)
        {
            accumulator.Add(label, scores, predicted);
        }
    }
}
