using MLNet.BNInception.Images;

namespace MLNet.BNInception.Tests.Images;

/// <summary>One file (or path) the loader must refuse, the reason it must give, and a phrase its message must hold.</summary>
public sealed record DamagedImage(string Description, string RowPath, InvalidImageReason Reason, string Phrase)
{
    public override string ToString() => Description;
}
