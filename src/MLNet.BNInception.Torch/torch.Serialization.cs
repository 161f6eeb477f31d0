using MLNet.BNInception.Torch.Serialization;

namespace MLNet.BNInception.Torch;

public static partial class torch
{
    /// <summary>
    /// Saves named tensors in PyTorch's own format, as <c>torch.save(state_dict, path)</c> does, so
    /// Python's <c>torch.load</c> reads the file (and <c>model.load_state_dict</c> accepts it). The
    /// values are saved detached, each compact in row-major order. Written atomically: a temporary
    /// file beside <paramref name="path"/> is renamed over it only once complete, so a failure
    /// leaves any previous file as it was.
    /// </summary>
    /// <exception cref="ArgumentException">A key is null or repeated, or a value is null.</exception>
    public static void save(IEnumerable<KeyValuePair<string, Tensor>> stateDict, string path) => TorchArchive.WriteFile(stateDict, path);

    /// <summary>Saves named tensors in PyTorch's format to <paramref name="stream"/>, which stays open.</summary>
    /// <exception cref="ArgumentException">A key is null or repeated, or a value is null.</exception>
    public static void save(IEnumerable<KeyValuePair<string, Tensor>> stateDict, Stream stream) => TorchArchive.Write(stateDict, stream);

    /// <summary>
    /// Loads a dict of tensors written by <c>torch.save</c> (PyTorch 1.6 or later, or this binding):
    /// a plain dict or the OrderedDict of <c>model.state_dict()</c>; nested dicts are flattened with
    /// '.'. Entries come in file order, each tensor compact in memory of its own and on the CPU
    /// whatever device it was saved from. Like other new tensors they belong to the open
    /// <see cref="DisposeScope"/>, if any; otherwise the caller disposes them.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not such a dict: the message says why.</exception>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> load(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return TorchArchive.Read(file, path);
    }

    /// <summary>Loads a dict of tensors in PyTorch's format from <paramref name="stream"/>, as <see cref="load(string)"/> does.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold such a dict: the message says why.</exception>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> load(Stream stream) => TorchArchive.Read(stream, "the stream");
}
