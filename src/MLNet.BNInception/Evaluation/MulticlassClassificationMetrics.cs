namespace MLNet.BNInception.Data;

/// <summary>
/// The result of evaluating a multiclass classifier, with ML.NET's definitions
/// (<c>Microsoft.ML.Data.MulticlassClassificationMetrics</c>). Every row counts once; there are no weights.
/// </summary>
public sealed class MulticlassClassificationMetrics
{
    internal MulticlassClassificationMetrics(double microAccuracy, double macroAccuracy, double logLoss, double logLossReduction,
        int topKPredictionCount, IReadOnlyList<double> topKAccuracyForAllK, IReadOnlyList<double> perClassLogLoss,
        ConfusionMatrix confusionMatrix)
    {
        MicroAccuracy = microAccuracy;
        MacroAccuracy = macroAccuracy;
        LogLoss = logLoss;
        LogLossReduction = logLossReduction;
        TopKPredictionCount = topKPredictionCount;
        TopKAccuracyForAllK = topKAccuracyForAllK;
        PerClassLogLoss = perClassLogLoss;
        ConfusionMatrix = confusionMatrix;
    }

    /// <summary>The fraction of rows whose predicted class is the label: correct / N.</summary>
    public double MicroAccuracy { get; }

    /// <summary>
    /// The mean of the per-class recalls, taken over the classes that occur as a label at least once
    /// (a class with no rows neither counts as 0 nor enters the mean). Every such class weighs the same,
    /// however many rows it has.
    /// </summary>
    public double MacroAccuracy { get; }

    /// <summary>
    /// The mean over all rows of −ln p, where p is the probability given to the row's label, clipped to
    /// [1e-15, 1] (ML.NET's floor, a <see cref="float"/>) so that a zero costs about 34.5 rather than infinity. 0 is perfect.
    /// </summary>
    public double LogLoss { get; }

    /// <summary>
    /// How much better <see cref="LogLoss"/> is than the log-loss of a model that always predicts the label
    /// frequencies of the evaluated rows: (H − LogLoss) / H, where H = −Σ<sub>c</sub> (n<sub>c</sub>/N)·ln(n<sub>c</sub>/N)
    /// over the classes with n<sub>c</sub> &gt; 0 rows. Also called relative information gain.
    /// </summary>
    /// <remarks>
    /// A fraction: 1 for a perfect model, 0 for no better than the prior, negative (unbounded) for worse.
    /// ML.NET's pre-1.0 evaluator multiplied this by 100; dotnet/machinelearning#2697 moved it to a fraction,
    /// and ML.NET's 1.x baselines (for example 0.934264 on Iris) and API docs use the fraction, so we do too.
    /// When every row has the same label, H is 0 and the ratio is undefined; the result is then infinite or NaN,
    /// exactly as ML.NET's arithmetic gives.
    /// </remarks>
    public double LogLossReduction { get; }

    /// <summary>The largest K for which top-K accuracy was computed; 0 when it was not requested.</summary>
    public int TopKPredictionCount { get; }

    /// <summary>
    /// The top-K accuracy for K = <see cref="TopKPredictionCount"/>, i.e. the last entry of
    /// <see cref="TopKAccuracyForAllK"/>; 0 when <see cref="TopKPredictionCount"/> is 0, as in ML.NET.
    /// </summary>
    public double TopKAccuracy => TopKAccuracyForAllK.Count > 0 ? TopKAccuracyForAllK[^1] : 0;

    /// <summary>
    /// Entry K − 1 is the fraction of rows whose label is among the K highest-scored classes, for K = 1 up to
    /// <see cref="TopKPredictionCount"/>; empty when that is 0.
    /// </summary>
    /// <remarks>
    /// The label's rank is the number of classes that score higher than it, plus the number of classes with an
    /// equal score and a smaller index: ties go to the lower class index, as in ML.NET (its rank count since
    /// dotnet/machinelearning#5395, and its stable sort before that). So a label tied with a lower-indexed class
    /// for the top score misses top-1. A K larger than the number of classes gives 1.
    /// </remarks>
    public IReadOnlyList<double> TopKAccuracyForAllK { get; }

    /// <summary>
    /// Entry c is the mean log-loss (see <see cref="LogLoss"/>) over the rows whose label is class c,
    /// and 0 for a class that never occurs as a label, as in ML.NET.
    /// </summary>
    public IReadOnlyList<double> PerClassLogLoss { get; }

    /// <summary>The counts of actual versus predicted classes, with per-class precision and recall.</summary>
    public ConfusionMatrix ConfusionMatrix { get; }
}
