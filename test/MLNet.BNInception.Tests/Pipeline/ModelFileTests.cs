using System.IO.Compression;
using System.Text.Json.Nodes;
using MLNet.BNInception.Data;

namespace MLNet.BNInception.Tests;

/// <summary>Model files: a saved chain loads and behaves the same; every kind of bad file is an InvalidDataException.</summary>
[TestFixture]
public sealed class ModelFileTests
{
    private TemporaryDirectory _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = new TemporaryDirectory();

    [TearDown]
    public void DeleteFolder() => _folder.Dispose();

    private static Row[] Training() =>
    [
        new() { Name = "x", Values = [1f, 2f], Code = 5, Flag = true },
        new() { Name = "y", Values = [3f, 4f], Code = 1, Flag = false },
        new() { Name = "x", Values = [5f, 6f], Code = 2, Flag = true },
        new() { Name = "z", Values = [7f, 8f], Code = 3, Flag = false },
    ];

    private static (MLContext Context, IDataView Data, ITransformer Model) FitKeyChain()
    {
        var context = new MLContext();
        IDataView data = context.Data.LoadFromEnumerable(Training());
        ITransformer model = context.Transforms.Conversion.MapValueToKey("Key", "Name")
            .Append(context.Transforms.Conversion.MapKeyToValue("Back", "Key"))
            .Fit(data);
        return (context, data, model);
    }

    private string SaveKeyChain()
    {
        (MLContext context, IDataView data, ITransformer model) = FitKeyChain();
        string path = _folder.File("model.zip");
        context.Model.Save(model, data.Schema, path);
        return path;
    }

