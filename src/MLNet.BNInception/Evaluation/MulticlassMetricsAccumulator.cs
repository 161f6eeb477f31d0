using System.Collections.Immutable;

namespace MLNet.BNInception.Data;

/// <summary>
/// Gathers the counts behind <see cref="MulticlassClassificationMetrics"/> one row at a time, with the definitions
/// of ML.NET's multiclass evaluator. Rows are unweighted. A rejected row leaves the counts unchanged.
/// </summary>
internal sealed class MulticlassMetricsAccumulator
{
    // ML.NET's floor for the label's probability; a float, so the clipped value is float 1e-15.
    private const float ProbabilityFloor = 1e-15f;

    private readonly int _classCount;
    private readonly int _topKPredictionCount;
    private readonly ImmutableArray<string> _classNames;
    private readonly double[][] _counts;
    private readonly long[] _rowsOfClass;
    private readonly double[] _logLossOfClass;
    // _rowsAtRank[r]: rows whose label was outranked by exactly r classes.
    private readonly long[] _rowsAtRank;
    private long _rows;
    private long _correct;
    private double _logLoss;

    /// <param name="classCount">The number of classes, at least 2 (ML.NET needs a score vector of two or more).</param>
    /// <param name="topKPredictionCount">The largest K for top-K accuracy; 0 for none.</param>
    /// <param name="classNames">One name per class, for the confusion table.</param>
    public MulticlassMetricsAccumulator(int classCount, int topKPredictionCount, IReadOnlyList<string> classNames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(topKPredictionCount);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count != classCount)
        {
            throw new ArgumentException($"Expected {classCount} class names, one per class, but got {classNames.Count}.", nameof(classNames));
        }

        if (classNames.Any(name => name is null))
        {
            throw new ArgumentException("Class names must not be null.", nameof(classNames));
        }

        _classCount = classCount;
        _topKPredictionCount = topKPredictionCount;
        _classNames = [.. classNames];
        _counts = new double[classCount][];
        for (int c = 0; c < classCount; c++)
        {
            _counts[c] = new double[classCount];
        }

        _rowsOfClass = new long[classCount];
        _logLossOfClass = new double[classCount];
        _rowsAtRank = new long[classCount];
    }

    /// <summary>Adds one evaluated row.</summary>
    /// <param name="label">The actual class, 0-based.</param>
    /// <param name="scores">One probability per class (classCount long), all finite.</param>
    /// <param name="predicted">The predicted class, 0-based; how it was chosen (ties included) is the caller's business.</param>
    public void Add(int label, ReadOnlySpan<float> scores, int predicted)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, _classCount);
        ArgumentOutOfRangeException.ThrowIfNegative(predicted);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(predicted, _classCount);
        if (scores.Length != _classCount)
        {
            throw new ArgumentException($"Expected {_classCount} scores, one per class, but got {scores.Length}.", nameof(scores));
        }

        // ML.NET skips such rows silently and reports a count; an exception points at the model instead.
        for (int c = 0; c < scores.Length; c++)
        {
            if (!float.IsFinite(scores[c]))
            {
                throw new ArgumentException($"Score {c} is {scores[c]}; scores must be finite.", nameof(scores));
            }
        }

        float labelScore = scores[label];
        double loss = -Math.Log(Math.Clamp(labelScore, ProbabilityFloor, 1f));
        int rank = 0;
        for (int c = 0; c < scores.Length; c++)
        {
            // Ties go to the lower class index.
            if (scores[c] > labelScore || (scores[c] == labelScore && c < label))
            {
                rank++;
            }
        }

        _rows++;
        _rowsOfClass[label]++;
        _logLoss += loss;
        _logLossOfClass[label] += loss;
        _rowsAtRank[rank]++;
        _counts[label][predicted]++;
        if (predicted == label)
        {
            _correct++;
        }
    }

    /// <summary>Computes the metrics over the rows added so far.</summary>
    /// <exception cref="InvalidOperationException">No row was added.</exception>
    public MulticlassClassificationMetrics Finish()
    {
        if (_rows == 0)
        {
            throw new InvalidOperationException("Cannot compute multiclass metrics: no rows were evaluated.");
        }

        double n = _rows;
        double recallSum = 0;
        int classesPresent = 0;
        var perClassLogLoss = new double[_classCount];
        for (int c = 0; c < _classCount; c++)
        {
            if (_rowsOfClass[c] > 0)
            {
                classesPresent++;
                recallSum += _counts[c][c] / _rowsOfClass[c];
                perClassLogLoss[c] = _logLossOfClass[c] / _rowsOfClass[c];
            }
        }

        double logLoss = _logLoss / n;
        var topK = new double[_topKPredictionCount];
        long withinK = 0;
        for (int k = 1; k <= _topKPredictionCount; k++)
        {
            if (k <= _classCount)
            {
                withinK += _rowsAtRank[k - 1];
            }

            topK[k - 1] = withinK / n;
        }

        var matrix = new ConfusionMatrix(_classNames, _counts.Select(row => (double[])row.Clone()).ToArray());
        return new MulticlassClassificationMetrics(_correct / n, recallSum / classesPresent, logLoss, LogLossReduction(logLoss),
            _topKPredictionCount, topK.ToImmutableArray(), perClassLogLoss.ToImmutableArray(), matrix);
    }

    private double LogLossReduction(double logLoss)
    {
        // The same order of operations as ML.NET, so the degenerate single-label case (H = 0) comes out the same too.
        double n = _rows;
        double entropy = 0;
        foreach (long rows in _rowsOfClass)
        {
            if (rows > 0)
            {
                entropy += rows * Math.Log(rows / n);
            }
        }

        entropy /= -n;
        return (entropy - logLoss) / entropy;
    }
}
