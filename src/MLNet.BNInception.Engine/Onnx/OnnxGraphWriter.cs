using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// Accumulates nodes and initializers with unique names; the exporter describes the network through it.
/// The names the caller chose for the graph's input and outputs are taken from the start: a node's
/// output that would have one of them gets a suffix instead (ONNX requires each value to be named
/// once), and a weight that would have one of them is refused, as the importer finds weights by name.
/// </summary>
internal sealed class OnnxGraphWriter
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _rolesOfCallersNames;
    private readonly Dictionary<string, string> _int64Initializers = new(StringComparer.Ordinal);

    /// <param name="callersNames">The graph's input and output names as the caller chose them (distinct), each with its role ("input", say).</param>
    public OnnxGraphWriter(params IEnumerable<(string Role, string Name)> callersNames)
    {
        _rolesOfCallersNames = callersNames.ToDictionary(entry => entry.Name, entry => entry.Role, StringComparer.Ordinal);
        _names.UnionWith(_rolesOfCallersNames.Keys);
    }

    public GraphProto Graph { get; } = new() { Name = "bn_inception" };

    /// <summary>Adds a float32 constant holding <paramref name="tensor"/>'s values and returns its name.</summary>
    public string Initializer(string name, Tensor tensor)
    {
        // Row-major float32 on the CPU, whatever the tensor's layout, type or device. The scope holds
        // each tensor of the chain until its bytes are read: one dropped mid-chain can be freed by a
        // collection during the next native call (docs/engine.md, "Tensors that stay alive").
        if (_rolesOfCallersNames.TryGetValue(name, out string? role))
        {
            throw new OnnxNameTakenException(
                $"The {role} name '{name}' is the name of one of the graph's constants (the network's weights, and the normalisation's and resize's where the graph has them), by which the importer reads them back: choose another.");
        }

        using DisposeScope scope = NewDisposeScope();
        Tensor values = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        var proto = new TensorProto { Name = Unique(name), DataType = (int)OnnxDataType.Float, RawData = values.bytes.ToArray() };
        proto.Dims.AddRange(values.shape);
        Graph.Initializer.Add(proto);
        GC.KeepAlive(tensor);
        return proto.Name;
    }

    /// <summary>Adds an int64 constant (e.g. the pads input of Pad) once per name and returns its name.</summary>
    public string Int64Initializer(string name, params long[] values)
    {
        if (_int64Initializers.TryGetValue(name, out string? written))
        {
            return written;
        }

        var bytes = new byte[values.Length * sizeof(long)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(bytes);
        var proto = new TensorProto { Name = Unique(name), DataType = (int)OnnxDataType.Int64, RawData = bytes };
        proto.Dims.Add(values.Length);
        Graph.Initializer.Add(proto);
        _int64Initializers.Add(name, proto.Name);
        return proto.Name;
    }

    /// <summary>Adds a node and returns the name of its (single) output.</summary>
    public string Node(string opType, string name, IEnumerable<string> inputs, params AttributeProto[] attributes) =>
        NodeWithOutput(opType, name, inputs, Unique(name), attributes);

    /// <summary>A name for a value inside the graph: <paramref name="name"/>, or it with a suffix when that is taken.</summary>
    public string InternalName(string name) => Unique(name);

    /// <summary>Adds a node whose output has the given graph-level name.</summary>
    public string NodeWithOutput(string opType, string name, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return output;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeType.Float, F = value };

    /// <summary>A float32 tensor value of the given dimensions; a string dimension is symbolic (the batch).</summary>
    public static ValueInfoProto FloatValue(string name, string doc, params object[] dims)
    {
        var info = new ValueInfoProto { Name = name, DocString = doc, Type = { TensorType = { ElemType = (int)OnnxDataType.Float } } };
        foreach (object dim in dims)
        {
            info.Type.TensorType.Shape.Dim.Add(dim is string symbol ? new DimensionProto { DimParam = symbol } : new DimensionProto { DimValue = Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture) });
        }

        return info;
    }

    private string Unique(string name)
    {
        string candidate = name;
        for (int i = 1; !_names.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }
}

/// <summary>
/// An input or output name the caller chose is one of the graph's constants' names: an
/// <see cref="ArgumentException"/> of its own, so that a caller who passed a name on (the ML.NET
/// layer, the features column's) can say which of its names it was.
/// </summary>
internal sealed class OnnxNameTakenException(string message) : ArgumentException(message, "options");
