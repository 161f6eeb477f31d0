namespace MLNet.BNInception.Torch.Tests;

/// <summary>
/// Compares autograd's gradient with central finite differences in float64. The scalar checked is
/// L = Σ f(x)·w with a fixed random w, so every output element contributes with its own weight.
/// </summary>
internal static class GradientChecker
{
    private const double Step = 1e-6;

    /// <summary>Asserts that the relative error ‖analytic − numeric‖ / ‖numeric‖ is below <paramref name="tolerance"/> for every input.</summary>
    public static void AssertMatchesFiniteDifferences(Func<Tensor[], Tensor> function, Tensor[] inputs, double tolerance = 1e-6)
    {
        foreach (Tensor input in inputs)
        {
            Assert.That(input.dtype, Is.EqualTo(ScalarType.Float64), "finite differences need float64 inputs");
            input.requires_grad = true;
        }

        using DisposeScope scope = torch.NewDisposeScope();
        Tensor output = function(inputs);
        Tensor weights = torch.randn(output.shape, ScalarType.Float64);
        (output * weights).sum().backward();

        for (int i = 0; i < inputs.Length; i++)
        {
            double[] analytic = inputs[i].grad?.ToArray<double>()
                ?? throw new AssertionException($"input {i} received no gradient");
            double[] numeric = NumericGradient(function, inputs, i, weights);

            double difference = 0, norm = 0;
            for (int k = 0; k < numeric.Length; k++)
            {
                difference += (analytic[k] - numeric[k]) * (analytic[k] - numeric[k]);
                norm += numeric[k] * numeric[k];
            }

            Assert.That(norm, Is.GreaterThan(0), $"input {i}: the numeric gradient is zero, so the check would prove nothing");
            double relativeError = Math.Sqrt(difference / norm);
            Assert.That(relativeError, Is.LessThan(tolerance), $"input {i}: relative gradient error");
        }
    }

    private static double[] NumericGradient(Func<Tensor[], Tensor> function, Tensor[] inputs, int index, Tensor weights)
    {
        var gradient = new double[inputs[index].numel()];
        using IDisposable noGrad = torch.no_grad();
        Span<double> values = inputs[index].AsSpan<double>();
        for (int k = 0; k < gradient.Length; k++)
        {
            double original = values[k];
            values[k] = original + Step;
            double plus = Loss(function, inputs, weights);
            values[k] = original - Step;
            double minus = Loss(function, inputs, weights);
            values[k] = original;
            gradient[k] = (plus - minus) / (2 * Step);
        }

        return gradient;
    }

    private static double Loss(Func<Tensor[], Tensor> function, Tensor[] inputs, Tensor weights)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        return (function(inputs) * weights).sum().item<double>();
    }
}
