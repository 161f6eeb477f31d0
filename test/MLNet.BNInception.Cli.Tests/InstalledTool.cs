using System.Diagnostics;
using System.Reflection;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// The tool as a user gets it: packed from the built project into a local feed and installed with
/// <c>dotnet tool install</c>, once for all the tests of this assembly; every test runs it as a
/// separate process.
/// </summary>
[SetUpFixture]
public sealed class InstalledTool
{
    private const string PackageId = "MLNet.BNInception.Cli";
    private static TemporaryDirectory? _root;
    private static string? _version;

    /// <summary>The installed <c>bninception</c> command.</summary>
    internal static string Command { get; private set; } = "";

    [OneTimeSetUp]
    public void Install()
    {
        // A version no release has: the copy in the NuGet cache can be neither an old build nor
        // shadow a later run, and is removed again at the end.
        _version = "0.0.0-test-" + Guid.NewGuid().ToString("N");
        _root = new TemporaryDirectory();
        string feed = _root.File("feed"), tools = _root.File("tools");
        var clock = Stopwatch.StartNew();
        UserProject.Dotnet(_root.Path, "pack", Setting("CliProject"), "--configuration", Setting("Configuration"), "--no-build", "--output", feed,
            $"-p:PackageVersion={_version}", $"-p:NuspecOutputPath={_root.File("nuspec")}/");
        UserProject.Dotnet(_root.Path, "tool", "install", PackageId, "--version", _version, "--tool-path", tools, "--add-source", feed);
        Command = Path.Combine(tools, "bninception");
        TestContext.Progress.WriteLine($"packed and installed bninception in {clock.Elapsed.TotalSeconds:F1} s");
    }

    [OneTimeTearDown]
    public void Remove()
    {
        _root?.Dispose();
        string cached = Path.Combine(Setting("NuGetPackageRoot"), PackageId.ToLowerInvariant());
        if (_version is not null && Directory.Exists(Path.Combine(cached, _version)))
        {
            Directory.Delete(Path.Combine(cached, _version), recursive: true);
        }

        if (Directory.Exists(cached) && !Directory.EnumerateFileSystemEntries(cached).Any())
        {
            Directory.Delete(cached);
        }
    }

    /// <summary>Runs the tool with <paramref name="arguments"/> in <paramref name="workingDirectory"/> and waits for it (10 minutes at most).</summary>
    internal static ExternalProcess.Result Run(string workingDirectory, params string[] arguments) =>
        ExternalProcess.Run(Command, arguments, workingDirectory, Environment(), TimeSpan.FromMinutes(10));

    /// <summary>Runs the tool and fails the test, showing what it printed, unless it exits with 0.</summary>
    internal static ExternalProcess.Result Succeed(string workingDirectory, params string[] arguments) => Run(workingDirectory, arguments).AssertSucceeded();

    /// <summary>
    /// Starts the tool without waiting, for tests that interrupt it, with SIGINT and SIGTERM at their
    /// default action, as a program started from a terminal has them.
    /// </summary>
    /// <remarks>
    /// A child inherits ignored signals, and a shell starts a background job with SIGINT ignored: a test
    /// run started that way would otherwise start a tool that rightly never sees the Ctrl-C the test
    /// sends. <c>env</c> puts the actions back and then becomes the tool, with the same process id.
    /// </remarks>
    internal static Process Start(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add("--default-signal=INT,TERM");
        start.ArgumentList.Add(Command);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string? value) in Environment())
        {
            start.Environment[name] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("could not start bninception");
    }

    // Plain progress lines as often as there is progress, so that tests see them.
    private static Dictionary<string, string?> Environment() => new() { ["BNINCEPTION_PROGRESS_SECONDS"] = "0" };

    private static string Setting(string name) =>
        typeof(InstalledTool).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == name).Value
        ?? throw new InvalidOperationException($"The test assembly has no {name} setting.");
}
