using MLNet.BNInception.Data;
using MLNet.BNInception.Transforms;

namespace MLNet.BNInception.Tests;

/// <summary>MapValueToKey and MapKeyToValue: key order, key values, missing and unseen values.</summary>
[TestFixture]
public sealed class KeyMappingTests
{
    private static IDataView Texts(MLContext context, params string[] values) =>
        context.Data.LoadFromEnumerable(values.Select(value => new TextRow { Text = value }).ToArray());

    private static IDataView Numbers(MLContext context, params int[] values) =>
        context.Data.LoadFromEnumerable(values.Select(value => new NumberRow { Number = value, Real = value / 4f }).ToArray());

    private static uint[] Keys(IDataView data) => [.. data.GetColumn<uint>("Key")];

    [Test]
    public void TextKeysFollowFirstOccurrence()
    {
        var context = new MLContext();
        IDataView data = Texts(context, "cat", "dog", "cat", "bird", "dog");

        IDataView keyed = context.Transforms.Conversion.MapValueToKey("Key", "Text").Fit(data).Transform(data);

        Assert.Multiple(() =>
        {
            Assert.That(Keys(keyed), Is.EqualTo(new uint[] { 1, 2, 1, 3, 2 }));
            Assert.That(keyed.Schema["Key"].Type, Is.EqualTo(new KeyDataViewType(typeof(uint), 3)));
            Assert.That(keyed.Schema["Key"].KeyValues, Is.EqualTo(new[] { "cat", "dog", "bird" }));
            Assert.That(keyed.Schema["Text"].Type, Is.EqualTo(TextDataViewType.Instance), "the input column stays");
        });
    }

    [Test]
    public void TextKeysByValueAreInOrdinalOrder()
    {
        var context = new MLContext();
        IDataView data = Texts(context, "cat", "Zebra", "apple", "cat");

        IDataView keyed = context.Transforms.Conversion.MapValueToKey("Key", "Text", keyOrdinality: KeyOrdinality.ByValue).Fit(data).Transform(data);
        var buffer = default(VBuffer<ReadOnlyMemory<char>>);
        keyed.Schema["Key"].GetKeyValues(ref buffer);

        Assert.Multiple(() =>
        {
            // Ordinal order puts upper case before lower case.
            Assert.That(keyed.Schema["Key"].KeyValues, Is.EqualTo(new[] { "Zebra", "apple", "cat" }));
            Assert.That(buffer.DenseValues().Select(text => text.ToString()), Is.EqualTo(new[] { "Zebra", "apple", "cat" }));
            Assert.That(Keys(keyed), Is.EqualTo(new uint[] { 3, 1, 2, 3 }));
        });
    }

    [Test]
    public void NumericKeysByValueAreInNumericOrder()
    {
        var context = new MLContext();
        IDataView data = Numbers(context, 10, 9, 100, 9, -6);

        IDataView byValue = context.Transforms.Conversion.MapValueToKey("Key", "Number", keyOrdinality: KeyOrdinality.ByValue).Fit(data).Transform(data);
        IDataView byOccurrence = context.Transforms.Conversion.MapValueToKey("Key", "Number").Fit(data).Transform(data);
        IDataView realByValue = context.Transforms.Conversion.MapValueToKey("Key", "Real", keyOrdinality: KeyOrdinality.ByValue).Fit(data).Transform(data);

        Assert.Multiple(() =>
        {
            // Text order would be "-6", "10", "100", "9".
            Assert.That(byValue.Schema["Key"].KeyValues, Is.EqualTo(new[] { "-6", "9", "10", "100" }));
            Assert.That(Keys(byValue), Is.EqualTo(new uint[] { 3, 2, 4, 2, 1 }));
            Assert.That(byOccurrence.Schema["Key"].KeyValues, Is.EqualTo(new[] { "10", "9", "100", "-6" }));
            Assert.That(Keys(byOccurrence), Is.EqualTo(new uint[] { 1, 2, 3, 2, 4 }));
            // Real = Number / 4: 2.5, 2.25, 25, 2.25, -1.5.
            Assert.That(realByValue.Schema["Key"].KeyValues, Is.EqualTo(new[] { "-1.5", "2.25", "2.5", "25" }));
            Assert.That(Keys(realByValue), Is.EqualTo(new uint[] { 3, 2, 4, 2, 1 }));
        });
    }

