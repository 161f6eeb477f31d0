using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>evaluate</c>'s text prints ML.NET's confusion table up to 20 classes, and past that the most
/// frequent confusions, counted here by hand from the rows, instead of a table of every cell.
/// </summary>
public class ConfusionTableTests
{
    [Test]
    public void UpToTwentyClassesTheTableIsMLNetsOwn()
    {
        (int Label, int Predicted)[] rows = [.. Correct(20, each: 2), (3, 7), (3, 7), (1, 2)];
        ConfusionMatrix confusion = ConfusionOf(20, rows);

        string text = ConfusionTable.Text(confusion, Names(20));

        Assert.That(text, Is.EqualTo(confusion.GetFormattedConfusionTable()));
        Assert.That(text, Does.Contain("Confusion table"), "ML.NET's table, all of its cells");
    }

    [Test]
    public void PastTwentyClassesTheMostFrequentConfusionsAreListedLargestFirstTiesInTableOrder()
    {
        // 25 classes, 4 rows of each right, then confusions of known counts: 3 -> 7 five times,
        // 10 -> 2 and 1 -> 2 three times each (a tie: the label earlier in the table first), and ten
        // more confusions once each, of which the list has room for seven.
        var rows = new List<(int, int)>(Correct(25, each: 4));
        rows.AddRange(Enumerable.Repeat((3, 7), 5));
        rows.AddRange(Enumerable.Repeat((10, 2), 3));
        rows.AddRange(Enumerable.Repeat((1, 2), 3));
        rows.Add((24, 0));
        rows.Add((1, 3));
        rows.AddRange(Enumerable.Range(11, 8).Select(label => (label, label + 1)));
        string[] names = Names(25);
        names[1] = "Ankle\nboot's";

        string text = ConfusionTable.Text(ConfusionOf(25, [.. rows]), names);

        Assert.That(text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            "The confusion table of 25 classes is not printed (25 x 25 cells; --json writes its counts).",
            "The 10 most frequent confusions, label -> predicted: rows",
            "  'class 3' -> 'class 7': 5",
            @"  'Ankle\x0Aboot\'s' -> 'class 2': 3",
            "  'class 10' -> 'class 2': 3",
            @"  'Ankle\x0Aboot\'s' -> 'class 3': 1",
            "  'class 11' -> 'class 12': 1",
            "  'class 12' -> 'class 13': 1",
            "  'class 13' -> 'class 14': 1",
            "  'class 14' -> 'class 15': 1",
            "  'class 15' -> 'class 16': 1",
            "  'class 16' -> 'class 17': 1",
        }));
    }

    [Test]
    public void UpToTwentyClassesANameThatWouldNotPrintAsItIsGivesEveryConfusionWithTheNameEscaped()
    {
        // ML.NET's table prints a name as it is: the right-to-left override would show the rest of
        // its line reversed, "shirt" as "exe.txt" and the counts after it backwards. Eleven
        // confusions of 12 classes: more than the list of a larger table holds, all of them here.
        (int Label, int Predicted)[] rows = [.. Correct(12, each: 2), (1, 2), (1, 2), (0, 1), .. Enumerable.Range(3, 9).Select(label => (label, label - 1))];
        string[] names = ["sandal", "shirt\u202Etxt.exe", "boot", .. Enumerable.Range(3, 9).Select(i => $"class {i}")];

        string text = ConfusionTable.Text(ConfusionOf(12, rows), names);

        string[] expected =
        [
            "The confusion table is not printed: a class name holds a control or bidirectional formatting character, which it would print as it is (--json writes its counts).",
            "Every confusion, the most frequent first, label -> predicted: rows",
            @"  'shirt\u202Etxt.exe' -> 'boot': 2",
            @"  'sandal' -> 'shirt\u202Etxt.exe': 1",
            "  'class 3' -> 'boot': 1",
            .. Enumerable.Range(4, 8).Select(label => $"  'class {label}' -> 'class {label - 1}': 1"),
        ];
        Assert.That(text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(expected));
    }

    [Test]
    public void PastTwentyClassesWithNoConfusionItSaysSo()
    {
        string text = ConfusionTable.Text(ConfusionOf(21, Correct(21, each: 1)), Names(21));

        Assert.That(text, Does.Contain("No row was predicted as a class other than its label."));
    }

    private static (int Label, int Predicted)[] Correct(int classes, int each) =>
        [.. Enumerable.Range(0, classes).SelectMany(label => Enumerable.Repeat((label, label), each))];

    private static string[] Names(int classes) => [.. Enumerable.Range(0, classes).Select(i => $"class {i}")];

    private sealed class Row
    {
        public float Label { get; set; }

        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }

    // ML.NET's own evaluation of rows whose scores put all but 0.1 on the predicted class.
    private static ConfusionMatrix ConfusionOf(int classes, (int Label, int Predicted)[] rows)
    {
        var ml = new MLContext(seed: 0);
        SchemaDefinition schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.PredictedLabel)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        schema[nameof(Row.Score)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, classes);
        IDataView data = ml.Data.LoadFromEnumerable(rows.Select(row => new Row
        {
            // The label as the class's index, which the evaluator takes as it is; the predicted label
            // a key, counting from 1 (0 is a missing value).
            Label = row.Label,
            PredictedLabel = (uint)row.Predicted + 1,
            Score = [.. Enumerable.Range(0, classes).Select(i => i == row.Predicted ? 0.9f : 0.1f / (classes - 1))],
        }), schema);
        return ml.MulticlassClassification.Evaluate(data).ConfusionMatrix;
    }
}
