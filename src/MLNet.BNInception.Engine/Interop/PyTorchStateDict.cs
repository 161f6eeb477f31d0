using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>
/// Named tensors in PyTorch's own file format, both ways: files that Python's <c>torch.load</c>
/// reads (and <c>model.load_state_dict</c> accepts), and files that <c>torch.save</c> wrote,
/// <c>model.state_dict()</c>'s OrderedDict included. TorchSharp's own <c>save</c>/<c>load</c> use a
/// format of TorchSharp's, which Python cannot read; this one is what moves weights to and from PyTorch.
/// </summary>
public static class PyTorchStateDict
{
    /// <summary>
    /// Saves named tensors as <c>torch.save(state_dict, path)</c> does. Values are saved detached,
    /// each compact in row-major order whatever its layout or device. Written atomically: a temporary
    /// file beside <paramref name="path"/> is renamed over it only once complete, so a failure or a
    /// kill leaves any previous file as it was.
    /// </summary>
    /// <exception cref="ArgumentException">A key is null or repeated, or a value is null or disposed.</exception>
    /// <exception cref="NotSupportedException">A tensor's element type has no PyTorch storage (a complex type, say), or it holds more than 2 GB.</exception>
    public static void Save(IEnumerable<KeyValuePair<string, Tensor>> stateDict, string path)
    {
        TorchRuntime.EnsureLoaded();
        TorchArchive.WriteFile(stateDict, path);
    }

    /// <summary>
    /// Saves named tensors in PyTorch's format to <paramref name="stream"/>, which stays open. Every
    /// entry is checked first, so an entry that cannot be saved leaves the stream untouched.
    /// </summary>
    /// <exception cref="ArgumentException">A key is null or repeated, or a value is null or disposed.</exception>
    /// <exception cref="NotSupportedException">A tensor's element type has no PyTorch storage (a complex type, say), or it holds more than 2 GB.</exception>
    public static void Save(IEnumerable<KeyValuePair<string, Tensor>> stateDict, Stream stream)
    {
        TorchRuntime.EnsureLoaded();
        TorchArchive.Write(stateDict, stream);
    }

    /// <summary>
    /// Loads a dict of tensors written by <c>torch.save</c> (PyTorch 1.6 or later, or this class): a
    /// plain dict or the OrderedDict of <c>model.state_dict()</c>; nested dicts are flattened with
    /// '.'. Entries come in file order, each tensor compact in memory of its own and on the CPU
    /// whatever device it was saved from. Like other new tensors they belong to the open dispose
    /// scope, if any; otherwise the caller disposes them.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not such a dict: the message says why.</exception>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Load(string path)
    {
        TorchRuntime.EnsureLoaded();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return TorchArchive.Read(file, path);
    }

    /// <summary>Loads a dict of tensors in PyTorch's format from <paramref name="stream"/>, as <see cref="Load(string)"/> does.</summary>
    /// <exception cref="InvalidDataException">The stream does not hold such a dict: the message says why.</exception>
    public static IReadOnlyList<KeyValuePair<string, Tensor>> Load(Stream stream)
    {
        TorchRuntime.EnsureLoaded();
        return TorchArchive.Read(stream, "the stream");
    }

    /// <summary>
    /// Copies <paramref name="stateDict"/> into <paramref name="module"/>'s parameters and buffers,
    /// keeping their layout and device. Unlike TorchSharp's <c>load_state_dict</c>, a mismatch is an
    /// error that names the keys, and a shape mismatch is never broadcast; nothing is copied unless
    /// everything matches.
    /// </summary>
    /// <param name="module">The module to fill.</param>
    /// <param name="stateDict">Named tensors, e.g. from <see cref="Load(string)"/>.</param>
    /// <param name="strict">Require exactly the module's keys (default); false ignores extra entries and leaves missing ones as they are.</param>
    /// <param name="source">Names the data in error messages (a file path, say).</param>
    /// <exception cref="InvalidDataException">Keys, shapes or element kinds do not match.</exception>
    public static void LoadInto(nn.Module module, IEnumerable<KeyValuePair<string, Tensor>> stateDict, bool strict = true, string source = "the state dict")
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(stateDict);
        Dictionary<string, Tensor> targets = module.state_dict();
        var given = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach ((string key, Tensor value) in stateDict)
        {
            if (!given.TryAdd(key, value))
            {
                throw new InvalidDataException($"{source} has two entries named '{key}'.");
            }
        }

        if (strict)
        {
            string[] missing = targets.Keys.Where(key => !given.ContainsKey(key)).ToArray();
            string[] unexpected = given.Keys.Where(key => !targets.ContainsKey(key)).ToArray();
            if (missing.Length > 0 || unexpected.Length > 0)
            {
                throw new InvalidDataException(
                    $"{source} does not match the {module.GetName()} it is loaded into: " +
                    (missing.Length > 0 ? $"missing {Describe(missing)}" : "") +
                    (missing.Length > 0 && unexpected.Length > 0 ? "; " : "") +
                    (unexpected.Length > 0 ? $"unexpected {Describe(unexpected)}" : "") + ".");
            }
        }

        var pairs = targets.Where(target => given.ContainsKey(target.Key)).Select(target => (target.Key, Target: target.Value, Value: given[target.Key])).ToList();
        foreach ((string key, Tensor target, Tensor value) in pairs)
        {
            if (!target.shape.SequenceEqual(value.shape))
            {
                throw new InvalidDataException(
                    $"{source}: '{key}' has shape [{string.Join(", ", value.shape)}], the model's is [{string.Join(", ", target.shape)}].");
            }

            if (is_floating_point(target) != is_floating_point(value))
            {
                throw new InvalidDataException($"{source}: '{key}' holds {value.dtype} values, the model's holds {target.dtype}.");
            }
        }

        using IDisposable noGrad = no_grad();
        foreach ((_, Tensor target, Tensor value) in pairs)
        {
            target.copy_(value);
        }
    }

    private static string Describe(string[] keys) =>
        string.Join(", ", keys.Take(5).Select(key => $"'{key}'")) + (keys.Length > 5 ? $" and {keys.Length - 5} more" : "");
}
