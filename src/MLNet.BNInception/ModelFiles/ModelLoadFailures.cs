using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;

namespace MLNet.BNInception.ModelFiles;

/// <summary>
/// A failed <c>mlContext.Model.Load</c>: the copies of the network it left in the context's
/// temporary folder (<c>MLContext.TempFilePath</c>), deleted, and what it threw, said as what it is.
/// <para>
/// ML.NET's OnnxTransformer writes the network it loads (about 40 MB for ten classes) to a file of
/// that folder named by <c>Path.GetRandomFileName()</c>, and deletes it only once ONNX Runtime has
/// read it: a load that fails in between (the folder full or unwritable, a network ONNX Runtime
/// refuses) leaves it for good. The folder may be shared with other loads, of this process or
/// another, and ML.NET tells of the copy only by its path in the error. So a file is deleted only
/// when it is this load's copy beyond doubt: named so, not in the folder when the load began, and
/// named in the load's error; or, where ONNX Runtime refused a copy named <c>*.ort</c> (its error
/// names no file), the only such file that is new. Anything else in the folder is left alone.
/// </para>
/// </summary>
internal static partial class ModelLoadFailures
{
    /// <summary>
    /// Runs <paramref name="load"/>, one <c>Model.Load</c> in a context whose TempFilePath is
    /// <paramref name="temporaryFolder"/>; when it fails, deletes the copies of the network it left
    /// there, then throws what it threw.
    /// </summary>
    public static T LeavingNoCopies<T>(string temporaryFolder, Func<T> load)
    {
        IReadOnlySet<string>? before = CopyLikeFiles(temporaryFolder);
        try
        {
            return load();
        }
        catch (Exception failure) when (before is not null)
        {
            foreach (string copy in CopiesLeftBy(failure, temporaryFolder, before))
            {
                try
                {
                    File.Delete(copy);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Left as before: the load's own failure is the one to report.
                }
            }

            throw;
        }
    }

    /// <summary>
    /// What to throw for <paramref name="failure"/>, a load of <paramref name="source"/> in a context
    /// whose TempFilePath is <paramref name="temporaryFolder"/>: an <see cref="IOException"/> when the
    /// folder could not take ML.NET's files, an <see cref="InvalidDataException"/> when the file's
    /// content is at fault, each naming the file; null for anything else, to be thrown as it is.
    /// </summary>
    public static Exception? Explained(Exception failure, string source, string temporaryFolder)
    {
        Exception[] chain = Chain(failure).ToArray();

        // The innermost write failure in the folder, what the system said; ML.NET's reflection wraps
        // it in three TargetInvocationExceptions. The model file itself may lie in the folder, and a
        // failure to read it is not the folder's.
        if (chain.LastOrDefault(e => e is IOException or UnauthorizedAccessException && NamesAFileIn(e.Message, temporaryFolder)
            && !e.Message.Contains(source, StringComparison.Ordinal)) is { } written)
        {
            return new IOException(
                $"{source} cannot be loaded: ML.NET cannot write the files it makes to load it in its temporary folder " +
                $"'{Path.TrimEndingDirectorySeparator(Path.GetFullPath(temporaryFolder))}' (MLContext.TempFilePath): {FirstLine(written)}. " +
                "Free space there (a load needs about twice the size of the model's network, some 80 MB for ten classes), " +
                "or set the MLContext's TempFilePath to a folder with room that this process can write to.",
                written);
        }

        // ML.NET's loaders throw FormatException for content they cannot decode, a zip's reader
        // InvalidDataException, and ONNX Runtime, naming ML.NET's copy, refuses a network it cannot read.
        if (chain.Any(e => e is FormatException or InvalidDataException || (e is OnnxRuntimeException && NamesAFileIn(e.Message, temporaryFolder))))
        {
            return new InvalidDataException(
                $"{source} cannot be loaded by ML.NET: {FirstLine(chain[^1])}. The file is damaged, or is not a model file ML.NET wrote.", failure);
        }

        return null;
    }

    private static IEnumerable<string> CopiesLeftBy(Exception failure, string temporaryFolder, IReadOnlySet<string> before)
    {
        string[] created = CopyLikeFiles(temporaryFolder)?.Except(before).ToArray() ?? [];
        string[] messages = Chain(failure).Select(e => e.Message).ToArray();
        string[] named = created.Where(name => messages.Any(message => Names(message, temporaryFolder, name))).ToArray();
        if (named.Length > 0)
        {
            return named.Select(name => Path.Combine(temporaryFolder, name));
        }

        // This load wrote its copy and ML.NET did not delete it, so it is among the new *.ort files;
        // a load beside it in the same folder that drew such a name too makes two, and both stay.
        string[] refusedAsOrt = created.Where(name => name.EndsWith(".ort", StringComparison.Ordinal)).ToArray();
        return BnInceptionModelFile.IsOrtFormatMisreading(failure) && refusedAsOrt.Length == 1 ? [Path.Combine(temporaryFolder, refusedAsOrt[0])] : [];
    }

    // The names of the regular files directly in the folder that Path.GetRandomFileName could have
    // named; empty when the folder does not exist yet (ML.NET creates it), null when it cannot be
    // listed (then what was there before is unknown, and nothing is deleted).
    private static HashSet<string>? CopyLikeFiles(string temporaryFolder)
    {
        try
        {
            return !Directory.Exists(temporaryFolder) ? []
                : new DirectoryInfo(temporaryFolder).EnumerateFiles()
                    .Where(file => file.LinkTarget is null && RandomFileName().IsMatch(file.Name))
                    .Select(file => file.Name).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    // ONNX Runtime names the copy as ML.NET combined it (the folder as the context has it), .NET's
    // file errors by its full path.
    private static bool Names(string message, string temporaryFolder, string name) =>
        message.Contains(Path.Combine(temporaryFolder, name), StringComparison.Ordinal)
        || message.Contains(Path.Combine(Path.GetFullPath(temporaryFolder), name), StringComparison.Ordinal);

    private static bool NamesAFileIn(string message, string temporaryFolder) =>
        message.Contains(Path.TrimEndingDirectorySeparator(temporaryFolder) + Path.DirectorySeparatorChar, StringComparison.Ordinal)
        || message.Contains(Path.TrimEndingDirectorySeparator(Path.GetFullPath(temporaryFolder)) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static IEnumerable<Exception> Chain(Exception failure)
    {
        for (Exception? inner = failure; inner is not null; inner = inner.InnerException)
        {
            yield return inner;
        }
    }

    // ML.NET's "Error initializing model :" goes on with the inner exception and its stack trace.
    private static string FirstLine(Exception e) => e.Message.Split('\n', 2)[0].Trim().TrimEnd('.');

    [GeneratedRegex("^[a-z0-5]{8}\\.[a-z0-5]{3}$")]
    private static partial Regex RandomFileName();
}