    [Test]
    public void EmptyTextIsMissingAndMapsToKeyZero()
    {
        var context = new MLContext();
        IDataView data = Texts(context, "a", "", "b");

        IDataView keyed = context.Transforms.Conversion.MapValueToKey("Key", "Text").Fit(data).Transform(data);

        Assert.Multiple(() =>
        {
            Assert.That(keyed.Schema["Key"].KeyValues, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(Keys(keyed), Is.EqualTo(new uint[] { 1, 0, 2 }));
        });
    }

    [Test]
    public void UnseenValueIsAnErrorNamingValueAndRow()
    {
        var context = new MLContext();
        ValueToKeyMappingTransformer mapping = context.Transforms.Conversion.MapValueToKey("Key", "Text").Fit(Texts(context, "a", "b"));

        IDataView keyed = mapping.Transform(Texts(context, "b", "a", "c"));
        var error = Assert.Throws<InvalidDataException>(() => Keys(keyed));

        Assert.That(error.Message, Does.Contain("'c'").And.Contain("row 2").And.Contain("'Text'"));
    }

    [Test]
    public void MissingInputColumnPassesTheViewThrough()
    {
        var context = new MLContext();
        ValueToKeyMappingTransformer mapping = context.Transforms.Conversion.MapValueToKey("Key", "Text").Fit(Texts(context, "a"));
        IDataView unlabelled = Numbers(context, 1, 2);

        IDataView output = mapping.Transform(unlabelled);

        Assert.Multiple(() =>
        {
            Assert.That(output, Is.SameAs(unlabelled));
            Assert.That(mapping.GetOutputSchema(unlabelled.Schema).Select(column => column.Name), Is.EqualTo(new[] { "Number", "Real" }));
        });
    }

    [Test]
    public void KeyToValueRoundTripsThroughAChain()
    {
        var context = new MLContext();
        IDataView data = Texts(context, "x", "y", "", "x", "z");

        TransformerChain<KeyToValueMappingTransformer> model = context.Transforms.Conversion.MapValueToKey("Key", "Text")
            .Append(context.Transforms.Conversion.MapKeyToValue("Back", "Key"))
            .Fit(data);
        IDataView output = model.Transform(data);

        Assert.Multiple(() =>
        {
            Assert.That(output.GetColumn<ReadOnlyMemory<char>>("Back").Select(text => text.ToString()), Is.EqualTo(new[] { "x", "y", "", "x", "z" }));
            Assert.That(output.Schema["Back"].Type, Is.EqualTo(TextDataViewType.Instance));
            Assert.That(output.Schema["Back"].KeyValues, Is.Null);
        });
    }

    [Test]
    public void KeyToValueNeedsKeyValues()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(new[] { new KeyRow { Key = 1 } });

        Assert.That(() => context.Transforms.Conversion.MapKeyToValue("Back", "Key").Fit(data),
            Throws.ArgumentException.With.Message.Contain("'Key'").And.Message.Contain("without key values"));
    }

    [Test]
    public void TooManyDistinctValuesIsAnError()
    {
        var context = new MLContext();
        IDataView data = Texts(context, "a", "b", "a", "c");

        ValueToKeyMappingTransformer atTheLimit = context.Transforms.Conversion.MapValueToKey("Key", "Text", maximumNumberOfKeys: 3).Fit(data);
        var error = Assert.Throws<InvalidOperationException>(() => context.Transforms.Conversion.MapValueToKey("Key", "Text", maximumNumberOfKeys: 2).Fit(data));

        Assert.Multiple(() =>
        {
            Assert.That(atTheLimit.KeyValues, Is.EqualTo(new[] { "a", "b", "c" }));
            Assert.That(error.Message, Does.Contain("more than 2").And.Contain("row 3").And.Contain("'c'"));
        });
    }

    [Test]
    public void FitNamesAMissingInputColumn()
    {
        var context = new MLContext();

        Assert.That(() => context.Transforms.Conversion.MapValueToKey("Key", "Label").Fit(Texts(context, "a")),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("'Label'"));
    }

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }

    private sealed class NumberRow
    {
        public int Number { get; set; }

        public float Real { get; set; }
    }

    private sealed class KeyRow
    {
        [KeyType(3)]
        public uint Key { get; set; }
    }
}
