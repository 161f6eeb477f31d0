namespace MLNet.BNInception.Torch.Interop;

// Operation codes of math.cpp; the order must match the enums there.
internal enum UnaryOp
{
    Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Rsqrt, Square, Sign, Floor, IsFinite, Reciprocal,
}

internal enum BinaryOp
{
    Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge,
}

internal enum ReduceOp
{
    Sum, Mean, Amax, Amin,
}
