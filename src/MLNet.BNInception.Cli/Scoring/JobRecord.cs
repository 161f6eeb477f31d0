using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// What an output was made from, kept beside it (<c>predictions.csv.job.json</c>), so that
/// <c>--resume</c> continues only the job that wrote it: the same model file (by content), the same
/// input file (by size and time), and the settings that decide which rows the output holds and how
/// they are scored. Anything else would mix two jobs' rows in one file without a trace. The folder
/// relative image paths were read from is recorded too, but a resume from another one is only
/// warned of (<see cref="ImageFolderWarning"/>), as is a resume of a record of an earlier version,
/// which did not keep it.
/// </summary>
internal sealed record JobRecord(
    string Model, string ModelSha256, string Input, long InputBytes, DateTime InputWrittenUtc, string PathColumn, string Separator, bool HasHeader,
    int Batch, int TopK, string Precision, string Shard, int ShardBlock, string? ImageFolder)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The file beside <paramref name="output"/>.</summary>
    public static string PathFor(string output) => output + ".job.json";

    /// <summary>The record of the job <paramref name="options"/> describe.</summary>
    /// <param name="imageFolder">The folder relative image paths are read from: the current directory when the job reads them as given.</param>
    public static JobRecord Of(ScoreOptions options, int pathIndex, char separator, string imageFolder)
    {
        var input = new FileInfo(options.InputPath);
        return new JobRecord(options.ModelPath, Sha256(options.ModelPath), options.InputPath, input.Length, input.LastWriteTimeUtc,
            (pathIndex + 1).ToString(CultureInfo.InvariantCulture), separator == '\t' ? "tab" : separator.ToString(), options.HasHeader,
            options.BatchSize, options.TopK, options.Precision.ToString(), $"{options.Shard.Index}/{options.Shard.Count}", options.Shard.BlockRows,
            FolderName(imageFolder));
    }

    /// <summary>Writes the record, whole or not at all, its bytes on disk before it returns.</summary>
    public void Write(string output)
    {
        // Its bytes on disk before the first row is, as every batch of the output is (PredictionsFile.Append):
        // --resume refuses an output without its record. The rename that puts it in place is not synced
        // (AtomicFile does not sync the folder), so a power cut right after it can still bring back the
        // record that was there before.
        AtomicFile.WriteAllText(PathFor(output), JsonSerializer.Serialize(this, Json), flushToDisk: true);
    }

    /// <summary>Refuses, naming the difference, unless <paramref name="output"/>'s record is this one; gives that record back.</summary>
    public JobRecord CheckResumes(string output)
    {
        string path = PathFor(output);
        JobRecord? earlier;
        try
        {
            earlier = File.Exists(path) ? JsonSerializer.Deserialize<JobRecord>(File.ReadAllText(path)) : null;
        }
        catch (JsonException)
        {
            earlier = null;
        }

        if (earlier is null)
        {
            throw CommandLineException.BadArguments(
                $"--resume: '{output}' has no readable job record ('{path}'), so nothing says which job wrote it; score to another output, or pass --overwrite to start again");
        }

        string[] differences =
        [
            .. Differ("the model file", earlier.Model, Model, earlier.ModelSha256 != ModelSha256),
            .. Differ("the input file", earlier.Input, Input, earlier.Input != Input),
            .. Differ("the input's size or time (it changed)", $"{earlier.InputBytes} bytes, {earlier.InputWrittenUtc:O}", $"{InputBytes} bytes, {InputWrittenUtc:O}",
                earlier.InputBytes != InputBytes || earlier.InputWrittenUtc != InputWrittenUtc),
            .. Differ("--path-column", earlier.PathColumn, PathColumn, earlier.PathColumn != PathColumn),
            .. Differ("--separator", earlier.Separator, Separator, earlier.Separator != Separator),
            .. Differ("--no-header", (!earlier.HasHeader).ToString(), (!HasHeader).ToString(), earlier.HasHeader != HasHeader),
            .. Differ("--batch", earlier.Batch, Batch, earlier.Batch != Batch),
            .. Differ("--top-k", earlier.TopK, TopK, earlier.TopK != TopK),
            .. Differ("--precision", earlier.Precision, Precision, earlier.Precision != Precision),
            .. Differ("--shard", earlier.Shard, Shard, earlier.Shard != Shard),
            .. Differ("--shard-block", earlier.ShardBlock, ShardBlock, earlier.ShardBlock != ShardBlock),
        ];
        if (differences.Length > 0)
        {
            throw CommandLineException.BadArguments(
                $"--resume: '{output}' was written by another job ({string.Join("; ", differences)}); resume with the same model, input and settings, or pass --overwrite to start again");
        }

        return earlier;
    }

    /// <summary>
    /// What to warn of when the rows <paramref name="earlier"/> wrote read relative image paths from
    /// another folder than this run will; null when they read the same one. A record older than the
    /// field (its ImageFolder null) cannot say: that is warned of when the list has relative paths
    /// (<paramref name="listHasRelativePaths"/>, asked only then), null otherwise. A warning, not a
    /// refusal: a list of absolute paths does not depend on the folder, and a job resumed on another
    /// machine may find the same images under another mount point.
    /// </summary>
    /// <param name="earlier">The record of the job that wrote the rows, read from beside <paramref name="output"/>.</param>
    /// <param name="output">The output, whose record the warning names.</param>
    /// <param name="listHasRelativePaths">Whether a row of the job's list names its image by a relative path.</param>
    public string? ImageFolderWarning(JobRecord earlier, string output, Func<bool> listHasRelativePaths)
    {
        if (earlier.ImageFolder is null)
        {
            return ImageFolder is { } current && listHasRelativePaths()
                ? $"warning: --resume: the job record '{BnInceptionCommandLine.OneLine(PathFor(output))}', of an earlier version, does not say which folder " +
                  $"the rows already written read relative image paths from, so it cannot be checked that this run's, '{BnInceptionCommandLine.OneLine(current)}', " +
                  "is the same; if it is not, the output will hold rows scored from images of both folders (pass --image-folder with the folder the first " +
                  "rows' images came from, or --overwrite to score every row again)"
                : null;
        }

        return ImageFolder is { } folder && FolderName(earlier.ImageFolder) != folder
            ? $"warning: --resume: the rows already written read relative image paths from '{BnInceptionCommandLine.OneLine(earlier.ImageFolder)}', " +
              $"this run reads them from '{BnInceptionCommandLine.OneLine(folder)}'; if the list's paths are relative, the output will hold " +
              "rows scored from images of both folders (pass --image-folder with the folder the first rows' images came from)"
            : null;
    }

    // One spelling per folder, so that "images/" and "images", or a path relative to the directory
    // the job started in, compare as the folder they name. Of stores it so; a record's earlier value
    // is spelt again in case the file was edited by hand.
    private static string FolderName(string folder) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));

    private static IEnumerable<string> Differ(string what, object earlier, object now, bool differs) =>
        differs ? [$"{what}: {earlier} then, {now} now"] : [];

    private static string Sha256(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
