using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MLNet.BNInception;

/// <summary>Collects a step's binary parts (weights) while a model file is written.</summary>
internal sealed class ModelSaveContext(ZipArchive archive, int stepIndex)
{
    /// <summary>Writes an entry under this step's folder and returns its name for the settings.</summary>
    public string WriteEntry(string name, Action<Stream> write)
    {
        string entryName = $"steps/{stepIndex}/{name}";
        ZipArchiveEntry entry = archive.CreateEntry(entryName, CompressionLevel.Fastest);
        using Stream stream = entry.Open();
        write(stream);
        return entryName;
    }
}

/// <summary>Reads a step's settings and binary parts, with errors that say what is wrong with the file.</summary>
internal sealed class ModelLoadContext(ZipArchive archive, string source, int stepIndex, MLContext? mlContext = null)
{
    public MLContext? MLContext => mlContext;

    public string Source => source;

    public T ReadEntry<T>(string entryName, Func<Stream, T> read)
    {
        ZipArchiveEntry entry = archive.GetEntry(entryName) ?? throw Corrupt($"the entry '{entryName}' is missing");
        using Stream stream = entry.Open();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        buffer.Position = 0;
        return read(buffer);
    }

    public InvalidDataException Corrupt(string problem, Exception? inner = null) => new($"{source}: step {stepIndex}: {problem}", inner);

    public JsonNode Node(JsonObject settings, string name) => settings[name] ?? throw Corrupt($"the setting '{name}' is missing");

    public string String(JsonObject settings, string name) =>
        Node(settings, name) is JsonValue value && value.TryGetValue(out string? text) ? text : throw Corrupt($"the setting '{name}' is not text");

    public string? OptionalString(JsonObject settings, string name) => settings[name] is null ? null : String(settings, name);

    public int Int(JsonObject settings, string name) =>
        Node(settings, name) is JsonValue value && value.TryGetValue(out int number) ? number : throw Corrupt($"the setting '{name}' is not an integer");

    public bool Bool(JsonObject settings, string name) =>
        Node(settings, name) is JsonValue value && value.TryGetValue(out bool flag) ? flag : throw Corrupt($"the setting '{name}' is not true or false");

    public float Float(JsonObject settings, string name) =>
        Node(settings, name) is JsonValue value && value.TryGetValue(out float number) ? number : throw Corrupt($"the setting '{name}' is not a number");

    public TEnum Enum<TEnum>(JsonObject settings, string name)
        where TEnum : struct, System.Enum =>
        System.Enum.TryParse(String(settings, name), out TEnum parsed) && System.Enum.IsDefined(parsed) ? parsed
            : throw Corrupt($"the setting '{name}' is not one of {string.Join(", ", System.Enum.GetNames<TEnum>())}");

    public IReadOnlyList<string> Strings(JsonObject settings, string name) =>
        Node(settings, name) is JsonArray array
            ? [.. array.Select(item => item is JsonValue value && value.TryGetValue(out string? text) ? text : throw Corrupt($"the setting '{name}' holds a non-text item"))]
            : throw Corrupt($"the setting '{name}' is not a list");

    public T Deserialize<T>(JsonObject settings, string name)
    {
        try
        {
            return Node(settings, name).Deserialize<T>(ModelFormat.JsonOptions) ?? throw Corrupt($"the setting '{name}' is null");
        }
        catch (JsonException e)
        {
            throw Corrupt($"the setting '{name}' does not read as {typeof(T).Name}: {e.Message}");
        }
    }
}

