using System.Text.Json.Nodes;
using MLNet.BNInception.Data;

namespace MLNet.BNInception.Transforms;

/// <summary>
/// A fitted step that adds one column computed from one input column (ML.NET's one-to-one
/// transformers): the column names, the output schema, and the model-file plumbing they share.
/// </summary>
public abstract class OneToOneColumnTransformer : IPersistentTransformer
{
    private protected OneToOneColumnTransformer(string outputColumnName, string inputColumnName)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
    }

    /// <summary>The column this step adds (hiding an input column of the same name).</summary>
    public string OutputColumnName { get; }

    /// <summary>The column it reads.</summary>
    public string InputColumnName { get; }

    string IPersistentTransformer.Kind => Kind;

    /// <summary>The kind name written to the model manifest.</summary>
    private protected abstract string Kind { get; }

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Transform(new EmptyDataView(inputSchema)).Schema;

    /// <inheritdoc/>
    public abstract IDataView Transform(IDataView input);

    JsonObject IPersistentTransformer.Save(ModelSaveContext context) => SaveSettings(context);

    /// <summary>The step's settings for the manifest, column names included.</summary>
    private protected abstract JsonObject SaveSettings(ModelSaveContext context);
}
