using MLNet.BNInception.IO;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// A file a command reads or writes, as its messages name it: the option that gives the path and,
/// for a file the command derives from that path (the job record beside the predictions), what it is.
/// </summary>
internal sealed record CommandFile(string Option, string Path, string? Role = null)
{
    public override string ToString() => Role is null ? $"{Option} '{Path}'" : $"{Role} '{Path}' (from {Option})";
}

/// <summary>
/// The checks of a command's files that come before any work: every file it writes can be created
/// (its folder exists and takes new files, and the path is not a folder), and none of them is a file it reads or another
/// file it writes. Files are compared as the kernel sees them, by device and inode, so that a
/// symbolic or hard link to the input list is caught as surely as the same path.
/// </summary>
internal static class CommandFiles
{
    /// <summary>
    /// A folder of this process's own for a model's files, in the temporary folder (<c>$TMPDIR</c>);
    /// the caller deletes it with <see cref="TemporaryModelFolder.Delete"/>.
    /// </summary>
    /// <exception cref="CommandLineException">No folder can be made there (<see cref="ExitCodes.UnreadableInput"/>); the message names the folder and says to set TMPDIR.</exception>
    public static string NewTemporaryModelFolder()
    {
        try
        {
            return TemporaryModelFolder.Create();
        }
        catch (IOException e)
        {
            throw CommandLineException.UnreadableInput(BnInceptionCommandLine.OneLine(e.Message), e);
        }
    }

    /// <summary>
    /// Refuses an input that is there but is not a regular file, before it is opened: opening a named pipe waits for
    /// a writer (a hang that Ctrl-C does not end), and a pipe (<c>/dev/stdin</c>) or a device can be read only once,
    /// where the commands read their lists and models more than once (a piped list looked empty).
    /// </summary>
    /// <param name="input">How the message names the file: "the file '…'", "--init-weights '…'".</param>
    /// <param name="refuse">The exception of the command's exit code for it.</param>
    public static void CheckIsAFile(string path, string input, Func<string, CommandLineException> refuse)
    {
        if (PosixFile.IsAvailable && File.Exists(path) && PosixFile.KindOf(path) is not (FileKind.Regular or FileKind.Missing) and var kind)
        {
            throw refuse($"{input} is {PosixFile.Describe(kind)}, not a file: it is read more than once; write it to a file first");
        }
    }

    /// <summary>
    /// Refuses, with <see cref="ExitCodes.BadArguments"/> and a message naming both paths, any output that cannot be written or would destroy another
    /// file of the command, and any input that is not a regular file (<see cref="CheckIsAFile"/>; <see cref="ExitCodes.InvalidModel"/> for --model,
    /// <see cref="ExitCodes.UnreadableInput"/> for the others).
    /// </summary>
    public static void Check(IReadOnlyList<CommandFile> inputs, IReadOnlyList<CommandFile> outputs)
    {
        foreach (CommandFile input in inputs)
        {
            CheckIsAFile(input.Path, input.ToString(), message => input.Option == "--model" ? CommandLineException.InvalidModel(message) : CommandLineException.UnreadableInput(message));
        }

        foreach (CommandFile output in outputs)
        {
            CheckCanBeCreated(output);
        }

        for (int i = 0; i < outputs.Count; i++)
        {
            CommandFile output = outputs[i];
            if (inputs.FirstOrDefault(input => AreTheSameFile(output.Path, input.Path)) is { } input)
            {
                throw CommandLineException.BadArguments(
                    $"{output} and {input} are the same file (one path is a link to the other, or leads to it): writing it would destroy what the command reads; choose another {output.Option}");
            }

            if (outputs.Take(i).FirstOrDefault(earlier => AreTheSameFile(output.Path, earlier.Path)) is { } other)
            {
                throw CommandLineException.BadArguments(
                    $"{output} and {other} are the same file: one would overwrite the other; choose another {output.Option}");
            }
        }
    }

    private static void CheckCanBeCreated(CommandFile output)
    {
        string path = System.IO.Path.GetFullPath(output.Path);
        if (Directory.Exists(path))
        {
            throw CommandLineException.BadArguments($"{output} is a directory: give the path of a file to write, in that directory or elsewhere");
        }

        // A named pipe would hang the command when it is opened; a device (/dev/null) cannot be renamed over.
        if (PosixFile.IsAvailable && File.Exists(path) && PosixFile.KindOf(path) is not (FileKind.Regular or FileKind.Missing) and var kind)
        {
            throw CommandLineException.BadArguments($"{output} is {PosixFile.Describe(kind)}, not a file: every output is written whole to a new file and renamed into place; give the path of a file");
        }

        string? folder = System.IO.Path.GetDirectoryName(path);
        if (folder is not null && !Directory.Exists(folder))
        {
            throw CommandLineException.BadArguments(File.Exists(folder)
                ? $"{output}: '{folder}' is a file, not a folder; choose another {output.Option}"
                : $"{output}: the folder '{folder}' does not exist; create it first, or choose another {output.Option}");
        }

        CheckFolderTakesFiles(output, folder ?? System.IO.Path.GetPathRoot(path)!);
    }

    // Every output is written through a new file in its folder, renamed into place: a folder that
    // takes no new file would fail only when the first checkpoint or the model is written, after
    // hours of training (OutputPath).
    private static void CheckFolderTakesFiles(CommandFile output, string folder)
    {
        if (Engine.IO.OutputPath.FolderRefusal(folder) is string refusal)
        {
            throw CommandLineException.BadArguments($"{output}: {refusal.TrimEnd('.')}; choose another {output.Option}");
        }
    }

    // A path that does not exist yet is a new file, the same as another only by its path. Off
    // Linux there are no inodes to compare, and the path is all there is.
    private static bool AreTheSameFile(string first, string second)
    {
        if (System.IO.Path.GetFullPath(first) == System.IO.Path.GetFullPath(second))
        {
            return true;
        }

        if (!PosixFile.IsAvailable)
        {
            return false;
        }

        FileIdentity? identity = IdentityOf(first);
        return identity is not null && identity == IdentityOf(second);
    }

    private static FileIdentity? IdentityOf(string path)
    {
        try
        {
            return PosixFile.IdentityOf(path);
        }
        catch (IOException)
        {
            // A path that cannot even be looked up (a folder on the way without permission) can be
            // neither read nor written: the command's own reading or writing names it.
            return null;
        }
    }
}
