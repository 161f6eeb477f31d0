using CsvHelper;
using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>The header of a CSV file, read before ML.NET's text loader is told which columns to load.</summary>
internal static class CsvHeader
{
    /// <summary>The column names of <paramref name="path"/>'s header.</summary>
    /// <exception cref="CommandLineException">The file does not exist, cannot be read, or has no header.</exception>
    public static IReadOnlyList<string> Read(string path, char separator)
    {
        if (!File.Exists(path))
        {
            throw CommandLineException.UnreadableInput(Directory.Exists(path)
                ? $"the file '{path}' is a directory: give the CSV file itself"
                : $"the file '{path}' does not exist");
        }

        CommandFiles.CheckIsAFile(path, $"the file '{path}'", message => CommandLineException.UnreadableInput(message));

        try
        {
            using CsvReader reader = CsvReader.FromFile(path, new CsvReaderOptions { Separator = separator, HasHeader = true });
            IReadOnlyList<string> headers = reader.Headers;
            return headers.Count > 0 ? headers : throw CommandLineException.UnreadableInput($"the file '{path}' is empty: it has no header");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CsvFormatException)
        {
            throw CommandLineException.UnreadableInput($"the file '{path}' cannot be read: {e.Message}", e);
        }
    }

    /// <summary>The index of <paramref name="column"/> in <paramref name="headers"/> (read with <paramref name="separator"/>), or an error naming the file and the columns it has.</summary>
    public static int IndexOf(IReadOnlyList<string> headers, string column, string path, string option, char separator)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            if (headers[i] == column)
            {
                return i;
            }
        }

        throw CommandLineException.UnreadableInput($"the file '{path}' has no column '{column}' (its columns: {Columns(headers, separator)}); check {option}");
    }

    /// <summary>
    /// A header's columns for a message, each in quotes, so that one column named "ImagePath,Label" does not
    /// read as two (a binary file read as CSV has a "header" of anything); and when the header is one column
    /// whose name holds another usual separator, the --separator that would split it.
    /// </summary>
    public static string Columns(IReadOnlyList<string> headers, char separator)
    {
        string columns = Printable.Content(string.Join(", ", headers.Select(name => $"'{name}'")), 4 * Printable.ContentLimit);
        char other = headers.Count == 1 ? UsualSeparators.FirstOrDefault(c => c != separator && headers[0].Contains(c)) : '\0';
        return other == '\0'
            ? columns
            : $"{columns}, one column when read with the separator {Name(separator)}; pass --separator {Name(other)} if that is what separates the columns";
    }

    private static readonly char[] UsualSeparators = [',', '\t', ';', '|'];

    public static string Name(char separator) => separator == '\t' ? "tab" : $"'{separator}'";
}
