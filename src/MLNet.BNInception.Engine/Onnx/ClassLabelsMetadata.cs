using System.Text.Encodings.Web;
using System.Text.Json;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// The class names an export records in its metadata (<see cref="Key"/>, a JSON list of strings),
/// read alike by the importer and by the tool's ONNX Runtime network.
/// </summary>
internal static class ClassLabelsMetadata
{
    /// <summary>The metadata key.</summary>
    public const string Key = "class_labels";

    /// <summary>The names in <paramref name="json"/>, by class index.</summary>
    /// <exception cref="InvalidDataException">It is not a JSON list of strings, or it names a class twice.</exception>
    public static string[] Parse(string json, string source)
    {
        string[]? labels;
        try
        {
            labels = JsonSerializer.Deserialize<string[]>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: the metadata {Key} is not a JSON array of strings: {e.Message}", e);
        }

        if (labels is null || labels.Any(label => label is null))
        {
            throw new InvalidDataException($"{source}: the metadata {Key} is not a JSON array of strings (it holds null).");
        }

        // Two classes of one name could not be told apart in the predictions. The name is quoted as
        // JSON, so that a line break or control character in it cannot split or garble the message.
        return labels.CountBy(label => label, StringComparer.Ordinal).FirstOrDefault(group => group.Value > 1) is { Key: { } repeated }
            ? throw new InvalidDataException($"{source}: the metadata {Key} names {Quoted(repeated)} more than once.")
            : labels;
    }

    private static string Quoted(string name) =>
        JsonSerializer.Serialize(name, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
