using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Tests;

/// <summary>
/// What the project writes to CSV files (score's predictions, the demo's lists, training curves) read back by
/// ML.NET's text loader, as an ML.NET user reads such a file: every value comes back as it was written.
/// </summary>
public class CsvTextRoundTripTests
{
    private static readonly string[] Values =
    [
        "Dress", " Dress", "  two spaces first", "trailing space ", "T-shirt, top", "a \"quoted\" word", "two\nlines", "\"", "#hash", "x",
    ];

    [Test]
    public void MLNetsTextLoaderReadsBackEveryValueAsItWasWritten()
    {
        using var work = new TemporaryDirectory();
        string path = work.File("values.csv");
        File.WriteAllText(path, string.Join('\n', ["Row,Value", .. Values.Select((value, row) => CsvText.Record([row.ToString(System.Globalization.CultureInfo.InvariantCulture), value]))]) + "\n");

        IDataView read = new MLContext().Data.CreateTextLoader(new TextLoader.Options
        {
            Separators = [','],
            HasHeader = true,
            AllowQuoting = true,
            ReadMultilines = true,
            Columns = [new TextLoader.Column("Value", DataKind.String, 1)],
        }).Load(path);

        Assert.That(read.GetColumn<string>("Value").ToArray(), Is.EqualTo(Values));
    }
}
