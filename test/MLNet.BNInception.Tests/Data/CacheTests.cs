using System.Collections;
using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>Data.Cache and AppendCacheCheckpoint: the source is read once per new set of columns, then never again.</summary>
[TestFixture]
public sealed class CacheTests
{
    private static Row[] Rows(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new Row { Id = i, Name = $"n{i % 3}", Vector = [i, -i, i * 0.5f, 1f] })];

    [Test]
    public void SourceIsReadOncePerNewColumnSet()
    {
        var context = new MLContext();
        Row[] rows = Rows(5);
        var source = new CountingEnumerable(rows);
        IDataView cached = context.Data.Cache(context.Data.LoadFromEnumerable(source));
        int afterCache = source.Enumerations;

        int[] ids1 = [.. cached.GetColumn<int>("Id")];
        int afterIds = source.Enumerations;
        int[] ids2 = [.. cached.GetColumn<int>("Id")];
        int[] ids3 = [.. cached.GetColumn<int>("Id")];
        int afterIdsAgain = source.Enumerations;
        string[] names = [.. cached.GetColumn<ReadOnlyMemory<char>>("Name").Select(text => text.ToString())];
        int afterNames = source.Enumerations;
        List<object?[]> all1 = ReadAll(cached);
        int afterAll = source.Enumerations;
        List<object?[]> all2 = ReadAll(cached);
        int[] ids4 = [.. cached.GetColumn<int>("Id")];
        int atEnd = source.Enumerations;

        Assert.Multiple(() =>
        {
            Assert.That(afterCache, Is.Zero, "caching reads nothing until a cursor asks");
            Assert.That(afterIds, Is.EqualTo(1));
            Assert.That(afterIdsAgain, Is.EqualTo(1));
            Assert.That(afterNames, Is.EqualTo(2), "a new column costs one more pass");
            Assert.That(afterAll, Is.EqualTo(3), "only Vector was still missing");
            Assert.That(atEnd, Is.EqualTo(3));
            Assert.That(ids1, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
            Assert.That(ids2, Is.EqualTo(ids1));
            Assert.That(ids3, Is.EqualTo(ids1));
            Assert.That(ids4, Is.EqualTo(ids1));
            Assert.That(names, Is.EqualTo(new[] { "n0", "n1", "n2", "n0", "n1" }));
            Assert.That(all1, Has.Count.EqualTo(5));
            for (int i = 0; i < rows.Length; i++)
            {
                Assert.That(all1[i][0], Is.EqualTo(rows[i].Id));
                Assert.That(((ReadOnlyMemory<char>)all1[i][1]!).ToString(), Is.EqualTo(rows[i].Name));
                Assert.That(((VBuffer<float>)all1[i][2]!).ToArray(), Is.EqualTo(rows[i].Vector));
                Assert.That(((VBuffer<float>)all2[i][2]!).ToArray(), Is.EqualTo(rows[i].Vector));
            }
        });
    }

    [Test]
    public void ColumnAskedForTwiceIsCachedOnce()
    {
        var context = new MLContext();
        var source = new CountingEnumerable(Rows(3));
        IDataView cached = context.Data.Cache(context.Data.LoadFromEnumerable(source));
        DataViewSchema.Column id = cached.Schema["Id"];

        var ids = new List<int>();
        using (DataViewRowCursor cursor = cached.GetRowCursor([id, id]))
        {
            ValueGetter<int> getter = cursor.GetGetter<int>(id);
            while (cursor.MoveNext())
            {
                int value = 0;
                getter(ref value);
                ids.Add(value);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(ids, Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(source.Enumerations, Is.EqualTo(1));
        });
    }

    [Test]
    public void SpilledVectorsReadBackEqualAndTheFileGoesWithTheCache()
    {
        using var folder = new TemporaryDirectory();
        string spill = Path.Combine(folder.Path, "spill");
        var context = new MLContext();
        Row[] rows = Rows(100);
        var source = new CountingEnumerable(rows);
        IDataView cached = context.Data.Cache(context.Data.LoadFromEnumerable(source), spill);

        float[][] vectors = [.. cached.GetColumn<VBuffer<float>>("Vector").Select(vector => vector.ToArray())];
        float[][] again = [.. cached.GetColumn<VBuffer<float>>("Vector").Select(vector => vector.ToArray())];
        string[] names = [.. cached.GetColumn<ReadOnlyMemory<char>>("Name").Select(text => text.ToString())];
        FileInfo[] whileCached = new DirectoryInfo(spill).GetFiles();
        ((IDisposable)cached).Dispose();
        string[] afterDispose = Directory.GetFiles(spill);

        Assert.Multiple(() =>
        {
            Assert.That(vectors, Is.EqualTo(rows.Select(row => row.Vector)));
            Assert.That(again, Is.EqualTo(vectors));
            Assert.That(names, Is.EqualTo(rows.Select(row => row.Name)));
            Assert.That(source.Enumerations, Is.EqualTo(2), "one pass for Vector, one for Name");
            // Only the fixed-size vector column spills: 100 rows × 4 floats × 4 bytes.
            Assert.That(whileCached, Has.Length.EqualTo(1));
            Assert.That(whileCached.Single().Length, Is.EqualTo(100 * 4 * 4));
            Assert.That(afterDispose, Is.Empty);
        });
    }

    [Test]
    public void CheckpointServesLaterEstimatorsFromTheCache()
    {
        var context = new MLContext();
        var source = new CountingEnumerable(Rows(6));
        IDataView data = context.Data.LoadFromEnumerable(source);

        var cachedReader = new ReadingEstimator(passes: 3);
        _ = context.Transforms.Conversion.MapValueToKey("Key", "Name").AppendCacheCheckpoint(context).Append(cachedReader).Fit(data);
        int withCheckpoint = source.Enumerations;

        var uncachedReader = new ReadingEstimator(passes: 3);
        _ = context.Transforms.Conversion.MapValueToKey("Key", "Name").Append(uncachedReader).Fit(data);
        int withoutCheckpoint = source.Enumerations - withCheckpoint;

        Assert.Multiple(() =>
        {
            // MapValueToKey reads once to learn its keys; the cache fills in one pass and serves all three reads.
            Assert.That(withCheckpoint, Is.EqualTo(2));
            Assert.That(withoutCheckpoint, Is.EqualTo(4));
            // Names n0, n1, n2, n0, n1, n2 in order of occurrence.
            Assert.That(cachedReader.Keys, Is.EqualTo(new uint[] { 1, 2, 3, 1, 2, 3 }));
            Assert.That(cachedReader.Keys, Is.EqualTo(uncachedReader.Keys));
            Assert.That(cachedReader.InputWasCached, Is.True);
            Assert.That(uncachedReader.InputWasCached, Is.False);
        });
    }

    [Test]
    public void CheckpointReleasesItsSpillFileAfterFitting()
    {
        using var folder = new TemporaryDirectory();
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Rows(6));
        var reader = new ReadingEstimator(passes: 2, watchFolder: folder.Path);

        _ = context.Transforms.Conversion.MapValueToKey("Key", "Name").AppendCacheCheckpoint(context, folder.Path).Append(reader).Fit(data);

        Assert.Multiple(() =>
        {
            Assert.That(reader.InputWasCached, Is.True);
            Assert.That(reader.FilesInWatchedFolder, Is.EqualTo(1), "the vector column was spilled while fitting");
            Assert.That(Directory.GetFiles(folder.Path), Is.Empty);
        });
    }

    private static List<object?[]> ReadAll(IDataView data)
    {
        var values = new List<object?[]>();
        using DataViewRowCursor cursor = data.GetRowCursorForAllColumns();
        ValueGetter<int> id = cursor.GetGetter<int>(data.Schema["Id"]);
        ValueGetter<ReadOnlyMemory<char>> name = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema["Name"]);
        ValueGetter<VBuffer<float>> vector = cursor.GetGetter<VBuffer<float>>(data.Schema["Vector"]);
        while (cursor.MoveNext())
        {
            int i = 0;
            ReadOnlyMemory<char> n = default;
            VBuffer<float> v = default;
            id(ref i);
            name(ref n);
            vector(ref v);
            values.Add([i, n, v]);
        }

        return values;
    }

    private sealed class Row
    {
        public int Id { get; set; }

        public string Name { get; set; } = "";

        [VectorType(4)]
        public float[] Vector { get; set; } = [];
    }

    /// <summary>Rows that count how often they are enumerated.</summary>
    private sealed class CountingEnumerable(IReadOnlyList<Row> rows) : IEnumerable<Row>
    {
        public int Enumerations { get; private set; }

        public IEnumerator<Row> GetEnumerator()
        {
            Enumerations++;
            return rows.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>An estimator that reads its input several times, as a multi-epoch trainer does, and learns nothing.</summary>
    private sealed class ReadingEstimator(int passes, string? watchFolder = null) : IEstimator<PassThrough>
    {
        public uint[] Keys { get; private set; } = [];

        public bool InputWasCached { get; private set; }

        public int FilesInWatchedFolder { get; private set; }

        public PassThrough Fit(IDataView input)
        {
            InputWasCached = input is CacheDataView;
            for (int pass = 0; pass < passes; pass++)
            {
                Keys = [.. input.GetColumn<uint>("Key")];
                if (watchFolder is not null)
                {
                    _ = input.GetColumn<VBuffer<float>>("Vector").ToList();
                    FilesInWatchedFolder = Directory.GetFiles(watchFolder).Length;
                }
            }

            return new PassThrough();
        }
    }

    private sealed class PassThrough : ITransformer
    {
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IDataView Transform(IDataView input) => input;
    }
}
