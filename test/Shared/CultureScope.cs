using System.Globalization;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Makes a culture the current one of the test's thread until disposed, then gives back the one
/// before: for tests that a program or the library writes and reads numbers alike whatever the
/// culture its caller runs in.
/// </summary>
internal sealed class CultureScope : IDisposable
{
    private readonly CultureInfo _before = CultureInfo.CurrentCulture;

    /// <summary>Makes <paramref name="culture"/> current.</summary>
    public CultureScope(CultureInfo culture) => CultureInfo.CurrentCulture = culture;

    /// <summary>
    /// de-DE, as LANG=de_DE.UTF-8 gives a program: a comma for decimals and a point between
    /// thousands. Checked to write 1,5 (the machine's ICU data), or a test in it would prove nothing.
    /// </summary>
    public static CultureScope German()
    {
        var scope = new CultureScope(CultureInfo.GetCultureInfo("de-DE"));
        Assert.That(1.5.ToString(CultureInfo.CurrentCulture), Is.EqualTo("1,5"), "this machine's ICU writes German numbers with a decimal comma");
        return scope;
    }

    /// <inheritdoc/>
    public void Dispose() => CultureInfo.CurrentCulture = _before;
}
