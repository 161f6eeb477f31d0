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
/// <para>
/// In mixed precision, the parameters that compute in bfloat16 also get bfloat16 copies: a flat
/// bfloat16 value buffer and gradient buffer over the prefix their spans take, and per parameter a
/// leaf that requires grad, set onto its span, whose <c>.grad</c> is its span of the gradients
/// (docs/engine.md, "Mixed-precision training").
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
    private readonly Tensor?[] _bfloat16Copies;

    // Held for the life of the process, so never freed under a native call.
    private static readonly Scalar One = 1.ToScalar();

    private ParameterBuffer(IReadOnlyList<Parameter> parameters, long[] offsets, Tensor values, Tensor gradients)
    {
        Parameters = parameters;
        _offsets = offsets;
        _bfloat16Copies = new Tensor?[parameters.Count];
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
    /// The bfloat16 copy of the values of the parameters that compute in bfloat16, or null when none
    /// does: as long as the span of <see cref="Values"/> those parameters take first (see
    /// <see cref="Gather"/>), refreshed from it by <see cref="RefreshBFloat16Values"/>.
    /// </summary>
    public Tensor? BFloat16Values { get; private set; }

    /// <summary>
    /// The bfloat16 gradients of the parameters that compute in bfloat16 (laid out as
    /// <see cref="BFloat16Values"/>), or null when none does: what backward passes add into, moved
    /// into <see cref="Gradients"/> by <see cref="CollectBFloat16Gradients"/>.
    /// </summary>
    public Tensor? BFloat16Gradients { get; private set; }

    /// <summary>
    /// Parameter <paramref name="index"/>'s bfloat16 copy: a leaf tensor that requires grad, a view
    /// of its span of <see cref="BFloat16Values"/> with the parameter's shape and strides, whose
    /// <c>.grad</c> is the view of its span of <see cref="BFloat16Gradients"/>; null for a parameter
    /// that computes in float32. The buffer owns it (and disposes it).
    /// </summary>
    public Tensor? BFloat16Copy(int index) => _bfloat16Copies[index];

    /// <summary>
    /// Moves <paramref name="parameters"/> (float32, on one device, each dense: contiguous,
    /// channels-last or any other non-overlapping layout) into new flat buffers on their device,
    /// values and gradients copied in (a missing gradient becomes zeros). Those of them in
    /// <paramref name="computedInBFloat16"/> (others there are ignored) also get a bfloat16 copy
    /// (<see cref="BFloat16Copy"/>) for a network to compute with; their spans come first in the
    /// buffers, in the order given, so that the bfloat16 buffers cover one prefix of the float32 ones.
    /// </summary>
    /// <exception cref="ArgumentException">A parameter appears twice, is not float32, is not dense, or is on another device than the first.</exception>
    public static ParameterBuffer Gather(IReadOnlyList<Parameter> parameters, IEnumerable<Parameter>? computedInBFloat16 = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (new HashSet<Parameter>(parameters, ReferenceEqualityComparer.Instance).Count != parameters.Count)
        {
            throw new ArgumentException("A parameter appears twice; each takes one span of the buffer.", nameof(parameters));
        }

        var inBFloat16 = new HashSet<Parameter>(computedInBFloat16 ?? [], ReferenceEqualityComparer.Instance);
        bool[] computesInBFloat16 = [.. parameters.Select(inBFloat16.Contains)];
        Device device = parameters.Count > 0 ? parameters[0].device : CPU;
        var offsets = new long[parameters.Count];
        long total = 0, bfloat16Length = 0;
        // The bfloat16 ones first: their spans then make one prefix, which one kernel casts or moves.
        foreach (int i in Enumerable.Range(0, parameters.Count).OrderBy(i => computesInBFloat16[i] ? 0 : 1))
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
            if (computesInBFloat16[i])
            {
                bfloat16Length = total;
            }
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

        if (bfloat16Length > 0)
        {
            buffer.AddBFloat16Copies(computesInBFloat16, bfloat16Length);
        }

        return buffer;
    }

    /// <summary>
    /// Casts the values of the parameters that compute in bfloat16 into their bfloat16 copies (one
    /// kernel; the cast rounds to nearest even, as <c>to(bfloat16)</c> does). Call it after anything
    /// writes <see cref="Values"/>: an optimizer's step, a checkpoint's weights copied in.
    /// </summary>
    public void RefreshBFloat16Values()
    {
        if (BFloat16Values is not { } copies)
        {
            return;
        }

        using IDisposable noGrad = no_grad();
        using Tensor span = Values.narrow(0, 0, copies.numel());
        copies.copy_(span);
    }

    /// <summary>
    /// Adds the bfloat16 gradients into their spans of <see cref="Gradients"/>, widened to float32
    /// (one kernel). Into zeroed gradients that gives each element exactly what autograd's cast back
    /// would have added (float32 of the bfloat16 gradient, added to zero); call it after the backward
    /// pass and before anything reads or reduces <see cref="Gradients"/>.
    /// </summary>
    public void CollectBFloat16Gradients()
    {
        if (BFloat16Gradients is not { } gradients)
        {
            return;
        }

        using IDisposable noGrad = no_grad();
        using Tensor span = Gradients.narrow(0, 0, gradients.numel());
        span.add_(gradients, One);
    }

    // The copies are plain leaves set_ onto views of the bfloat16 buffer, as the parameters are onto
    // the float32 one: autograd then accumulates into their gradient views in place, and no module
    // registers them.
    private void AddBFloat16Copies(bool[] computesInBFloat16, long length)
    {
        Device device = Values.device;
        BFloat16Values = zeros(length, ScalarType.BFloat16, device);
        BFloat16Gradients = zeros(length, ScalarType.BFloat16, device);
        using (no_grad())
        {
            for (int i = 0; i < Parameters.Count; i++)
            {
                if (!computesInBFloat16[i])
                {
                    continue;
                }

                using Tensor value = BFloat16View(BFloat16Values, i);
                using Tensor gradient = BFloat16View(BFloat16Gradients, i);
                Tensor copy = empty(0, ScalarType.BFloat16, device);
                copy.set_(value);
                copy.requires_grad_(true);
                copy.grad = gradient;
                _bfloat16Copies[i] = copy;
            }
        }

        RefreshBFloat16Values();
    }

    private Tensor BFloat16View(Tensor flat, int index)
    {
        Parameter parameter = Parameters[index];
        return flat.as_strided(parameter.shape, parameter.stride(), _offsets[index]);
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

    /// <summary>Zeroes every gradient in place (one kernel, two with bfloat16 gradients), keeping them views of the buffers.</summary>
    public void ZeroGradients()
    {
        using Tensor zeroed = Gradients.zero_();
        using Tensor? zeroedBFloat16 = BFloat16Gradients?.zero_();
    }

    /// <summary>Releases this object's handles on the buffers and the bfloat16 copies; the parameters keep their storage alive.</summary>
    public void Dispose()
    {
        Values.Dispose();
        Gradients.Dispose();
        BFloat16Values?.Dispose();
        BFloat16Gradients?.Dispose();
        foreach (Tensor? copy in _bfloat16Copies)
        {
            copy?.Dispose();
        }
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
