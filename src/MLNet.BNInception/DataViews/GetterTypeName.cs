namespace MLNet.BNInception.DataViews;

/// <summary>
/// A getter's value type as its caller wrote it, for the error that refuses a getter of the wrong type:
/// <c>Type.Name</c> of a generic type is its metadata name (<c>VBuffer`1</c>), which says
/// neither what was asked for nor what would be valid.
/// </summary>
internal static class GetterTypeName
{
    /// <summary><c>VBuffer&lt;Double&gt;</c> for <c>VBuffer`1</c> of Double, nested generics included; other types by their name.</summary>
    public static string Of(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.IsArray)
        {
            return $"{Of(type.GetElementType()!)}[{new string(',', type.GetArrayRank() - 1)}]";
        }

        if (!type.IsGenericType)
        {
            return type.Name;
        }

        string name = type.Name;
        int tick = name.IndexOf('`', StringComparison.Ordinal);
        return $"{(tick < 0 ? name : name[..tick])}<{string.Join(", ", type.GetGenericArguments().Select(Of))}>";
    }
}
