namespace MLNet.BNInception.Torch;

/// <summary>Element types of a tensor. The values are libtorch's <c>c10::ScalarType</c> codes.</summary>
#pragma warning disable CA1028 // the underlying type matches the native int8 code
public enum ScalarType : sbyte
#pragma warning restore CA1028
{
    /// <summary>Unsigned 8-bit integer (<see cref="byte"/>).</summary>
    UInt8 = 0,

    /// <summary>Signed 8-bit integer (<see cref="sbyte"/>).</summary>
    Int8 = 1,

    /// <summary>Signed 16-bit integer (<see cref="short"/>).</summary>
    Int16 = 2,

    /// <summary>Signed 32-bit integer (<see cref="int"/>).</summary>
    Int32 = 3,

    /// <summary>Signed 64-bit integer (<see cref="long"/>); the type of class labels and indices.</summary>
    Int64 = 4,

    /// <summary>IEEE half precision (<see cref="Half"/>).</summary>
    Float16 = 5,

    /// <summary>IEEE single precision (<see cref="float"/>); the default for weights and images.</summary>
    Float32 = 6,

    /// <summary>IEEE double precision (<see cref="double"/>).</summary>
    Float64 = 7,

    /// <summary>Boolean, one byte per element (<see cref="bool"/>).</summary>
    Bool = 11,

    /// <summary>Brain floating point, 16 bits; no managed element type.</summary>
    BFloat16 = 15,
}
