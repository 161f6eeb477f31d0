using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// What a message quotes from a file or a model prints as one line that shows what it holds: control
/// characters as \xNN, and Unicode's line and paragraph separators and the characters that reorder a
/// line on a terminal applying Unicode's bidirectional algorithm as \uNNNN (the list of
/// CVE-2021-42574, "Trojan Source"); every other character, accented or not, as it is.
/// </summary>
public class PrintableTests
{
    // Each character that embeds, overrides or isolates a direction, or marks one.
    private static readonly char[] DirectionCharacters =
        ['\u061C', '\u200E', '\u200F', '\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069'];

    [Test]
    public void DirectionCharactersAreEscapedByTheirCodePoints([ValueSource(nameof(DirectionCharacters))] char direction)
    {
        string escaped = Printable.Escaped($"a{direction}b");

        Assert.That(escaped, Is.EqualTo($@"a\u{(int)direction:X4}b"));
        Assert.That(Printable.IsPlain($"a{direction}b"), Is.False);
    }

    [Test]
    public void ControlCharactersAndLineSeparatorsAreEscapedAndOtherCharactersKept()
    {
        Assert.That(Printable.Escaped("Ankle\nboot\u0085\u007F"), Is.EqualTo(@"Ankle\x0Aboot\x85\x7F"));
        // Unicode's line and paragraph separators are no control characters, but break a line in some viewers.
        Assert.That(Printable.Escaped("one\u2028two\u2029"), Is.EqualTo(@"one\u2028two\u2029"));
        // Letters of right-to-left scripts are not formatting characters: a Hebrew or Arabic class name prints as it is.
        const string Kept = "T-shirt/top Ärmel 💩 שמלה فستان zero\u200Bwidth";
        Assert.That(Printable.Escaped(Kept), Is.SameAs(Kept));
        Assert.That(Printable.IsPlain(Kept), Is.True);
    }

    [Test]
    public void AQuotedNameEscapesItsQuotesBackslashesAndDirectionCharacters()
    {
        Assert.That(Printable.QuotedName("boot's\\\u202Etxt.exe"), Is.EqualTo(@"'boot\'s\\\u202Etxt.exe'"));
    }

    [Test]
    public void ContentCountsAnEscapeWholeAgainstItsLimit()
    {
        string content = new string('a', 114) + "\u202Ebc";

        // 114 characters and the six of \u202E make 120: the limit, then "…" for what is left.
        Assert.That(Printable.Content(content, 120), Is.EqualTo(new string('a', 114) + @"\u202E…"));
        // One fewer: the escape is not cut in two.
        Assert.That(Printable.Content(content, 119), Is.EqualTo(new string('a', 114) + "…"));
        Assert.That(Printable.Content("\u2066x\t", 120), Is.EqualTo(@"\u2066x\x09"));
    }

    [Test]
    public void InfoEscapesWhatTheModelFileSays()
    {
        // Every line but the first two comes from the model file, which may have come from anywhere.
        var model = new InfoCommand.ModelDescription("down\u202Eload.zip", 38_000_000, ["Onnx\u2066Transformer"], ["Image\nPath", "Label"], "Image\nPath",
            "/data/\u202Eimages", ["resize\u202D"], "Feat\u2028ures", 1, 64, 64, 2, ["a", "b\u202E"], "BN", "Relu", null, 13,
            new Dictionary<string, string> { ["tool"] = "0.1.0\u202E" });

        string[] lines = model.ToText().Split(Environment.NewLine);

        Assert.That(lines, Has.Length.EqualTo(8), "one line each, the line break in a column name escaped");
        Assert.That(lines.SelectMany(line => line).Where(c => c is '\n' or '\u2028' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069')), Is.Empty);
        Assert.That(lines[0], Does.StartWith(@"model          down\u202Eload.zip ("));
        Assert.That(lines[3], Is.EqualTo(@"images         paths in 'Image\x0APath', relative to '/data/\u202Eimages'"));
        Assert.That(lines[6], Is.EqualTo(@"classes        'a', 'b\u202E'"));
    }

    [Test]
    public void ClassNamesListsTheFirst20QuotedAndCountsTheRest()
    {
        // A model of ImageNet's 1,000 classes made evaluate's refusal a line of 62 KB.
        string[] thousand = [.. Enumerable.Range(0, 1000).Select(i => $"n{i:D8}")];
        string[] ten = [.. Enumerable.Range(0, 10).Select(i => $"it's {i}")];

        Assert.That(Printable.ClassNames(thousand), Is.EqualTo(
            string.Join(", ", thousand.Take(20).Select(name => $"'{name}'")) + ", … and 980 more classes; `bninception info` lists them all"));
        Assert.That(Printable.ClassNames(ten), Is.EqualTo(string.Join(", ", ten.Select(Printable.QuotedName))));
        Assert.That(Printable.ClassNames(thousand.Take(20).ToArray()), Does.Not.Contain("more classes"));
    }
}
