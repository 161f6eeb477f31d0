using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.ModelFiles;

/// <summary>The folder a command reads relative image paths from: <c>--image-folder</c>, else the model's own when it exists here.</summary>
internal static class ImageFolderChoice
{
    /// <summary>The refusal of an --image-folder that is not a folder: missing, or a file.</summary>
    public static CommandLineException Missing(string folder) => CommandLineException.UnreadableInput(File.Exists(folder)
        ? $"--image-folder '{folder}' is a file, not a folder: give the folder the list's relative image paths start from"
        : $"--image-folder '{folder}' does not exist");

    /// <summary>
    /// The folder given, which must exist; else the folder the model was trained with, or none (relative
    /// paths then read from the current directory, with a warning) when that folder is not on this
    /// machine: a list of absolute paths needs no folder, and a relative path that is not found is
    /// named by its row.
    /// </summary>
    /// <exception cref="CommandLineException">The folder given does not exist.</exception>
    public static string? Resolve(string? given, SavedModel model, Action<string> warn)
    {
        if (given is not null)
        {
            return Directory.Exists(given) ? Path.GetFullPath(given)
                : throw Missing(given);
        }

        if (model.ImageFolder is null || Directory.Exists(model.ImageFolder))
        {
            return model.ImageFolder;
        }

        warn($"warning: the model's image folder '{BnInceptionCommandLine.OneLine(model.ImageFolder)}' does not exist here; relative paths are read from the current directory " +
            "(pass --image-folder to name their folder)");
        return null;
    }
}