/// <summary>The model file format: a zip holding manifest.json and each step's binary parts.</summary>
internal static partial class ModelFormat
{
    public const string FormatName = "MLNet.BNInception.Model";
    public const int FormatVersion = 1;
    public const string ManifestEntry = "manifest.json";

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private static readonly Dictionary<string, Func<JsonObject, ModelLoadContext, ITransformer>> Loaders = new(StringComparer.Ordinal)
    {
        [Transforms.ValueToKeyMappingTransformer.KindName] = Transforms.ValueToKeyMappingTransformer.Load,
        [Transforms.KeyToValueMappingTransformer.KindName] = Transforms.KeyToValueMappingTransformer.Load,
        [Transforms.Image.ImageLoadingTransformer.KindName] = Transforms.Image.ImageLoadingTransformer.Load,
        [Transforms.Image.ImageBytesLoadingTransformer.KindName] = Transforms.Image.ImageBytesLoadingTransformer.Load,
        [Transforms.Image.ImageResizingTransformer.KindName] = Transforms.Image.ImageResizingTransformer.Load,
        [Transforms.Image.ImageGrayscalingTransformer.KindName] = Transforms.Image.ImageGrayscalingTransformer.Load,
        [Transforms.Image.ImagePixelExtractingTransformer.KindName] = Transforms.Image.ImagePixelExtractingTransformer.Load,
        [Trainers.BnInceptionPredictionTransformer.KindName] = Trainers.BnInceptionPredictionTransformer.Load,
    };

    public static void Save(ITransformer model, Data.DataViewSchema? inputSchema, Stream stream)
    {
        ITransformer[] steps = model is IEnumerable<ITransformer> chain ? [.. Flatten(chain)] : [model];
        using var archive = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        var stepNodes = new JsonArray();
        for (int i = 0; i < steps.Length; i++)
        {
            if (steps[i] is not IPersistentTransformer persistent)
            {
                throw new NotSupportedException($"step {i} ({steps[i].GetType().Name}) cannot be saved in a model file");
            }

            JsonObject settings = persistent.Save(new ModelSaveContext(archive, i));
            stepNodes.Add(new JsonObject { ["kind"] = persistent.Kind, ["settings"] = settings });
        }

        var manifest = new JsonObject
        {
            ["format"] = FormatName,
            ["formatVersion"] = FormatVersion,
            ["writtenBy"] = typeof(ModelFormat).Assembly.GetName().Version?.ToString(),
            ["inputSchema"] = inputSchema is null ? null : new JsonArray([.. inputSchema.Select(column =>
                (JsonNode)new JsonObject { ["name"] = column.Name, ["type"] = TypeToJson(column.Type) })]),
            ["steps"] = stepNodes,
        };
        foreach (ISummarizedStep summarized in steps.OfType<ISummarizedStep>())
        {
            summarized.AddSummary(manifest);
        }

        ZipArchiveEntry entry = archive.CreateEntry(ManifestEntry, CompressionLevel.Optimal);
        using Stream manifestStream = entry.Open();
        using var writer = new Utf8JsonWriter(manifestStream, new JsonWriterOptions { Indented = true });
        manifest.WriteTo(writer);
    }

    /// <summary>
    /// What the JSON accessors and the constructors of types and steps throw for values of the wrong
    /// kind or range; from a file, these mean a damaged or hand-edited manifest.
    /// </summary>
    private static bool IsMalformedValue(Exception e) =>
        e is ArgumentException or InvalidOperationException or InvalidCastException or FormatException or OverflowException;

    private static IEnumerable<ITransformer> Flatten(IEnumerable<ITransformer> chain) =>
        chain.SelectMany(step => step is IEnumerable<ITransformer> inner ? Flatten(inner) : [step]);

