namespace MLNet.BNInception.Tests;

/// <summary>
/// Marks a test or fixture that trains a network, itself or through a shared trained fixture it is
/// the first to ask for: NUnit category <c>Trains</c>. <c>bash build/test.sh --fast</c> leaves these
/// out, so the inner loop runs every test that trains nothing (build/test.sh says how long that may
/// take); the whole suite, which CI runs, includes them.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class TrainsAttribute : CategoryAttribute
{
    /// <summary>The category's name, as <c>dotnet test --filter TestCategory=Trains</c> selects it.</summary>
    public const string Category = "Trains";

    /// <summary>Puts the test in the <c>Trains</c> category.</summary>
    public TrainsAttribute()
        : base(Category)
    {
    }
}
