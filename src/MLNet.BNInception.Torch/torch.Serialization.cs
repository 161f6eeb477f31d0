using MLNet.BNInception.Torch.Serialization;

namespace MLNet.BNInception.Torch;

public static partial class torch
{
    /// <summary>
    /// Saves named tensors in PyTorch's own format, as <c>torch.save(state_dict, path)</c> does, so
    /// Python's <c>torch.load</c> reads the file. Written atomically: a temporary file beside
    /// <paramref name="path"/> is renamed over it only when complete.
    /// </summary>
    public static void save(IEnumerable<KeyValuePair<string, Tensor>> state_dict, string path) => TorchArchive.WriteFile(state_dict, path);

    /// <summary>Saves named tensors in PyTorch's format to <paramref name="stream"/>, which stays open.</summary>
    public static void save(IEnumerable<KeyValuePair<string, Tensor>> state_dict, Stream stream) => TorchArchive.Write(state_dict, stream);

    /// <summary>
    /// Loads a dict of tensors written by <c>torch.save</c> (PyTorch 1.6 or later, or this binding):
    /// a plain dict or the OrderedDict of <c>model.state_dict()</c>; nested dicts are flattened with
    /// '.'. Entries come in file order; the caller owns (and disposes) the tensors.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not such a dict: the message says why.</exception>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> load(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return TorchArchive.Read(file, path);
    }

    /// <summary>Loads a dict of tensors in PyTorch's format from <paramref name="stream"/>.</summary>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> load(Stream stream) => TorchArchive.Read(stream, "the stream");
}
