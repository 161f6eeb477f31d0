using System.Diagnostics;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Runs the reference scripts under python/ with Debian's interpreter, which has python3-torch;
/// a python3 earlier on PATH (pyenv, venv) usually does not.
/// </summary>
internal static class PythonReference
{
    public const string Interpreter = "/usr/bin/python3";

    /// <summary>Runs python/<paramref name="script"/> with arguments; fails the test with its stderr on a non-zero exit.</summary>
    public static string Run(string script, params string[] arguments)
    {
        string scriptPath = Path.Combine(TestContext.CurrentContext.TestDirectory, "python", script);
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(scriptPath);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {Interpreter}");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            Assert.Fail($"{script} exited with {process.ExitCode}:\n{error.Result}\n{output}");
        }

        return output;
    }
}
