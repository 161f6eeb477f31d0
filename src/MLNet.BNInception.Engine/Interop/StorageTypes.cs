using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>
/// The one description of how PyTorch's zip format names things, shared by the writer and the
/// reader: storage classes per element type, record paths, and the format version.
/// </summary>
internal static class StorageTypes
{
    /// <summary>Contents of the <c>version</c> record torch.save 1.13 writes.</summary>
    public const string FormatVersion = "3\n";

    /// <summary>
    /// Top folder of every record we write. torch.load accepts any name: torch.save 1.13 uses the
    /// file's stem, later versions use this fixed one, which keeps the bytes independent of the path.
    /// </summary>
    public const string ArchiveName = "archive";

    public const string PickleRecord = "data.pkl";

    /// <summary>The folder of the storage records, <c>data/0</c>, <c>data/1</c>, ….</summary>
    public const string StorageFolder = "data";
    public const string VersionRecord = "version";

    /// <summary>Written by PyTorch 2.1 and later only: "little" or "big".</summary>
    public const string ByteOrderRecord = "byteorder";
    public const string LittleEndian = "little";

    /// <summary>Records that only torch.jit.save writes, beside a data.pkl of its own.</summary>
    public const string TorchScriptConstantsRecord = "constants.pkl";
    public const string TorchScriptCodeFolder = "code/";

    private static readonly (ScalarType Type, string Name)[] Names =
    [
        (ScalarType.Float32, "FloatStorage"),
        (ScalarType.Float64, "DoubleStorage"),
        (ScalarType.Float16, "HalfStorage"),
        (ScalarType.BFloat16, "BFloat16Storage"),
        (ScalarType.Int64, "LongStorage"),
        (ScalarType.Int32, "IntStorage"),
        (ScalarType.Int16, "ShortStorage"),
        (ScalarType.Int8, "CharStorage"),
        (ScalarType.Byte, "ByteStorage"),
        (ScalarType.Bool, "BoolStorage"),
    ];

    /// <summary>The element types that can be saved, for error messages.</summary>
    public static string SavedTypes => string.Join(", ", Names.Select(entry => entry.Type));

    /// <summary>Whether tensors of <paramref name="type"/> have a storage class, so can be saved.</summary>
    public static bool IsSaved(ScalarType type) => Names.Any(entry => entry.Type == type);

    /// <summary>The class name in module <c>torch</c> of the storage holding <paramref name="type"/> elements.</summary>
    public static string NameOf(ScalarType type) =>
        Names.FirstOrDefault(entry => entry.Type == type).Name
        ?? throw new NotSupportedException($"{type} tensors cannot be saved in PyTorch's format.");

    /// <summary>The element type of storage class <c>torch.{name}</c>, if it is one.</summary>
    public static bool TryParse(string name, out ScalarType type)
    {
        foreach ((ScalarType candidate, string candidateName) in Names)
        {
            if (candidateName == name)
            {
                type = candidate;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Record path of the storage with key <paramref name="key"/>, relative to the archive folder.</summary>
    public static string StorageRecord(string key) => StorageFolder + "/" + key;
}
