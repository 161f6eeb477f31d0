using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>LoadFromTextFile: column mapping, quoting, errors that point at the bad field, and streaming.</summary>
[TestFixture]
public sealed class TextLoaderTests
{
    private TemporaryDirectory _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = new TemporaryDirectory();

    [TearDown]
    public void DeleteFolder() => _folder.Dispose();

    private string WriteFile(string name, string text)
    {
        string path = _folder.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void ReadsHeaderedQuotedCsvIntoRowClass()
    {
        string path = WriteFile("people.csv",
            "id,name,a,b,c,flag\n" +
            "1,\"Smith, John\",1.5,2.5,3.5,true\n" +
            "2,\"say \"\"hi\"\"\",-1,0,1e3,0\n" +
            "\n" +
            "   \n" +
            "3,plain,0.25,0.5,0.75,yes\n");
        var context = new MLContext();

        IDataView data = context.Data.LoadFromTextFile<PersonRow>(path, separatorChar: ',', hasHeader: true, allowQuoting: true);
        PersonRow[] rows = [.. context.Data.CreateEnumerable<PersonRow>(data, reuseRowObject: false)];

        Assert.Multiple(() =>
        {
            Assert.That(data.Schema.Select(column => column.Name), Is.EqualTo(new[] { "Id", "Name", "Features", "Flag" }));
            Assert.That(data.Schema["Features"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 3)));
            Assert.That(rows.Select(row => row.Id), Is.EqualTo(new[] { 1, 2, 3 }), "the two blank lines are skipped");
            Assert.That(rows.Select(row => row.Name), Is.EqualTo(new[] { "Smith, John", "say \"hi\"", "plain" }));
            Assert.That(rows[0].Features, Is.EqualTo(new[] { 1.5f, 2.5f, 3.5f }));
            Assert.That(rows[1].Features, Is.EqualTo(new[] { -1f, 0f, 1000f }));
            Assert.That(rows[2].Features, Is.EqualTo(new[] { 0.25f, 0.5f, 0.75f }));
            Assert.That(rows.Select(row => row.Flag), Is.EqualTo(new[] { true, false, true }));
        });
    }

    [Test]
    public void WithoutQuotingQuotesAreOrdinaryCharacters()
    {
        string path = WriteFile("plain.csv", "\"a,b\"\n");
        var context = new MLContext();

        IDataView data = context.Data.LoadFromTextFile(path,
            [new TextLoader.Column("First", DataKind.String, 0), new TextLoader.Column("Second", DataKind.String, 1)], separatorChar: ',');

        Assert.Multiple(() =>
        {
            Assert.That(data.GetColumn<ReadOnlyMemory<char>>("First").Select(text => text.ToString()), Is.EqualTo(new[] { "\"a" }));
            Assert.That(data.GetColumn<ReadOnlyMemory<char>>("Second").Select(text => text.ToString()), Is.EqualTo(new[] { "b\"" }));
        });
    }

