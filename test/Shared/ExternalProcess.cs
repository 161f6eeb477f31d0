using System.ComponentModel;
using System.Diagnostics;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Runs a program the tests use as an independent reference or driver (python3, readelf, dotnet),
/// capturing what it prints; a program that is missing or runs too long fails the test with its name.
/// </summary>
internal static class ExternalProcess
{
    /// <summary>What a finished program printed, and how it exited.</summary>
    public sealed record Result(string Command, int ExitCode, string Output, string Error)
    {
        /// <summary>Fails the test, showing everything the program printed, unless it exited with 0.</summary>
        public Result AssertSucceeded()
        {
            if (ExitCode != 0)
            {
                Assert.Fail($"{Command} exited with {ExitCode}:\n{Error}\n{Output}");
            }

            return this;
        }
    }

    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> and waits for it; the
    /// environment is this process's, changed by <paramref name="environment"/> (a null value removes
    /// a variable). Without <paramref name="timeout"/> it waits as long as the program runs.
    /// </summary>
    public static Result Run(
        string program,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        string command = program + " " + string.Join(" ", start.ArgumentList);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        }
        catch (Win32Exception error)
        {
            Assert.Fail($"{program} could not be started ({error.Message}); the test needs it installed and on PATH.");
            throw;
        }

        using (process)
        {
            // Both streams are read at once: a program that fills one pipe while we wait on the other would hang.
            Task<string> output = process.StandardOutput.ReadToEndAsync();
            Task<string> error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? Timeout.InfiniteTimeSpan))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"{command} did not finish within {timeout}:\n{error.Result}\n{output.Result}");
            }

            process.WaitForExit();
            return new Result(command, process.ExitCode, output.Result, error.Result);
        }
    }
}
