namespace MLNet.BNInception.Torch;

/// <summary>How a loss combines its per-example values. The values are libtorch's codes.</summary>
public enum Reduction
{
    /// <summary>One loss per example.</summary>
    None = 0,

    /// <summary>The mean over examples (weighted when class weights are given).</summary>
    Mean = 1,

    /// <summary>The sum over examples.</summary>
    Sum = 2,
}
