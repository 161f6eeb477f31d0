using ProtoBuf;

// The subset of ONNX's protobuf schema (onnx/onnx.proto) that an exported BN-Inception uses, written
// as protobuf-net contracts. Field numbers are the schema's; names follow it in C# casing. Kept in
// one file because together they are one description of the format.
#pragma warning disable SA1402, SA1649 // several message types, one schema

namespace MLNet.BNInception.Engine.Onnx;

[ProtoContract]
internal sealed class ModelProto
{
    [ProtoMember(1)] public long IrVersion { get; set; }
    [ProtoMember(2)] public string ProducerName { get; set; } = "";
    [ProtoMember(3)] public string ProducerVersion { get; set; } = "";
    [ProtoMember(4)] public string Domain { get; set; } = "";
    [ProtoMember(5)] public long ModelVersion { get; set; }
    [ProtoMember(6)] public string DocString { get; set; } = "";
    [ProtoMember(7, IsRequired = true)] public GraphProto Graph { get; set; } = new();
    [ProtoMember(8)] public List<OperatorSetIdProto> OpsetImport { get; } = [];
    [ProtoMember(14)] public List<StringStringEntryProto> MetadataProps { get; } = [];
}

[ProtoContract]
internal sealed class OperatorSetIdProto
{
    [ProtoMember(1)] public string Domain { get; set; } = "";
    [ProtoMember(2)] public long Version { get; set; }
}

[ProtoContract]
internal sealed class StringStringEntryProto
{
    [ProtoMember(1)] public string Key { get; set; } = "";
    [ProtoMember(2)] public string Value { get; set; } = "";
}

[ProtoContract]
internal sealed class GraphProto
{
    [ProtoMember(1)] public List<NodeProto> Node { get; } = [];
    [ProtoMember(2)] public string Name { get; set; } = "";
    [ProtoMember(5)] public List<TensorProto> Initializer { get; } = [];
    [ProtoMember(10)] public string DocString { get; set; } = "";
    [ProtoMember(11)] public List<ValueInfoProto> Input { get; } = [];
    [ProtoMember(12)] public List<ValueInfoProto> Output { get; } = [];
}

[ProtoContract]
internal sealed class NodeProto
{
    [ProtoMember(1)] public List<string> Input { get; } = [];
    [ProtoMember(2)] public List<string> Output { get; } = [];
    [ProtoMember(3)] public string Name { get; set; } = "";
    [ProtoMember(4)] public string OpType { get; set; } = "";
    [ProtoMember(5)] public List<AttributeProto> Attribute { get; } = [];
    [ProtoMember(7)] public string Domain { get; set; } = "";
}

internal enum AttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Floats = 6,
    Ints = 7,
    Strings = 8,
}

[ProtoContract]
internal sealed class AttributeProto
{
    [ProtoMember(1)] public string Name { get; set; } = "";
    [ProtoMember(2)] public float? F { get; set; }
    [ProtoMember(3)] public long? I { get; set; }
    [ProtoMember(4)] public byte[]? S { get; set; }
    [ProtoMember(7, IsPacked = true)] public List<float> Floats { get; } = [];
    [ProtoMember(8, IsPacked = true)] public List<long> Ints { get; } = [];
    [ProtoMember(9)] public List<byte[]> Strings { get; } = [];
    [ProtoMember(20)] public AttributeType Type { get; set; }
}

/// <summary>Element types of TensorProto.DataType that the export uses.</summary>
internal enum OnnxDataType
{
    Float = 1,
    Int64 = 7,
    String = 8,
}

[ProtoContract]
internal sealed class TensorProto
{
    [ProtoMember(1, IsPacked = true)] public List<long> Dims { get; } = [];
    [ProtoMember(2)] public int DataType { get; set; }
    [ProtoMember(6)] public List<byte[]> StringData { get; } = [];
    [ProtoMember(8)] public string Name { get; set; } = "";
    [ProtoMember(9)] public byte[]? RawData { get; set; }
}

[ProtoContract]
internal sealed class ValueInfoProto
{
    [ProtoMember(1)] public string Name { get; set; } = "";
    [ProtoMember(2, IsRequired = true)] public TypeProto Type { get; set; } = new();
    [ProtoMember(3)] public string DocString { get; set; } = "";
}

[ProtoContract]
internal sealed class TypeProto
{
    [ProtoMember(1, IsRequired = true)] public TensorTypeProto TensorType { get; set; } = new();
}

[ProtoContract]
internal sealed class TensorTypeProto
{
    [ProtoMember(1)] public int ElemType { get; set; }
    [ProtoMember(2, IsRequired = true)] public TensorShapeProto Shape { get; set; } = new();
}

[ProtoContract]
internal sealed class TensorShapeProto
{
    [ProtoMember(1)] public List<DimensionProto> Dim { get; } = [];
}

[ProtoContract]
internal sealed class DimensionProto
{
    [ProtoMember(1)] public long? DimValue { get; set; }
    [ProtoMember(2)] public string? DimParam { get; set; }
}
