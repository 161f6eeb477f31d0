using System.Collections.Immutable;

namespace MLNet.BNInception.Data;

/// <summary>
/// The confusion matrix of a classification evaluation, laid out as ML.NET's
/// (<c>Microsoft.ML.Data.ConfusionMatrix</c>): one row per actual class, one column per predicted class.
/// </summary>
public sealed class ConfusionMatrix
{
    private string? _formatted;

    /// <param name="classNames">One name per class, in class-index order.</param>
    /// <param name="counts">counts[actual][predicted]; square, one row and column per class. Not copied.</param>
    internal ConfusionMatrix(IReadOnlyList<string> classNames, double[][] counts)
    {
        int n = counts.Length;
        var precision = new double[n];
        var recall = new double[n];
        for (int c = 0; c < n; c++)
        {
            double actual = 0, predicted = 0;
            for (int other = 0; other < n; other++)
            {
                actual += counts[c][other];
                predicted += counts[other][c];
            }

            // A class never predicted (or never present) gets 0, not NaN, as ML.NET reports it.
            precision[c] = predicted > 0 ? counts[c][c] / predicted : 0;
            recall[c] = actual > 0 ? counts[c][c] / actual : 0;
        }

        NumberOfClasses = n;
        ClassNames = classNames.ToImmutableArray();
        PerClassPrecision = precision.ToImmutableArray();
        PerClassRecall = recall.ToImmutableArray();
        Counts = counts.Select(row => (IReadOnlyList<double>)row.ToImmutableArray()).ToImmutableArray();
    }

    /// <summary>
    /// Entry c is the precision of class c: the fraction of rows predicted as c whose label is c.
    /// 0 for a class that is never predicted, as in ML.NET.
    /// </summary>
    public IReadOnlyList<double> PerClassPrecision { get; }

    /// <summary>
    /// Entry c is the recall of class c: the fraction of rows labelled c that are predicted as c.
    /// 0 for a class that never occurs as a label, as in ML.NET.
    /// </summary>
    public IReadOnlyList<double> PerClassRecall { get; }

    /// <summary>
    /// The number of rows for each pair: <c>Counts[actual][predicted]</c>. The outer list holds the actual
    /// classes (the table's rows), the inner lists the predicted classes (its columns).
    /// </summary>
    public IReadOnlyList<IReadOnlyList<double>> Counts { get; }

    /// <summary>The number of classes, which is the size of both dimensions of <see cref="Counts"/>.</summary>
    public int NumberOfClasses { get; }

    /// <summary>Whether the counts are sums of row weights. Always false: every row counts once.</summary>
    public bool IsWeighted => false;

    /// <summary>The class names, in class-index order, as shown by <see cref="GetFormattedConfusionTable"/>.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The number of rows labelled <paramref name="actualClassIndex"/> and predicted as <paramref name="predictedClassIndex"/>.</summary>
    /// <param name="predictedClassIndex">The predicted class, 0-based.</param>
    /// <param name="actualClassIndex">The actual class (the label), 0-based.</param>
    /// <exception cref="ArgumentOutOfRangeException">An index is negative or not less than <see cref="NumberOfClasses"/>.</exception>
    public double GetCountForClassPair(int predictedClassIndex, int actualClassIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(predictedClassIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(predictedClassIndex, NumberOfClasses);
        ArgumentOutOfRangeException.ThrowIfNegative(actualClassIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(actualClassIndex, NumberOfClasses);
        return Counts[actualClassIndex][predictedClassIndex];
    }

    /// <summary>
    /// The matrix as text, in the layout of ML.NET's formatted confusion table: a "Confusion table" title,
    /// a header of predicted classes, one line per actual class ending in its recall, and a precision line.
    /// </summary>
    /// <remarks>
    /// Columns are 5 characters wide, or 8 with two classes. When a class name does not fit, the header shows
    /// class indices and each row shows "index. name". Numbers use the invariant culture (ML.NET uses the
    /// current one), so the text is the same on every machine. Lines end with <see cref="Environment.NewLine"/>.
    /// </remarks>
    public string GetFormattedConfusionTable() => _formatted ??= ConfusionTableFormatter.Format(this);
}