    public static TransformerChain<ITransformer> Load(Stream stream, string source, MLContext? mlContext, out Data.DataViewSchema? inputSchema)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source} is not a model file (not a zip archive: {e.Message})", e);
        }

        using (archive)
        {
            JsonObject manifest;
            try
            {
                ZipArchiveEntry entry = archive.GetEntry(ManifestEntry) ?? throw new InvalidDataException($"{source} is not a model file (no {ManifestEntry})");
                using Stream manifestStream = entry.Open();
                manifest = JsonNode.Parse(manifestStream) as JsonObject ?? throw new InvalidDataException($"{source}: {ManifestEntry} is not a JSON object");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{source}: {ManifestEntry} is not valid JSON: {e.Message}", e);
            }

            if (!(manifest["format"] is JsonValue format && format.TryGetValue(out string? formatName) && formatName == FormatName))
            {
                throw new InvalidDataException($"{source} is not a model file of this library (format '{manifest["format"]?.ToJsonString()}')");
            }

            int version = manifest["formatVersion"] is JsonValue v && v.TryGetValue(out int parsed) ? parsed : -1;
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"{source} has model format version {version}; this library reads version {FormatVersion}");
            }

            try
            {
                inputSchema = manifest["inputSchema"] is JsonArray columns ? SchemaFromJson(columns, source) : null;
            }
            catch (Exception e) when (IsMalformedValue(e))
            {
                throw new InvalidDataException($"{source}: the input schema in {ManifestEntry} is invalid: {e.Message}", e);
            }

            var steps = new List<ITransformer>();
            try
            {
                JsonArray stepNodes = manifest["steps"] as JsonArray ?? throw new InvalidDataException($"{source}: the manifest lists no steps");
                for (int i = 0; i < stepNodes.Count; i++)
                {
                    var context = new ModelLoadContext(archive, source, i, mlContext);
                    if (stepNodes[i] is not JsonObject step || step["settings"] is not JsonObject settings)
                    {
                        throw context.Corrupt("the step is not an object with settings");
                    }

                    string kind = context.String(step, "kind");
                    Func<JsonObject, ModelLoadContext, ITransformer>? loader;
                    lock (Loaders)
                    {
                        Loaders.TryGetValue(kind, out loader);
                    }

                    if (loader is null)
                    {
                        throw context.Corrupt($"unknown step kind '{kind}'");
                    }

                    try
                    {
                        steps.Add(loader(settings, context));
                    }
                    catch (Exception e) when (IsMalformedValue(e))
                    {
                        throw context.Corrupt($"the settings of '{kind}' are invalid: {e.Message}", e);
                    }
                }
            }
            catch
            {
                foreach (IDisposable disposable in steps.OfType<IDisposable>())
                {
                    disposable.Dispose();
                }

                throw;
            }

            return new TransformerChain<ITransformer>([.. steps]);
        }
    }
}

internal static partial class ModelFormat
{
    private static JsonObject TypeToJson(Data.DataViewType type) => type switch
    {
        Data.KeyDataViewType key => new JsonObject { ["kind"] = "Key", ["count"] = key.Count },
        Data.VectorDataViewType vector => new JsonObject
        {
            ["kind"] = "Vector",
            ["item"] = TypeToJson(vector.ItemType),
            ["dimensions"] = new JsonArray([.. vector.Dimensions.Select(d => JsonValue.Create(d))]),
        },
        Data.ImageDataViewType image => new JsonObject { ["kind"] = "Image", ["height"] = image.Height, ["width"] = image.Width },
        _ => new JsonObject { ["kind"] = type.ToString() },
    };

    private static Data.DataViewType TypeFromJson(JsonNode? node, string source)
    {
        string kind = (string?)node?["kind"] ?? throw new InvalidDataException($"{source}: a column type in the manifest has no kind");
        JsonNode type = node!;
        return kind switch
        {
            "Key" => new Data.KeyDataViewType(typeof(uint), (ulong?)type["count"] ?? 0),
            "Vector" => new Data.VectorDataViewType((Data.PrimitiveDataViewType)TypeFromJson(type["item"], source),
                [.. (type["dimensions"] as JsonArray ?? []).Select(d => (int?)d ?? 0)]),
            "Image" => new Data.ImageDataViewType((int?)type["height"] ?? 0, (int?)type["width"] ?? 0),
            "String" => Data.TextDataViewType.Instance,
            "Boolean" => Data.BooleanDataViewType.Instance,
            "Single" => Data.NumberDataViewType.Single,
            "Double" => Data.NumberDataViewType.Double,
            "Int32" => Data.NumberDataViewType.Int32,
            "Int64" => Data.NumberDataViewType.Int64,
            "UInt32" => Data.NumberDataViewType.UInt32,
            "Byte" => Data.NumberDataViewType.Byte,
            _ => throw new InvalidDataException($"{source}: unknown column type '{kind}' in the manifest"),
        };
    }

    private static Data.DataViewSchema SchemaFromJson(JsonArray columns, string source) =>
        new(columns.Select(column => ((string?)column?["name"] ?? throw new InvalidDataException($"{source}: an input column has no name"),
            TypeFromJson(column!["type"], source), (IReadOnlyList<string>?)null)));
}

/// <summary>A step that adds facts to the manifest's top level (class labels, input size, normalisation).</summary>
internal interface ISummarizedStep
{
    void AddSummary(JsonObject manifest);
}
