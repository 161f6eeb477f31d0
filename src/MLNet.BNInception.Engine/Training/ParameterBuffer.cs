using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// One group of parameters stored in two flat float32 buffers on their device, one for the values
/// and one for the gradients, with every parameter's data and <c>.grad</c> a view into them. An
/// optimizer then updates the whole group in a handful of kernels instead of a few per parameter,
/// and a distributed run reduces one tensor (<see cref="Gradients"/>) instead of hundreds.
/// </summary>
/// <remarks>
/// <para>
/// Each parameter keeps its own shape and strides: its view is <c>as_strided</c> over its own span
/// of the buffer, so a channels-last weight stays channels-last (the span holds it in N, H, W, C
/// order). A parameter is rebound with <c>set_</c> (under no_grad), which keeps the same tensor
/// object, so the modules that hold it, and autograd's accumulation node for it, are unchanged.
/// Its gradient is set to the view once; autograd then adds each backward pass into that existing
/// gradient in place (<c>grad += new</c>, the first-order path), so the view stays the gradient.
/// </para>
/// <para>
/// Whatever replaces a gradient breaks the link: TorchSharp's <c>Module.zero_grad()</c> sets
/// gradients to null by default, and assigning <c>.grad</c> drops the view. Zero with
/// <see cref="ZeroGradients"/>, which writes zeros into the buffer. A parameter that a backward
/// pass does not reach keeps a zero gradient rather than none (as after TorchSharp's own
/// <c>Optimizer.zero_grad</c>, which zeroes in place too).
/// </para>
/// <para>
/// Each view starts on a multiple of <see cref="AlignmentElements"/> elements; the gaps between
/// views hold zeros in both buffers and stay zero under SGD (a zero gradient, value and momentum
/// give a zero update), and they add nothing to a sum of gradients across processes.
/// </para>
/// </remarks>
internal sealed class ParameterBuffer : IDisposable
{
    /// <summary>
    /// Views start on multiples of 16 float32 elements (64 bytes, a cache line; CUDA's vectorised
    /// loads need 16 and libtorch's allocators align the buffer itself to at least 64), so no
    /// kernel that reads one parameter meets a misaligned start.
    /// </summary>
    public const long AlignmentElements = 16;

    private readonly long[] _offsets;

    private ParameterBuffer(IReadOnlyList<Parameter> parameters, long[] offsets, Tensor values, Tensor gradients)
    {
        Parameters = parameters;
        _offsets = offsets;
        Values = values;
        Gradients = gradients;
    }

    /// <summary>The parameters whose data and gradients are views into the buffers, in order.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The flat float32 buffer that holds every parameter's values.</summary>
    public Tensor Values { get; }

    /// <summary>
    /// The flat float32 buffer that holds every parameter's gradient: what backward passes add into,
    /// and what a distributed run reduces between the backward pass and the optimizer's step (an
    /// in-place allreduce over this one tensor updates every parameter's <c>.grad</c>).
    /// </summary>
    public Tensor Gradients { get; }

    /// <summary>
    /// Moves <paramref name="parameters"/> (float32, on one device, each dense: contiguous,
    /// channels-last or any other non-overlapping layout) into new flat buffers on their device,
    /// values and gradients copied in (a missing gradient becomes zeros).
    /// </summary>
    /// <exception cref="ArgumentException">A parameter appears twice, is not float32, is not dense, or is on another device than the first.</exception>
    public static ParameterBuffer Gather(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (new HashSet<Parameter>(parameters, ReferenceEqualityComparer.Instance).Count != parameters.Count)
        {
            throw new ArgumentException("A parameter appears twice; each takes one span of the buffer.", nameof(parameters));
        }

        Device device = parameters.Count > 0 ? parameters[0].device : CPU;
        var offsets = new long[parameters.Count];
        long total = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            Parameter parameter = parameters[i];
            bool sameDevice = parameter.device_type == device.type && parameter.device_index == device.index;
            if (parameter.dtype != ScalarType.Float32 || !sameDevice || !IsDense(parameter.shape, parameter.stride()))
            {
                throw new ArgumentException(
                    $"Parameter {i} [{string.Join(", ", parameter.shape)}] is {parameter.dtype} on {parameter.device} with strides " +
                    $"[{string.Join(", ", parameter.stride())}]; a flat buffer takes dense float32 parameters on one device ({device}).",
                    nameof(parameters));
            }

            offsets[i] = total;
            total += (parameter.numel() + AlignmentElements - 1) / AlignmentElements * AlignmentElements;
        }

        Tensor values = zeros(total, ScalarType.Float32, device);
        Tensor gradients = zeros(total, ScalarType.Float32, device);
        var buffer = new ParameterBuffer(parameters, offsets, values, gradients);
        using (no_grad())
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                Parameter parameter = parameters[i];
                using Tensor value = buffer.View(values, i);
                value.copy_(parameter);
                using Tensor gradient = buffer.View(gradients, i);
                using (Tensor? existing = parameter.grad)
                {
                    if (existing is not null)
                    {
                        gradient.copy_(existing);
                    }
                }

                // The same tensor object takes the view's storage, offset and strides.
                parameter.set_(value);
                parameter.grad = gradient;
            }
        }

        return buffer;
    }

    /// <summary>
    /// Parameter <paramref name="index"/>'s span of <paramref name="flat"/> (one of the buffers, or
    /// another of the same length such as an optimizer's flat momentum) as a view with that
    /// parameter's shape and strides.
    /// </summary>
    public Tensor View(Tensor flat, int index)
    {
        ArgumentNullException.ThrowIfNull(flat);
        if (flat.shape is not [long length] || length != Values.numel())
        {
            throw new ArgumentException($"A view takes a flat tensor of {Values.numel()} elements, not [{string.Join(", ", flat.shape)}].", nameof(flat));
        }

        Parameter parameter = Parameters[index];
        return flat.as_strided(parameter.shape, parameter.stride(), _offsets[index]);
    }

    /// <summary>Zeroes every gradient in place (one kernel), keeping them views of <see cref="Gradients"/>.</summary>
    public void ZeroGradients()
    {
        using Tensor zeroed = Gradients.zero_();
    }

    /// <summary>Releases this object's handles on the buffers; the parameters keep their storage alive.</summary>
    public void Dispose()
    {
        Values.Dispose();
        Gradients.Dispose();
    }

    // Non-overlapping and dense: ordered by stride, each dimension steps over exactly the ones before
    // it, so the tensor fills a span of numel elements (size-1 dimensions may have any stride).
    private static bool IsDense(long[] shape, long[] strides)
    {
        long expected = 1;
        foreach (int dim in Enumerable.Range(0, shape.Length).Where(d => shape[d] != 1).OrderBy(d => strides[d]))
        {
            if (strides[dim] != expected)
            {
                return false;
            }

            expected *= shape[dim];
        }

        return true;
    }
}
