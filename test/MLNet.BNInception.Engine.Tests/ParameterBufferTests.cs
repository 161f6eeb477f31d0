using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// A network whose parameters are views into flat value and gradient buffers computes what a plain
/// copy of it computes, in its own layout, and its backward passes land in the flat gradient buffer.
/// </summary>
public class ParameterBufferTests : SingleThreadedFixture
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3, Dropout = 0.2 };

    // Channels-last, the trainer's layout and the one whose strides the buffer must keep; FlatSgdTests
    // run the contiguous layout through the same buffer.
    [Trains]
    [TestCase(true)]
    public void TheFlatGradientBufferHoldsExactlyThePlainNetworksGradients(bool channelsLast)
    {
        using var plain = new BnInception(Model, seed: 5).UseChannelsLast(channelsLast);
        using var flat = new BnInception(Model, seed: 5).UseChannelsLast(channelsLast);
        Parameter[] plainParameters = [.. plain.parameters()], parameters = [.. flat.parameters()];
        long[][] strides = [.. parameters.Select(parameter => parameter.stride())];
        using ParameterBuffer buffer = ParameterBuffer.Gather(parameters);

        Assert.That(parameters.Select(parameter => parameter.stride()), Is.EqualTo(strides), "every parameter keeps its strides");
        Assert.That(flat.modules().OfType<Conv2d>().Select(conv => channelsLast ? ChannelsLast.Is(conv.weight) : conv.weight.is_contiguous()), Is.All.True);
        Assert.That(parameters.Select(parameter => parameter.storage_offset() % ParameterBuffer.AlignmentElements), Is.All.Zero);
        for (int i = 0; i < parameters.Length; i++)
        {
            TestModels.AssertSameBits(TestModels.Bits(parameters[i]), TestModels.Bits(plainParameters[i]), $"parameter {i}'s values");
        }

        manual_seed(9);
        using Tensor images = randn([4, 1, 64, 64]);
        using Tensor labels = tensor(new long[] { 0, 1, 2, 1 });
        // Zeroed, then accumulated over a second pass, then zeroed again.
        foreach ((int pass, bool zero) in new[] { (0, true), (1, false), (2, true) })
        {
            if (zero)
            {
                plain.zero_grad();
                buffer.ZeroGradients();
            }

            Backward(plain, images, labels, pass);
            Backward(flat, images, labels, pass);

            using DisposeScope scope = NewDisposeScope();
            Tensor expected = zeros_like(buffer.Gradients);
            for (int i = 0; i < parameters.Length; i++)
            {
                buffer.View(expected, i).copy_(plainParameters[i].grad!);
                Tensor gradient = parameters[i].grad!;
                Assert.That(gradient.stride(), Is.EqualTo(strides[i]), $"pass {pass}: parameter {i}'s gradient layout");
                TestModels.AssertSameBits(TestModels.Bits(gradient), TestModels.Bits(plainParameters[i].grad!), $"pass {pass}: parameter {i}'s gradient");
            }

            TestModels.AssertSameBits(TestModels.Bits(buffer.Gradients), TestModels.Bits(expected), $"pass {pass}: the flat gradient buffer (gaps zero)");
        }

        // The values buffer is the parameters' storage: changing it changes the network.
        using (no_grad())
        using (Scalar two = 2.0.ToScalar())
        {
            buffer.Values.mul_(two).Dispose();
        }

        Assert.That(TestModels.Values(flat.Classifier.weight), Is.EqualTo(TestModels.Values(plain.Classifier.weight).Select(value => value * 2)));
    }

    [Test]
    public void OnlyFloat32ParametersOnOneDeviceAreTaken()
    {
        using var doubled = new Parameter(zeros([2, 3], ScalarType.Float64));
        using var single = new Parameter(zeros([3]));
        var error = Assert.Throws<ArgumentException>(() => ParameterBuffer.Gather([single, doubled]).Dispose());
        Assert.That(error!.Message, Does.Contain("Parameter 1 [2, 3] is Float64"));
    }

    [Test]
    public void OnlyDenseParametersAreTaken()
    {
        using DisposeScope scope = NewDisposeScope();
        using var everyOther = new Parameter(zeros([4, 6])[.., TensorIndex.Slice(step: 2)]);
        using var broadcast = new Parameter(zeros([1, 5]).expand([3, 5]));
        using var transposed = new Parameter(tensor(new float[] { 0, 1, 2, 3, 4, 5 }).reshape([2, 3]).t());
        using var single = new Parameter(zeros([3]));
        var error = Assert.Throws<ArgumentException>(() => ParameterBuffer.Gather([single, everyOther]).Dispose());
        Assert.That(error!.Message, Does.Contain("Parameter 1 [4, 3] is Float32 on cpu with strides [6, 2]"));
        error = Assert.Throws<ArgumentException>(() => ParameterBuffer.Gather([broadcast]).Dispose());
        Assert.That(error!.Message, Does.Contain("Parameter 0 [3, 5] is Float32 on cpu with strides [0, 1]"));

        // A transpose is dense: taken, and its view keeps its strides and values.
        using ParameterBuffer buffer = ParameterBuffer.Gather([single, transposed]);
        Assert.That(transposed.stride(), Is.EqualTo(new long[] { 1, 3 }));
        Assert.That(transposed.data<float>().ToArray(), Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void ParametersOnTwoDevicesAreRefused()
    {
        using var onCpu = new Parameter(zeros([3]));
        using var onMeta = new Parameter(empty([2, 2], device: new Device(DeviceType.META)));
        var error = Assert.Throws<ArgumentException>(() => ParameterBuffer.Gather([onCpu, onMeta]).Dispose());
        Assert.That(error!.Message, Does.Contain("Parameter 1 [2, 2] is Float32 on meta").And.Contain("on one device (cpu)"));
    }

    // The same dropout draws for both networks.
    private static void Backward(BnInception model, Tensor images, Tensor labels, int pass)
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(100 + pass);
        nn.functional.cross_entropy(model.call(images), labels).backward();
    }
}
