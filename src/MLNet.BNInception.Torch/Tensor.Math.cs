using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public sealed partial class Tensor
{
    private Tensor Unary(UnaryOp op) => NativeStatus.Tensor(NativeMethods.bni_unary((int)op, Handle, out IntPtr r), r);

    private Tensor UnaryInPlace(UnaryOp op)
    {
        NativeStatus.Check(NativeMethods.bni_unary_((int)op, Handle));
        return this;
    }

    private Tensor Binary(BinaryOp op, Tensor other) =>
        NativeStatus.Tensor(NativeMethods.bni_binary((int)op, Handle, other.Handle, out IntPtr r), r);

    private Tensor Binary(BinaryOp op, double other) =>
        NativeStatus.Tensor(NativeMethods.bni_binary_scalar((int)op, Handle, other, out IntPtr r), r);

    private Tensor BinaryInPlace(BinaryOp op, Tensor other)
    {
        NativeStatus.Check(NativeMethods.bni_binary_((int)op, Handle, other.Handle));
        return this;
    }

    private Tensor BinaryInPlace(BinaryOp op, double other)
    {
        NativeStatus.Check(NativeMethods.bni_binary_scalar_((int)op, Handle, other));
        return this;
    }

    private Tensor Reduce(ReduceOp op, long[]? dims, bool keepdim)
    {
        dims ??= [];
        return NativeStatus.Tensor(NativeMethods.bni_reduce((int)op, Handle, dims, dims.Length, keepdim ? 1 : 0, out IntPtr r), r);
    }

    /// <summary>Elementwise -x.</summary>
    public Tensor neg() => Unary(UnaryOp.Neg);

    /// <summary>Elementwise e^x.</summary>
    public Tensor exp() => Unary(UnaryOp.Exp);

    /// <summary>Elementwise natural logarithm.</summary>
    public Tensor log() => Unary(UnaryOp.Log);

    /// <summary>Elementwise square root.</summary>
    public Tensor sqrt() => Unary(UnaryOp.Sqrt);

    /// <summary>Elementwise 1/sqrt(x).</summary>
    public Tensor rsqrt() => Unary(UnaryOp.Rsqrt);

    /// <summary>Elementwise |x|.</summary>
    public Tensor abs() => Unary(UnaryOp.Abs);

    /// <summary>Elementwise x².</summary>
    public Tensor square() => Unary(UnaryOp.Square);

    /// <summary>Elementwise sign: -1, 0 or 1.</summary>
    public Tensor sign() => Unary(UnaryOp.Sign);

    /// <summary>Elementwise floor.</summary>
    public Tensor floor() => Unary(UnaryOp.Floor);

    /// <summary>Elementwise 1/x.</summary>
    public Tensor reciprocal() => Unary(UnaryOp.Reciprocal);

    /// <summary>Elementwise max(x, 0).</summary>
    public Tensor relu() => Unary(UnaryOp.Relu);

    /// <summary>Elementwise 1/(1+e^-x).</summary>
    public Tensor sigmoid() => Unary(UnaryOp.Sigmoid);

    /// <summary>Elementwise hyperbolic tangent.</summary>
    public Tensor tanh() => Unary(UnaryOp.Tanh);

    /// <summary>Boolean tensor: true where the element is neither infinite nor NaN.</summary>
    public Tensor isfinite() => Unary(UnaryOp.IsFinite);

    /// <summary>max(x, 0) in place.</summary>
    public Tensor relu_() => UnaryInPlace(UnaryOp.Relu);

    /// <summary>Sigmoid in place.</summary>
    public Tensor sigmoid_() => UnaryInPlace(UnaryOp.Sigmoid);

    /// <summary>Square root in place.</summary>
    public Tensor sqrt_() => UnaryInPlace(UnaryOp.Sqrt);

    /// <summary>Elementwise sum (broadcast).</summary>
    public Tensor add(Tensor other) => Binary(BinaryOp.Add, other);

    /// <summary>Elementwise difference (broadcast).</summary>
    public Tensor sub(Tensor other) => Binary(BinaryOp.Sub, other);

    /// <summary>Elementwise product (broadcast).</summary>
    public Tensor mul(Tensor other) => Binary(BinaryOp.Mul, other);

    /// <summary>Elementwise true division (broadcast).</summary>
    public Tensor div(Tensor other) => Binary(BinaryOp.Div, other);

    /// <summary>Elementwise power (broadcast).</summary>
    public Tensor pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);

    /// <summary>Elementwise x^<paramref name="exponent"/>.</summary>
    public Tensor pow(double exponent) => Binary(BinaryOp.Pow, exponent);

    /// <summary>Elementwise maximum (broadcast).</summary>
    public Tensor maximum(Tensor other) => Binary(BinaryOp.Maximum, other);

    /// <summary>Elementwise minimum (broadcast).</summary>
    public Tensor minimum(Tensor other) => Binary(BinaryOp.Minimum, other);

    /// <summary>Elementwise x == y, as booleans.</summary>
    public Tensor eq(Tensor other) => Binary(BinaryOp.Eq, other);

    /// <summary>Elementwise x == <paramref name="other"/>, as booleans.</summary>
    public Tensor eq(double other) => Binary(BinaryOp.Eq, other);

    /// <summary>Elementwise x != y, as booleans.</summary>
    public Tensor ne(Tensor other) => Binary(BinaryOp.Ne, other);

    /// <summary>Elementwise x &lt; y, as booleans.</summary>
    public Tensor lt(Tensor other) => Binary(BinaryOp.Lt, other);

    /// <summary>Elementwise x &lt; <paramref name="other"/>, as booleans.</summary>
    public Tensor lt(double other) => Binary(BinaryOp.Lt, other);

    /// <summary>Elementwise x &lt;= y, as booleans.</summary>
    public Tensor le(Tensor other) => Binary(BinaryOp.Le, other);

    /// <summary>Elementwise x &gt; y, as booleans.</summary>
    public Tensor gt(Tensor other) => Binary(BinaryOp.Gt, other);

    /// <summary>Elementwise x &gt; <paramref name="other"/>, as booleans.</summary>
    public Tensor gt(double other) => Binary(BinaryOp.Gt, other);

    /// <summary>Elementwise x &gt;= y, as booleans.</summary>
    public Tensor ge(Tensor other) => Binary(BinaryOp.Ge, other);

    /// <summary>Adds <paramref name="other"/> in place.</summary>
    public Tensor add_(Tensor other) => BinaryInPlace(BinaryOp.Add, other);

    /// <summary>Adds <paramref name="alpha"/>·<paramref name="other"/> in place.</summary>
    public Tensor add_(Tensor other, double alpha)
    {
        NativeStatus.Check(NativeMethods.bni_add_scaled_(Handle, other.Handle, alpha));
        return this;
    }

    /// <summary>Adds a scalar in place.</summary>
    public Tensor add_(double other) => BinaryInPlace(BinaryOp.Add, other);

    /// <summary>Subtracts <paramref name="other"/> in place.</summary>
    public Tensor sub_(Tensor other) => BinaryInPlace(BinaryOp.Sub, other);

    /// <summary>Multiplies by <paramref name="other"/> in place.</summary>
    public Tensor mul_(Tensor other) => BinaryInPlace(BinaryOp.Mul, other);

    /// <summary>Multiplies by a scalar in place.</summary>
    public Tensor mul_(double other) => BinaryInPlace(BinaryOp.Mul, other);

    /// <summary>Divides by <paramref name="other"/> in place.</summary>
    public Tensor div_(Tensor other) => BinaryInPlace(BinaryOp.Div, other);

    /// <summary>Divides by a scalar in place.</summary>
    public Tensor div_(double other) => BinaryInPlace(BinaryOp.Div, other);

    /// <summary>Each element limited to [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public Tensor clamp(double min, double max) => NativeStatus.Tensor(NativeMethods.bni_clamp(Handle, min, max, out IntPtr r), r);

    /// <summary>Matrix product with PyTorch's broadcasting rules.</summary>
    public Tensor matmul(Tensor other) => NativeStatus.Tensor(NativeMethods.bni_matmul(Handle, other.Handle, out IntPtr r), r);

    /// <summary>Sum over <paramref name="dims"/> (all dimensions when null).</summary>
    public Tensor sum(long[]? dims = null, bool keepdim = false) => Reduce(ReduceOp.Sum, dims, keepdim);

    /// <summary>Mean over <paramref name="dims"/> (all dimensions when null).</summary>
    public Tensor mean(long[]? dims = null, bool keepdim = false) => Reduce(ReduceOp.Mean, dims, keepdim);

    /// <summary>Maximum over <paramref name="dims"/> (all dimensions when null).</summary>
    public Tensor amax(long[]? dims = null, bool keepdim = false) => Reduce(ReduceOp.Amax, dims, keepdim);

    /// <summary>Minimum over <paramref name="dims"/> (all dimensions when null).</summary>
    public Tensor amin(long[]? dims = null, bool keepdim = false) => Reduce(ReduceOp.Amin, dims, keepdim);

    /// <summary>Variance over <paramref name="dims"/> (all when null); unbiased divides by n-1.</summary>
    public Tensor var(long[]? dims = null, bool unbiased = true, bool keepdim = false)
    {
        dims ??= [];
        return NativeStatus.Tensor(NativeMethods.bni_var(Handle, dims, dims.Length, unbiased ? 1 : 0, keepdim ? 1 : 0, out IntPtr r), r);
    }

    /// <summary>Maximum along <paramref name="dim"/> with the index where it occurs.</summary>
    public (Tensor values, Tensor indices) max(long dim, bool keepdim = false)
    {
        NativeStatus.Check(NativeMethods.bni_max_dim(Handle, dim, keepdim ? 1 : 0, out IntPtr values, out IntPtr indices));
        return (new Tensor(values), new Tensor(indices));
    }

    /// <summary>Index of the maximum along <paramref name="dim"/>.</summary>
    public Tensor argmax(long dim, bool keepdim = false) =>
        NativeStatus.Tensor(NativeMethods.bni_argmax(Handle, dim, keepdim ? 1 : 0, out IntPtr r), r);

    /// <summary>The <paramref name="k"/> largest (or smallest) entries along <paramref name="dim"/> and their indices.</summary>
    public (Tensor values, Tensor indices) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        NativeStatus.Check(NativeMethods.bni_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out IntPtr values, out IntPtr indices));
        return (new Tensor(values), new Tensor(indices));
    }

#pragma warning disable CS1591 // operators mean what their names say
    public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
    public static Tensor operator +(Tensor a, double b) => a.Binary(BinaryOp.Add, b);
    public static Tensor operator +(double a, Tensor b) => b.Binary(BinaryOp.Add, a);
    public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
    public static Tensor operator -(Tensor a, double b) => a.Binary(BinaryOp.Sub, b);
    public static Tensor operator -(double a, Tensor b)
    {
        using Tensor negated = b.neg();
        return negated.Binary(BinaryOp.Add, a);
    }

    public static Tensor operator -(Tensor a) => a.neg();
    public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
    public static Tensor operator *(Tensor a, double b) => a.Binary(BinaryOp.Mul, b);
    public static Tensor operator *(double a, Tensor b) => b.Binary(BinaryOp.Mul, a);
    public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
    public static Tensor operator /(Tensor a, double b) => a.Binary(BinaryOp.Div, b);
    public static Tensor operator /(double a, Tensor b)
    {
        using Tensor inverse = b.reciprocal();
        return inverse.Binary(BinaryOp.Mul, a);
    }
#pragma warning restore CS1591
}
