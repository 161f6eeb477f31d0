using System.Globalization;
using ProtoBuf;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// Checks that a file's graph is the one our exporter writes for the network read from it: the same
/// inputs and outputs, nodes (operators, names, wiring, attributes) and initializers (names, types,
/// shapes, values), in the same order. Descriptions and metadata are not compared: they are prose
/// the importer does not act on.
/// </summary>
internal static class OnnxGraphComparison
{
    public static void Check(GraphProto actual, GraphProto expected, string source, string described)
    {
        InvalidDataException Differs(string what, string written) => new(
            $"{source}: {what}, where MLNet.BNInception's ONNX exporter writes {written} for {described} with the settings read from the file " +
            "(the file was changed, or written by a version this one does not know).");

        CheckList("input", actual.Input, expected.Input, Describe, Differs);
        CheckList("output", actual.Output, expected.Output, Describe, Differs);
        CheckList("node", actual.Node, expected.Node, Describe, Differs, SameNode);
        CheckList("initializer", actual.Initializer, expected.Initializer, Describe, Differs, SameInitializer);
    }

    private static void CheckList<T>(string kind, List<T> actual, List<T> expected, Func<T, string> describe,
        Func<string, string, InvalidDataException> differs, Func<T, T, bool>? same = null)
    {
        same ??= (a, b) => describe(a) == describe(b);
        int common = Math.Min(actual.Count, expected.Count);
        for (int i = 0; i < common; i++)
        {
            if (!same(actual[i], expected[i]))
            {
                string actualText = describe(actual[i]), expectedText = describe(expected[i]);
                throw actualText == expectedText
                    ? differs($"{kind} {i}, {actualText}, holds other values", "other values")
                    : differs($"{kind} {i} is {actualText}", expectedText);
            }
        }

        if (actual.Count != expected.Count)
        {
            string first = actual.Count > expected.Count ? $", the first extra one {describe(actual[common])}" : "";
            throw differs($"the graph has {actual.Count} {kind}s{first}", $"{expected.Count}");
        }
    }

    // Compared as protobuf-net writes them, which puts every field in one canonical form.
    private static bool SameNode(NodeProto a, NodeProto b) => Bytes(a).AsSpan().SequenceEqual(Bytes(b));

    private static bool SameInitializer(TensorProto a, TensorProto b) =>
        Describe(a) == Describe(b)
        && (a.RawData ?? []).AsSpan().SequenceEqual(b.RawData ?? [])
        && a.StringData.Count == b.StringData.Count
        && a.StringData.Zip(b.StringData, (x, y) => x.AsSpan().SequenceEqual(y)).All(equal => equal);

    private static byte[] Bytes<T>(T message)
    {
        using var stream = new MemoryStream();
        Serializer.Serialize(stream, message);
        return stream.ToArray();
    }

    private static string Describe(ValueInfoProto value)
    {
        TensorTypeProto type = value.Type.TensorType;
        IEnumerable<string> dims = type.Shape.Dim.Select(dim => dim.DimValue?.ToString(CultureInfo.InvariantCulture) ?? dim.DimParam ?? "?");
        return $"'{value.Name}' ({TypeName(type.ElemType)} [{string.Join(", ", dims)}])";
    }

    private static string Describe(NodeProto node)
    {
        string domain = node.Domain.Length == 0 ? "" : $"{node.Domain}.";
        string attributes = string.Concat(node.Attribute.Select(attribute => $", {attribute.Name}={Describe(attribute)}"));
        return $"{domain}{node.OpType} '{node.Name}' ({string.Join(", ", node.Input)} -> {string.Join(", ", node.Output)}{attributes})";
    }

    private static string Describe(AttributeProto attribute) => attribute.Type switch
    {
        AttributeType.Float => attribute.F?.ToString("R", CultureInfo.InvariantCulture) ?? "?",
        AttributeType.Int => attribute.I?.ToString(CultureInfo.InvariantCulture) ?? "?",
        AttributeType.Ints => $"[{string.Join(", ", attribute.Ints)}]",
        AttributeType.Floats => $"[{string.Join(", ", attribute.Floats.Select(f => f.ToString("R", CultureInfo.InvariantCulture)))}]",
        AttributeType.Strings => $"{attribute.Strings.Count} strings",
        _ => attribute.Type.ToString(),
    };

    private static string Describe(TensorProto initializer) =>
        $"'{initializer.Name}' ({TypeName(initializer.DataType)} {OnnxImporter.DescribeShape(initializer.Dims)})";

    private static string TypeName(int dataType) => dataType switch
    {
        (int)OnnxDataType.Float => "float32",
        (int)OnnxDataType.Int64 => "int64",
        (int)OnnxDataType.String => "string",
        _ => $"ONNX data type {dataType}",
    };
}
