using System.IO.Compression;
using System.Reflection;
using System.Text;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Cli.ModelFiles;

/// <summary>
/// What a file given as a model is, when ML.NET cannot load it, told from its content: an ONNX model,
/// a training checkpoint (of this version or an earlier one), a PyTorch state dict, an ML.NET model
/// file that is damaged, a damaged zip file, or something else; and why ML.NET refused it, in the words of the exception that says so. ML.NET wraps a
/// loader's failure in several layers of "Error during class instantiation", so its outermost
/// message says nothing of the cause (ONNX Runtime's "Protobuf parsing failed", say).
/// </summary>
internal static class UnloadableModelFile
{
    private const string WhatToGive = "give the .zip file mlContext.Model.Save or 'bninception train' wrote";
    private const string WhatToDo = "restore it from a copy, or train the model again";

    // Messages that say only that something failed below: ML.NET's wrapper around a loader's
    // exception, and the default texts of exceptions thrown without a message of their own
    // (ML.NET's format checks throw FormatException so).
    private static readonly string[] SayNothing =
    [
        "Error during class instantiation",
        new FormatException().Message,
        new InvalidOperationException().Message,
        new InvalidDataException().Message,
        new IOException().Message,
    ];

    /// <summary>
    /// One line that names <paramref name="path"/>, says what the file is and what to give instead or
    /// do, and why loading it failed (<paramref name="error"/>, from ML.NET's loader).
    /// </summary>
    /// <param name="path">The model file as the user gave it.</param>
    /// <param name="file">The file, open and seekable; its position is left anywhere.</param>
    /// <param name="error">What ML.NET's loader threw.</param>
    public static string Describe(string path, Stream file, Exception error)
    {
        string cause = Cause(error);
        ZipArchive? zip = OpenZip(file);
        if (zip is null)
        {
            file.Position = 0;
            if (OnnxImporter.ReadProducerName(file) is string producer)
            {
                return $"'{path}' is an ONNX model (written by {OnnxImporter.DescribeProducer(producer, "")}), not an ML.NET model file: " +
                    $"run it with ONNX Runtime, or {WhatToGive}";
            }

            return FirstEntryName(file) switch
            {
                string entry when IsMLNetEntry(entry) => $"'{path}' is a damaged ML.NET model file, cut short or overwritten ({cause}): {WhatToDo}",
                not null => $"'{path}' is a damaged zip file, cut short or overwritten ({cause}), and not a model ML.NET can load; {WhatToGive}",
                // ML.NET's reasons here are about zip files, and say it less plainly (for a short file, "Invalid argument").
                null => $"'{path}' is not an ML.NET model file: it is not a zip file; {WhatToGive}",
            };
        }

        bool mlnet;
        using (zip)
        {
            mlnet = zip.Entries.Any(entry => IsMLNetEntry(entry.FullName));
        }

        file.Position = 0;
        switch (TrainingCheckpoint.Identify(file, path))
        {
            case TrainingCheckpoint.FileKind.Checkpoint:
                return $"'{path}' is a training checkpoint, which 'bninception train' writes after every epoch, not a model file: give the .zip file " +
                    $"the run saves when it ends (its --out), or continue the run from it with 'bninception train … --resume --checkpoint {path}'";
            case TrainingCheckpoint.FileKind.Format2Checkpoint:
                return $"'{path}' is a training checkpoint of an earlier version of 'bninception train' (format 2), not a model file, and this version " +
                    "cannot resume from it: give the .zip file the run saved when it ended (its --out), or start a new run from its weights with " +
                    $"'bninception train … --init-weights {path}'";
            case TrainingCheckpoint.FileKind.TorchSave when !mlnet:
                return $"'{path}' is a PyTorch file (torch.save's: a state dict, say), not an ML.NET model file: start a training run from its weights " +
                    $"with 'bninception train … --init-weights {path}', or {WhatToGive}";
        }

        if (!mlnet)
        {
            return $"'{path}' is not an ML.NET model file: a zip file, but without the entries ML.NET writes (…/Model.key) ({cause}); {WhatToGive}";
        }

        // The network's entry, what this tool needs from the file, says more than ML.NET's messages
        // when it is what is damaged: those say nothing (a missing entry gives "invalid format"),
        // name ML.NET's own parameters ("ModelFile cannot be null or white space", for an entry
        // zeroed), or quote ONNX Runtime on ML.NET's temporary copy of the entry, gone by now.
        if (NetworkProblem(file, path) is string problem)
        {
            cause = problem;
        }

        return $"'{path}' is a damaged ML.NET model file ({cause}): {WhatToDo}";
    }

    /// <summary>The innermost message that says something, on one line; the whole of it where none does.</summary>
    private static string Cause(Exception error)
    {
        var chain = new List<Exception>();
        for (Exception? inner = error; inner is not null; inner = inner.InnerException)
        {
            chain.Add(inner);
        }

        Exception cause = chain.LastOrDefault(inner => !SaysNothing(inner)) ?? chain[^1];

        // Some messages go on with a stack trace (ML.NET's "Error initializing model :" and the
        // inner exception as text): its first line is the message.
        string message = cause.Message.Split('\n', 2)[0];
        return BnInceptionCommandLine.OneLine(message);
    }

    private static bool SaysNothing(Exception error) =>
        error is TargetInvocationException or AggregateException || SayNothing.Contains(error.Message.Trim(), StringComparer.Ordinal);

    private static string? NetworkProblem(Stream file, string path)
    {
        try
        {
            file.Position = 0;
            _ = BnInceptionModelFile.ReadOnnxModel(file, path);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // The line names the path already, at its start ("'model.zip' is a damaged ML.NET model
            // file (the entry … / holds no ONNX model …)").
            string message = e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message[path.Length..].TrimStart(':', ' ') : e.Message;
            return BnInceptionCommandLine.OneLine(message);
        }
    }

    private static ZipArchive? OpenZip(Stream file)
    {
        try
        {
            file.Position = 0;
            var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            _ = zip.Entries.Count;
            return zip;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return null;
        }
    }

    // Every object ML.NET saves has an entry Model.key (its loader's name and version), in a folder
    // named after the object; TrainingInfo/Version.txt, ML.NET's version, comes first in the file.
    // Saved on Windows, the names have '\' for '/'.
    private static bool IsMLNetEntry(string name) =>
        name.Replace('\\', '/') is "TrainingInfo/Version.txt" or "Model.key" || name.Replace('\\', '/').EndsWith("/Model.key", StringComparison.Ordinal);

    /// <summary>
    /// The name in a zip file's first local header, read from the start of the file (a zip file cut
    /// short has lost its central directory, at its end, but not its first entries); null when the
    /// file does not start with one.
    /// </summary>
    private static string? FirstEntryName(Stream file)
    {
        // The local file header: signature PK\3\4, then 22 bytes, the name's length (2 bytes, at 26),
        // the extra field's length (2), and the name.
        const int NameLengthOffset = 26, NameOffset = 30;
        var header = new byte[NameOffset];
        file.Position = 0;
        if (file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length || !header.AsSpan(0, 4).SequenceEqual("PK\u0003\u0004"u8))
        {
            return null;
        }

        var name = new byte[header[NameLengthOffset] | (header[NameLengthOffset + 1] << 8)];
        return file.ReadAtLeast(name, name.Length, throwOnEndOfStream: false) == name.Length ? Encoding.UTF8.GetString(name) : null;
    }
}
