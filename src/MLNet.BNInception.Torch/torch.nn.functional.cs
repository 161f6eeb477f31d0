using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public static partial class torch
{
    /// <summary>Neural-network layers and functions, as PyTorch's <c>torch.nn</c>.</summary>
    public static partial class nn
    {
        /// <summary>Stateless layer operations, as PyTorch's <c>torch.nn.functional</c>.</summary>
        public static class functional
        {
            /// <summary>2-D convolution of NCHW <paramref name="input"/> with OIHW <paramref name="weight"/>.</summary>
            /// <param name="input">N×C×H×W.</param>
            /// <param name="weight">O×(C/groups)×kH×kW.</param>
            /// <param name="bias">O values, or null for none.</param>
            /// <param name="stride">One value for both axes or (height, width); default 1.</param>
            /// <param name="padding">Zero padding, one value or (height, width); default 0.</param>
            /// <param name="dilation">Kernel dilation, one value or (height, width); default 1.</param>
            /// <param name="groups">Number of channel groups; default 1.</param>
            public static Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? stride = null,
                long[]? padding = null, long[]? dilation = null, long groups = 1) =>
                NativeStatus.Tensor(NativeMethods.bni_conv2d(input.Handle, weight.Handle, bias?.Handle ?? TensorHandle.Null,
                    Pair(stride, 1, nameof(stride)), Pair(padding, 0, nameof(padding)), Pair(dilation, 1, nameof(dilation)),
                    groups, out IntPtr r), r);

            /// <summary>
            /// Batch normalization over the channel dimension (dimension 1). In training the batch
            /// statistics normalise and, when given, the running statistics are updated in place:
            /// running = (1 - momentum)·running + momentum·batch, with the unbiased batch variance.
            /// In eval the running statistics normalise.
            /// </summary>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null,
                Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
            {
                if (!training && (running_mean is null || running_var is null))
                {
                    throw new ArgumentException("batch_norm in eval mode needs running_mean and running_var.");
                }

                return NativeStatus.Tensor(NativeMethods.bni_batch_norm(input.Handle, weight?.Handle ?? TensorHandle.Null,
                    bias?.Handle ?? TensorHandle.Null, running_mean?.Handle ?? TensorHandle.Null,
                    running_var?.Handle ?? TensorHandle.Null, training ? 1 : 0, momentum, eps, out IntPtr r), r);
            }

            /// <summary>max(x, 0).</summary>
            public static Tensor relu(Tensor input) => input.relu();

            /// <summary>1/(1+e^-x).</summary>
            public static Tensor sigmoid(Tensor input) => input.sigmoid();

            /// <summary>2-D max pooling; <paramref name="stride"/> defaults to the kernel size.</summary>
            public static Tensor max_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                long[]? dilation = null, bool ceil_mode = false)
            {
                long[] kernel = Pair(kernel_size, 1, nameof(kernel_size));
                return NativeStatus.Tensor(NativeMethods.bni_max_pool2d(input.Handle, kernel, stride is null ? kernel : Pair(stride, 1, nameof(stride)),
                    Pair(padding, 0, nameof(padding)), Pair(dilation, 1, nameof(dilation)), ceil_mode ? 1 : 0, out IntPtr r), r);
            }

            /// <summary>2-D average pooling; <paramref name="stride"/> defaults to the kernel size.</summary>
            public static Tensor avg_pool2d(Tensor input, long[] kernel_size, long[]? stride = null, long[]? padding = null,
                bool ceil_mode = false, bool count_include_pad = true)
            {
                long[] kernel = Pair(kernel_size, 1, nameof(kernel_size));
                return NativeStatus.Tensor(NativeMethods.bni_avg_pool2d(input.Handle, kernel, stride is null ? kernel : Pair(stride, 1, nameof(stride)),
                    Pair(padding, 0, nameof(padding)), ceil_mode ? 1 : 0, count_include_pad ? 1 : 0, out IntPtr r), r);
            }

            /// <summary>Average pooling to a fixed output size, one value or (height, width).</summary>
            public static Tensor adaptive_avg_pool2d(Tensor input, long[] output_size) =>
                NativeStatus.Tensor(NativeMethods.bni_adaptive_avg_pool2d(input.Handle, Pair(output_size, 1, nameof(output_size)), out IntPtr r), r);

            /// <summary>x·Wᵀ + b.</summary>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) =>
                NativeStatus.Tensor(NativeMethods.bni_linear(input.Handle, weight.Handle, bias?.Handle ?? TensorHandle.Null, out IntPtr r), r);

            /// <summary>In training, zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1-p).</summary>
            public static Tensor dropout(Tensor input, double p = 0.5, bool training = true)
            {
                if (p is < 0 or > 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be between 0 and 1");
                }

                return NativeStatus.Tensor(NativeMethods.bni_dropout(input.Handle, p, training ? 1 : 0, out IntPtr r), r);
            }

            /// <summary>Softmax along <paramref name="dim"/>.</summary>
            public static Tensor softmax(Tensor input, long dim) =>
                NativeStatus.Tensor(NativeMethods.bni_softmax(input.Handle, dim, out IntPtr r), r);

            /// <summary>Logarithm of the softmax along <paramref name="dim"/>, computed stably.</summary>
            public static Tensor log_softmax(Tensor input, long dim) =>
                NativeStatus.Tensor(NativeMethods.bni_log_softmax(input.Handle, dim, out IntPtr r), r);

            /// <summary>
            /// Cross-entropy between logits (N×C) and int64 class indices (N), as PyTorch computes it.
            /// With <paramref name="label_smoothing"/> ε the target is (1-ε)·one-hot + ε/C.
            /// </summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean, double label_smoothing = 0)
            {
                if (label_smoothing is < 0 or > 1)
                {
                    throw new ArgumentOutOfRangeException(nameof(label_smoothing), label_smoothing, "label smoothing must be between 0 and 1");
                }

                return NativeStatus.Tensor(NativeMethods.bni_cross_entropy(input.Handle, target.Handle, weight?.Handle ?? TensorHandle.Null,
                    (long)reduction, ignore_index, label_smoothing, out IntPtr r), r);
            }

            /// <summary>
            /// Resizes NCHW <paramref name="input"/> to <paramref name="size"/> (height, width). Only
            /// "bilinear" is supported; <paramref name="antialias"/> low-pass filters when shrinking,
            /// as PIL and torchvision do.
            /// </summary>
            public static Tensor interpolate(Tensor input, long[] size, string mode = "bilinear", bool align_corners = false,
                bool antialias = false)
            {
                if (mode != "bilinear")
                {
                    throw new NotSupportedException($"interpolate mode '{mode}' is not supported; use \"bilinear\".");
                }

                return NativeStatus.Tensor(NativeMethods.bni_interpolate_bilinear(input.Handle, Pair(size, 1, nameof(size)),
                    align_corners ? 1 : 0, antialias ? 1 : 0, out IntPtr r), r);
            }

            // PyTorch accepts one value for both spatial axes or a (height, width) pair.
            private static long[] Pair(long[]? values, long fallback, string name) => values switch
            {
                null => [fallback, fallback],
                [var both] => [both, both],
                [_, _] => values,
                _ => throw new ArgumentException($"{name} takes one value or two (height, width), not {values.Length}.", name),
            };
        }
    }
}
