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
        return ExternalProcess.Run(Interpreter, [scriptPath, .. arguments]).AssertSucceeded().Output;
    }
}
