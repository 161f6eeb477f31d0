using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>The one CSV field quoting, against RFC 4180's rules written out by hand.</summary>
public class CsvTextTests
{
    [TestCase("t10k/0.png", "t10k/0.png")]
    [TestCase("", "")]
    [TestCase(" leading and trailing spaces ", "\" leading and trailing spaces \"", Description = "ML.NET's text loader passes over a leading space unquoted")]
    [TestCase("trailing spaces ", "trailing spaces ", Description = "spaces are part of a field to RFC 4180, and ML.NET keeps those at the end")]
    [TestCase("T-shirt, top", "\"T-shirt, top\"")]
    [TestCase("a \"quoted\" word", "\"a \"\"quoted\"\" word\"")]
    [TestCase("\"", "\"\"\"\"")]
    [TestCase("two\nlines", "\"two\nlines\"")]
    [TestCase("carriage\rreturn", "\"carriage\rreturn\"")]
    [TestCase("semi;colon", "semi;colon", Description = "only the separator in use is quoted")]
    public void AFieldIsQuotedOnlyWhenItHoldsTheSeparatorAQuoteOrALineBreakOrStartsWithASpace(string value, string written)
    {
        Assert.That(CsvText.Field(value), Is.EqualTo(written));
    }

    [Test]
    public void TheSeparatorInUseIsTheOneThatIsQuoted()
    {
        Assert.That(CsvText.Record(["a;b", "c,d", "e\tf"], ';'), Is.EqualTo("\"a;b\";c,d;e\tf"));
        Assert.That(CsvText.Record(["a;b", "c,d", "e\tf"], '\t'), Is.EqualTo("a;b\tc,d\t\"e\tf\""));
    }

    [Test]
    public void ARecordJoinsItsFieldsWithoutALineBreak()
    {
        Assert.That(CsvText.Record(["ImagePath", "Label"]), Is.EqualTo("ImagePath,Label"));
        Assert.That(CsvText.Record(["x", "", "say \"hi\", then go"]), Is.EqualTo("x,,\"say \"\"hi\"\", then go\""));
        Assert.That(CsvText.Record([]), Is.Empty);
    }
}