    [Test]
    public void ExplicitColumnListPicksFieldsAndRanges()
    {
        // Tab-separated, the default; field 0 is skipped, fields 2-3 form a vector of doubles.
        string path = WriteFile("table.tsv", "skip\tcat\t0.5\t-2\t7\nskip\tdog\t1e-3\t4\t8\n");
        var context = new MLContext();

        IDataView data = context.Data.LoadFromTextFile(path,
        [
            new TextLoader.Column("Animal", DataKind.String, 1),
            new TextLoader.Column("Pair", DataKind.Double, 2, 3),
            new TextLoader.Column("Count", DataKind.Int64, 4),
        ]);

        Assert.Multiple(() =>
        {
            Assert.That(data.Schema["Animal"].Type, Is.EqualTo(TextDataViewType.Instance));
            Assert.That(data.Schema["Pair"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Double, 2)));
            Assert.That(data.Schema["Count"].Type, Is.EqualTo(NumberDataViewType.Int64));
            Assert.That(data.GetColumn<ReadOnlyMemory<char>>("Animal").Select(text => text.ToString()), Is.EqualTo(new[] { "cat", "dog" }));
            Assert.That(data.GetColumn<VBuffer<double>>("Pair").Select(pair => pair.ToArray()), Is.EqualTo(new[] { new[] { 0.5, -2.0 }, new[] { 0.001, 4.0 } }));
            Assert.That(data.GetColumn<long>("Count"), Is.EqualTo(new[] { 7L, 8L }));
        });
    }

    [Test]
    public void UnparsableNumberNamesFileLineAndColumn()
    {
        // Line 1 is the header and line 3 is blank, so the bad field is on line 5.
        string path = WriteFile("numbers.csv", "x,y\n1,2\n\n3,4\n5,abc\n");
        var context = new MLContext();
        IDataView data = context.Data.LoadFromTextFile<PairRow>(path, separatorChar: ',', hasHeader: true);

        var error = Assert.Throws<InvalidDataException>(() => _ = context.Data.CreateEnumerable<PairRow>(data, reuseRowObject: false).ToList());

        Assert.That(error.Message, Does.Contain("numbers.csv").And.Contain("line 5").And.Contain("'Y'").And.Contain("'abc'"));
    }

    [Test]
    public void TooFewFieldsNamesFileLineAndColumn()
    {
        string path = WriteFile("short.csv", "1,2\n3\n");
        var context = new MLContext();
        IDataView data = context.Data.LoadFromTextFile<PairRow>(path, separatorChar: ',');

        var error = Assert.Throws<InvalidDataException>(() => _ = context.Data.CreateEnumerable<PairRow>(data, reuseRowObject: false).ToList());

        Assert.That(error.Message, Does.Contain("short.csv").And.Contain("line 2").And.Contain("'Y'"));
    }

    [Test]
    public void UnclosedQuoteNamesFileLineAndField()
    {
        string path = WriteFile("quotes.csv", "1,\"2\"\n3,\"4\n");
        var context = new MLContext();
        IDataView data = context.Data.LoadFromTextFile<PairRow>(path, separatorChar: ',', allowQuoting: true);

        var error = Assert.Throws<InvalidDataException>(() => _ = context.Data.CreateEnumerable<PairRow>(data, reuseRowObject: false).ToList());

        Assert.That(error.Message, Does.Contain("quotes.csv").And.Contain("line 2").And.Contain("field 1").And.Contain("not closed"));
    }

    [Test]
    public void MissingFileFailsWhenLoading()
    {
        var context = new MLContext();
        string path = _folder.File("absent.csv");

        var error = Assert.Throws<FileNotFoundException>(() => context.Data.LoadFromTextFile<PairRow>(path));

        Assert.That(error.FileName, Is.EqualTo(path));
    }

    [Test]
    public void MemberWithoutLoadColumnIsAnError()
    {
        string path = WriteFile("any.csv", "1,2\n");
        var context = new MLContext();

        var error = Assert.Throws<ArgumentException>(() => context.Data.LoadFromTextFile<UnmarkedRow>(path, separatorChar: ','));

        Assert.That(error.Message, Does.Contain("UnmarkedRow.Extra").And.Contain("[LoadColumn]"));
    }

    [Test]
    public void ViewIsLazySoEarlyRowsReadBeforeABadLine()
    {
        string path = WriteFile("bad-later.csv", "1,2\n3,4\n5,oops\n7,\"8\n");
        var context = new MLContext();

        IDataView data = context.Data.LoadFromTextFile<PairRow>(path, separatorChar: ',', allowQuoting: true);
        DataDebuggerPreview preview = data.Preview(2);

        Assert.Multiple(() =>
        {
            Assert.That(preview.RowView, Has.Count.EqualTo(2));
            Assert.That(preview.ColumnView[0].Values, Is.EqualTo(new object[] { 1f, 3f }));
            Assert.That(preview.ColumnView[1].Values, Is.EqualTo(new object[] { 2f, 4f }));
            Assert.That(() => data.Preview(3), Throws.InstanceOf<InvalidDataException>().With.Message.Contain("line 3"));
        });
    }

    [Test]
    public void MillionRowFileIsStreamed()
    {
        const int Rows = 1_000_000;
        string path = _folder.File("big.csv");
        using (var writer = new StreamWriter(path))
        {
            for (int i = 0; i < Rows; i++)
            {
                writer.Write(i);
                writer.WriteLine(",0.5,some padding text");
            }
        }

        var context = new MLContext();
        IDataView data = context.Data.LoadFromTextFile(path, [new TextLoader.Column("Id", DataKind.Int32, 0)], separatorChar: ',');
        long before = GC.GetTotalMemory(forceFullCollection: true);
        long rows = 0, sum = 0, growth;
        using (DataViewRowCursor cursor = data.GetRowCursor(data.Schema))
        {
            ValueGetter<int> id = cursor.GetGetter<int>(data.Schema["Id"]);
            while (cursor.MoveNext())
            {
                int value = 0;
                id(ref value);
                sum += value;
                rows++;
            }

            // Measured while the cursor is still open: a loader that buffered the file would still hold it here.
            growth = GC.GetTotalMemory(forceFullCollection: true) - before;
        }

        Assert.Multiple(() =>
        {
            Assert.That(new FileInfo(path).Length, Is.GreaterThan(20_000_000), "the file is as big as intended");
            Assert.That(rows, Is.EqualTo(Rows));
            Assert.That(sum, Is.EqualTo((long)Rows * (Rows - 1) / 2));
            Assert.That(growth, Is.LessThan(50L * 1024 * 1024));
        });
    }

    private sealed class PersonRow
    {
        [LoadColumn(0)]
        public int Id { get; set; }

        [LoadColumn(1)]
        public string Name { get; set; } = "";

        [LoadColumn(2, 4)]
        public float[] Features { get; set; } = [];

        [LoadColumn(5)]
        public bool Flag { get; set; }
    }

    private sealed class PairRow
    {
        [LoadColumn(0)]
        public float X { get; set; }

        [LoadColumn(1)]
        public float Y { get; set; }
    }

    private sealed class UnmarkedRow
    {
        [LoadColumn(0)]
        public float X { get; set; }

        public float Extra { get; set; }
    }
}
