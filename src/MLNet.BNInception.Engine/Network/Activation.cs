namespace MLNet.BNInception.Engine.Network;

/// <summary>The nonlinearity after every convolution (and its BN).</summary>
public enum Activation
{
    /// <summary>max(x, 0): the paper's network.</summary>
    Relu,

    /// <summary>1/(1+e^-x): the paper's BN-x5-Sigmoid experiment.</summary>
    Sigmoid,
}
