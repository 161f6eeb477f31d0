using System.Globalization;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// Every class's probability as <c>score --top-k N</c> writes them, N being the model's number of
/// classes: each row's PredictedLabel/Probability pairs put back in the model's class order, to
/// compare with another precision's or with ML.NET's Score column.
/// </summary>
internal static class ScoredProbabilities
{
    /// <summary>
    /// How far a bfloat16 probability may be from float32's for the same image and class. bfloat16
    /// keeps 8 significant bits (a relative error of 2^-9 per rounding) through some 30 layers; over the
    /// Cli tests' model's 500 test images × 10 classes the largest difference seen was 0.015 (the
    /// median row's 0.0016), on a processor with AVX-512; libtorch sums bfloat16 convolutions otherwise
    /// on one without, hence the margin. Logits, a wrong class order or a wrong softmax are off by far more.
    /// </summary>
    public const double BFloat16Tolerance = 0.05;

    /// <summary>
    /// Per row, the probability of each of <paramref name="classes"/>; asserts that each row's pairs
    /// name every class once, most probable first, as <c>--top-k</c> promises.
    /// </summary>
    public static float[][] ByClass(Csv scored, string[] classes)
    {
        string[][] labels = [.. Enumerable.Range(1, classes.Length).Select(k => scored.Column("PredictedLabel" + Suffix(k)))];
        float[][] probabilities = [.. Enumerable.Range(1, classes.Length)
            .Select(k => scored.Column("Probability" + Suffix(k)).Select(p => float.Parse(p, CultureInfo.InvariantCulture)).ToArray())];
        var rows = new float[scored.Rows.Count][];
        for (int i = 0; i < rows.Length; i++)
        {
            string[] ranked = [.. labels.Select(column => column[i])];
            float[] rankedProbabilities = [.. probabilities.Select(column => column[i])];
            Assert.That(ranked, Is.EquivalentTo(classes), $"row {i + 1} names every class once");
            Assert.That(rankedProbabilities, Is.Ordered.Descending, $"row {i + 1}, most probable first");
            rows[i] = [.. classes.Select(name => rankedProbabilities[Array.IndexOf(ranked, name)])];
        }

        return rows;
    }

    /// <summary>
    /// Asserts that every row of <paramref name="actual"/> is a probability distribution (each value in
    /// [0, 1], their sum 1 to float32's rounding) and each value within <paramref name="tolerance"/> of
    /// <paramref name="expected"/>'s for the same row and class; returns the largest difference.
    /// </summary>
    public static double AssertDistributionsClose(float[][] actual, float[][] expected, double tolerance, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: the rows");
        double largest = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(actual[i], Has.All.InRange(0f, 1f), $"{what}, row {i + 1}: probabilities");
            Assert.That(actual[i].Sum(), Is.EqualTo(1).Within(1e-5), $"{what}, row {i + 1}: the probabilities' sum");
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"{what}, row {i + 1}, class by class");
            largest = Math.Max(largest, actual[i].Zip(expected[i], (a, e) => Math.Abs((double)a - e)).Max());
        }

        return largest;
    }

    private static string Suffix(int k) => k == 1 ? "" : k.ToString(CultureInfo.InvariantCulture);
}
