using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>LoadFromEnumerable and CreateEnumerable: member types to column types and back.</summary>
[TestFixture]
public sealed class EnumerableRoundTripTests
{
    private static Sample[] Samples() =>
    [
        new() { Text = "first", Number = 1.5f, Count = -3, Flag = true, Values = [1f, 2f, 3f], Original = "x" },
        new() { Text = "", Number = float.NaN, Count = int.MaxValue, Flag = false, Values = [-0.5f, 0f, 1e-7f], Original = "y, z" },
    ];

    [Test]
    public void MembersBecomeTypedColumns()
    {
        var context = new MLContext();

        DataViewSchema schema = context.Data.LoadFromEnumerable(Samples()).Schema;

        Assert.Multiple(() =>
        {
            Assert.That(schema.Select(column => column.Name), Is.EqualTo(new[] { "Text", "Number", "Count", "Flag", "Values", "Renamed" }));
            Assert.That(schema["Text"].Type, Is.EqualTo(TextDataViewType.Instance));
            Assert.That(schema["Number"].Type, Is.EqualTo(NumberDataViewType.Single));
            Assert.That(schema["Count"].Type, Is.EqualTo(NumberDataViewType.Int32));
            Assert.That(schema["Flag"].Type, Is.EqualTo(BooleanDataViewType.Instance));
            Assert.That(schema["Values"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 3)));
            Assert.That(schema["Renamed"].Type, Is.EqualTo(TextDataViewType.Instance));
        });
    }

    [Test]
    public void RowsRoundTrip([Values] bool reuseRowObject)
    {
        var context = new MLContext();
        Sample[] source = Samples();
        IDataView data = context.Data.LoadFromEnumerable(source);

        var read = new List<(string Text, float Number, int Count, bool Flag, float[] Values, string Original)>();
        foreach (Sample row in context.Data.CreateEnumerable<Sample>(data, reuseRowObject))
        {
            read.Add((row.Text, row.Number, row.Count, row.Flag, row.Values, row.Original));
        }

        Assert.Multiple(() =>
        {
            Assert.That(read, Has.Count.EqualTo(2));
            for (int i = 0; i < 2; i++)
            {
                Assert.That(read[i].Text, Is.EqualTo(source[i].Text));
                Assert.That(read[i].Number, Is.EqualTo(source[i].Number));
                Assert.That(read[i].Count, Is.EqualTo(source[i].Count));
                Assert.That(read[i].Flag, Is.EqualTo(source[i].Flag));
                Assert.That(read[i].Values, Is.EqualTo(source[i].Values));
                Assert.That(read[i].Values, Is.Not.SameAs(source[i].Values), "vectors are copied, not shared with the source object");
                Assert.That(read[i].Original, Is.EqualTo(source[i].Original));
            }
        });
    }

    [Test]
    public void ReuseRowObjectHandsOutOneObject()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Samples());

        Sample[] reused = [.. context.Data.CreateEnumerable<Sample>(data, reuseRowObject: true)];
        Sample[] fresh = [.. context.Data.CreateEnumerable<Sample>(data, reuseRowObject: false)];

        Assert.Multiple(() =>
        {
            Assert.That(reused[1], Is.SameAs(reused[0]));
            Assert.That(fresh[1], Is.Not.SameAs(fresh[0]));
        });
    }

    [Test]
    public void NullTextReadsAsEmpty()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(new[] { new TextOnly { Text = null } });

        Assert.That(context.Data.CreateEnumerable<TextOnly>(data, reuseRowObject: false).Single().Text, Is.EqualTo(""));
    }

    [Test]
    public void VectorOfWrongLengthIsAnErrorNamingRowAndColumn()
    {
        var context = new MLContext();
        Sample[] rows = Samples();
        rows[1].Values = [1f, 2f];
        IDataView data = context.Data.LoadFromEnumerable(rows);

        var error = Assert.Throws<InvalidDataException>(() => _ = data.GetColumn<VBuffer<float>>("Values").ToList());

        Assert.That(error.Message, Does.Contain("row 1").And.Contain("'Values'").And.Contain("2 items").And.Contain('3'));
    }

    [Test]
    public void MissingColumnIsAnErrorUnlessIgnored()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Samples());

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => context.Data.CreateEnumerable<Wider>(data, reuseRowObject: false));
        Wider[] rows = [.. context.Data.CreateEnumerable<Wider>(data, reuseRowObject: false, ignoreMissingColumns: true)];

        Assert.Multiple(() =>
        {
            Assert.That(error!.Message, Does.Contain("'Extra'"));
            Assert.That(rows.Select(row => row.Count), Is.EqualTo(new[] { -3, int.MaxValue }));
            Assert.That(rows.Select(row => row.Extra), Is.EqualTo(new[] { 42, 42 }), "a missing column leaves the member as constructed");
        });
    }

    [Test]
    public void TypeMismatchIsAnError()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Samples());

        var numberAsText = Assert.Throws<InvalidOperationException>(() => context.Data.CreateEnumerable<NumberAsText>(data, reuseRowObject: false));
        var countAsFloat = Assert.Throws<InvalidOperationException>(() => context.Data.CreateEnumerable<CountAsFloat>(data, reuseRowObject: false));

        Assert.Multiple(() =>
        {
            Assert.That(numberAsText!.Message, Does.Contain("NumberAsText.Number").And.Contain("Single"));
            Assert.That(countAsFloat!.Message, Does.Contain("CountAsFloat.Count").And.Contain("Int32"));
        });
    }

    private sealed class Sample
    {
        public string Text { get; set; } = "";

        public float Number { get; set; }

        public int Count { get; set; }

        public bool Flag { get; set; }

        [VectorType(3)]
        public float[] Values { get; set; } = [];

        [ColumnName("Renamed")]
        public string Original { get; set; } = "";
    }

    private sealed class TextOnly
    {
        public string? Text { get; set; }
    }

    private sealed class Wider
    {
        public int Count { get; set; }

        public int Extra { get; set; } = 42;
    }

    private sealed class NumberAsText
    {
        public string Number { get; set; } = "";
    }

    private sealed class CountAsFloat
    {
        public float Count { get; set; }
    }
}