    [Test]
    public void SavedChainLoadsAndGivesTheSameOutputs()
    {
        (MLContext context, IDataView data, ITransformer model) = FitKeyChain();
        string path = _folder.File("model.zip");
        context.Model.Save(model, data.Schema, path);

        ITransformer loaded = new MLContext().Model.Load(path, out DataViewSchema? inputSchema);
        IDataView scoring = context.Data.LoadFromEnumerable(new[] { new Row { Name = "z", Values = [0f, 0f] }, new Row { Name = "x", Values = [0f, 0f] } });
        IDataView output = loaded.Transform(scoring);

        Assert.Multiple(() =>
        {
            Assert.That(output.GetColumn<uint>("Key"), Is.EqualTo(new uint[] { 3, 1 }));
            Assert.That(output.Schema["Key"].KeyValues, Is.EqualTo(new[] { "x", "y", "z" }));
            Assert.That(output.GetColumn<ReadOnlyMemory<char>>("Back").Select(text => text.ToString()), Is.EqualTo(new[] { "z", "x" }));
            Assert.That(output.GetColumn<uint>("Key"), Is.EqualTo(model.Transform(scoring).GetColumn<uint>("Key")));
            Assert.That(inputSchema, Is.Not.Null);
            Assert.That(inputSchema!.Select(column => column.Name), Is.EqualTo(data.Schema.Select(column => column.Name)));
            Assert.That(inputSchema!.Select(column => column.Type), Is.EqualTo(data.Schema.Select(column => column.Type)));
            Assert.That(inputSchema!["Values"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 2)));
            Assert.That(inputSchema!["Code"].Type, Is.EqualTo(new KeyDataViewType(typeof(uint), 6)));
        });
    }

    [Test]
    public void SaveLeavesOnlyTheModelFile()
    {
        string path = SaveKeyChain();
        (MLContext context, IDataView data, ITransformer model) = FitKeyChain();

        context.Model.Save(model, data.Schema, path);

        Assert.That(Directory.GetFiles(_folder.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "model.zip" }));
    }

    [Test]
    public void FailedSaveKeepsTheOldFileAndLeavesNoTemporaryFile()
    {
        string path = SaveKeyChain();
        byte[] before = File.ReadAllBytes(path);
        var context = new MLContext();

        Assert.That(() => context.Model.Save(new Unsaveable(), null, path), Throws.InstanceOf<NotSupportedException>());

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(before));
            Assert.That(Directory.GetFiles(_folder.Path).Select(Path.GetFileName), Is.EqualTo(new[] { "model.zip" }));
        });
    }

    [Test]
    public void ZeroByteFileIsNotAModel()
    {
        string path = _folder.File("empty.zip");
        File.WriteAllBytes(path, []);

        AssertInvalidModel(path, "not a model file");
    }

    [Test]
    public void TextFileIsNotAModel()
    {
        string path = _folder.File("notes.txt");
        File.WriteAllText(path, "this is not a model\n");

        AssertInvalidModel(path, "not a model file");
    }

    [Test]
    public void ZipWithoutManifestIsNotAModel()
    {
        string path = _folder.File("other.zip");
        using (ZipArchive archive = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var writer = new StreamWriter(archive.CreateEntry("readme.txt").Open());
            writer.Write("hello");
        }

        AssertInvalidModel(path, "no manifest.json");
    }

    [Test]
    public void OtherFormatVersionIsRejected()
    {
        string path = SaveKeyChain();
        EditManifest(path, manifest => manifest["formatVersion"] = 99);

        AssertInvalidModel(path, "version 99");
    }

    [Test]
    public void TruncatedFileIsRejected()
    {
        string path = SaveKeyChain();
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        AssertInvalidModel(path, "not a model file");
    }

    [Test]
    public void UnknownStepKindIsRejected()
    {
        string path = SaveKeyChain();
        EditManifest(path, manifest => manifest["steps"]![1]!["kind"] = "Frobnicate");

        AssertInvalidModel(path, "step 1: unknown step kind 'Frobnicate'");
    }

    [Test]
    public void ManifestThatIsNotJsonIsRejected()
    {
        string path = SaveKeyChain();
        ReplaceManifest(path, "{ not json");

        AssertInvalidModel(path, "not valid JSON");
    }

    [Test]
    public void ManifestWithWrongValueKindsIsRejected()
    {
        string path = SaveKeyChain();
        EditManifest(path, manifest => manifest["format"] = 12);

        AssertInvalidModel(path, "not a model file of this library");
    }

    [Test]
    public void BadInputSchemaIsRejected()
    {
        string path = SaveKeyChain();
        EditManifest(path, manifest => manifest["inputSchema"]![2]!["type"]!["count"] = 0);

        AssertInvalidModel(path, "input");
    }

    [Test]
    public void InconsistentStepSettingsAreRejected()
    {
        string path = SaveKeyChain();
        EditManifest(path, manifest => manifest["steps"]![0]!["settings"]!["keyValues"] = new JsonArray("x", "x"));

        AssertInvalidModel(path, "step 0");
    }

    private static void AssertInvalidModel(string path, string problem)
    {
        var context = new MLContext();
        Assert.That(() => context.Model.Load(path, out _),
            Throws.TypeOf<InvalidDataException>().With.Message.Contain(Path.GetFileName(path)).And.Message.Contain(problem));
    }

    private static void EditManifest(string path, Action<JsonObject> edit)
    {
        JsonObject manifest;
        using (ZipArchive archive = ZipFile.OpenRead(path))
        using (Stream stream = archive.GetEntry("manifest.json")!.Open())
        {
            manifest = JsonNode.Parse(stream)!.AsObject();
        }

        edit(manifest);
        ReplaceManifest(path, manifest.ToJsonString());
    }

    private static void ReplaceManifest(string path, string text)
    {
        using ZipArchive archive = ZipFile.Open(path, ZipArchiveMode.Update);
        archive.GetEntry("manifest.json")!.Delete();
        using var writer = new StreamWriter(archive.CreateEntry("manifest.json").Open());
        writer.Write(text);
    }

    private sealed class Row
    {
        public string Name { get; set; } = "";

        [VectorType(2)]
        public float[] Values { get; set; } = [];

        [KeyType(6)]
        public uint Code { get; set; }

        public bool Flag { get; set; }
    }

    private sealed class Unsaveable : ITransformer
    {
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

        public IDataView Transform(IDataView input) => input;
    }
}
