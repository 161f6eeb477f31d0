using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>Preview(): the first rows by row and by column, and a readable table.</summary>
[TestFixture]
public sealed class PreviewTests
{
    private static IDataView Data(MLContext context) => context.Data.LoadFromEnumerable(new[]
    {
        new Row { Name = "alpha", Number = 1.5f, Values = [1f, 2f] },
        new Row { Name = "beta", Number = -2f, Values = [3f, 4f] },
        new Row { Name = "gamma", Number = 0.25f, Values = [5f, 6f] },
    });

    [Test]
    public void RowViewHoldsNamedValuesOfTheFirstRows()
    {
        DataDebuggerPreview preview = Data(new MLContext()).Preview(2);

        Assert.Multiple(() =>
        {
            Assert.That(preview.RowView, Has.Count.EqualTo(2));
            Assert.That(preview.RowView[0].Values.Select(pair => pair.Key), Is.EqualTo(new[] { "Name", "Number", "Values" }));
            Assert.That(preview.RowView[1].Values[0].Value?.ToString(), Is.EqualTo("beta"));
            Assert.That(preview.RowView[1].Values[1].Value, Is.EqualTo(-2f));
            Assert.That(((VBuffer<float>)preview.RowView[1].Values[2].Value!).ToArray(), Is.EqualTo(new[] { 3f, 4f }));
        });
    }

    [Test]
    public void ColumnViewHoldsEachColumnsValues()
    {
        DataDebuggerPreview preview = Data(new MLContext()).Preview();

        Assert.Multiple(() =>
        {
            Assert.That(preview.ColumnView.Select(column => column.Column.Name), Is.EqualTo(new[] { "Name", "Number", "Values" }));
            Assert.That(preview.ColumnView[0].Values.Select(value => value?.ToString()), Is.EqualTo(new[] { "alpha", "beta", "gamma" }));
            Assert.That(preview.ColumnView[1].Values, Is.EqualTo(new object[] { 1.5f, -2f, 0.25f }));
            Assert.That(preview.Schema["Values"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 2)));
        });
    }

    [Test]
    public void ZeroRowsGiveAnEmptyPreview()
    {
        DataDebuggerPreview preview = Data(new MLContext()).Preview(0);

        Assert.Multiple(() =>
        {
            Assert.That(preview.RowView, Is.Empty);
            Assert.That(preview.ColumnView.Select(column => column.Values.Count), Is.EqualTo(new[] { 0, 0, 0 }));
        });
    }

    [Test]
    public void ToStringIsATableWithColumnNamesAndValues()
    {
        string table = Data(new MLContext()).Preview(2).ToString();
        string[] lines = table.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(4), "header, rule, two rows");
            Assert.That(lines[0], Does.Contain("Name (String)").And.Contain("Number (Single)").And.Contain("Values (Vector<Single, 2>)"));
            Assert.That(lines[2], Does.Contain("alpha").And.Contain("1.5").And.Contain("[1, 2]"));
            Assert.That(lines[3], Does.Contain("beta").And.Contain("-2").And.Contain("[3, 4]"));
            Assert.That(table, Does.Not.Contain("gamma"));
        });
    }

    private sealed class Row
    {
        public string Name { get; set; } = "";

        public float Number { get; set; }

        [VectorType(2)]
        public float[] Values { get; set; } = [];
    }
}
