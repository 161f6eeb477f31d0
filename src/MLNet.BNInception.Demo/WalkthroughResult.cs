using Microsoft.ML.Data;

namespace MLNet.BNInception.Demo;

/// <summary>What the walk-through measured.</summary>
/// <param name="Metrics">ML.NET's metrics of the trained pipeline on the test images.</param>
/// <param name="ReloadedMetrics">The same after Model.Save and Model.Load.</param>
/// <param name="Predictions">Rows written to the predictions CSV.</param>
/// <param name="OnnxAgreement">Test images on whose top class ONNX Runtime, reading the ONNX export, agrees with the pipeline.</param>
/// <param name="OnnxChecked">Test images ONNX Runtime scored.</param>
/// <param name="ModelPath">The saved ML.NET model.</param>
/// <param name="PredictionsPath">The predictions CSV.</param>
/// <param name="CurvesPath">The training curves (a PNG, with their CSV beside it).</param>
public sealed record WalkthroughResult(MulticlassClassificationMetrics Metrics, MulticlassClassificationMetrics ReloadedMetrics, long Predictions,
    int OnnxAgreement, int OnnxChecked, string ModelPath, string PredictionsPath, string CurvesPath);
