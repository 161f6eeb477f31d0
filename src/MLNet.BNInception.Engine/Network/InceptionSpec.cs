namespace MLNet.BNInception.Engine.Network;

/// <summary>How an inception module pools in its fourth branch.</summary>
public enum InceptionPool
{
    /// <summary>3×3 average pooling, stride 1, pad 1, padding counted, then a 1×1 projection.</summary>
    Average,

    /// <summary>3×3 max pooling, stride 1, pad 1, then a 1×1 projection (module 5b).</summary>
    Max,

    /// <summary>3×3 max pooling, stride 2, no padding, ceil mode, passed through unprojected (3c, 4e).</summary>
    MaxPassThrough,
}

/// <summary>
/// One row of the table of docs/paper.md §2: the channel counts of an inception module. A stride-2 module
/// (3c, 4e) has no 1×1 branch, reduces the grid in its 3×3 and double-3×3 branches, and passes its
/// max-pooled input through.
/// </summary>
/// <param name="Name">The stage name, e.g. "3a".</param>
/// <param name="InChannels">Input channels.</param>
/// <param name="Out1x1">Channels of the 1×1 branch; 0 for none.</param>
/// <param name="Reduce3x3">Channels of the 1×1 reduction before the 3×3 convolution.</param>
/// <param name="Out3x3">Channels of the 3×3 branch.</param>
/// <param name="ReduceDouble3x3">Channels of the 1×1 reduction before the two 3×3 convolutions.</param>
/// <param name="OutDouble3x3">Channels of both 3×3 convolutions of the double branch.</param>
/// <param name="Pool">The pooling branch.</param>
/// <param name="PoolProjection">Channels of the 1×1 projection after pooling; 0 for a pass-through.</param>
public sealed record InceptionSpec(
    string Name, int InChannels, int Out1x1, int Reduce3x3, int Out3x3, int ReduceDouble3x3, int OutDouble3x3,
    InceptionPool Pool, int PoolProjection)
{
    /// <summary>True for the grid-reducing modules 3c and 4e.</summary>
    public bool Reduces => Pool == InceptionPool.MaxPassThrough;

    /// <summary>Output channels: the branches concatenated.</summary>
    public int OutChannels => Out1x1 + Out3x3 + OutDouble3x3 + (Reduces ? InChannels : PoolProjection);
}
