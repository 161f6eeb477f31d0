using System.Diagnostics;
using System.Reflection;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// The tool as a user gets it: packed from the built project into a local feed and installed with
/// <c>dotnet tool install</c>, once for all the tests of this assembly, on first use (so that a run
/// of only the in-process tests never packs it); every test that uses it runs it as a separate process.
/// </summary>
[SetUpFixture]
public sealed class InstalledTool
{
    private const string PackageId = "MLNet.BNInception.Cli";

    private sealed record Installation(TemporaryDirectory Root, string Version, string Command);

    private static readonly Lazy<Installation> Installed = new(Install, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The installed <c>bninception</c> command.</summary>
    internal static string Command => Installed.Value.Command;

    private static Installation Install()
    {
        // A version no release has: the copy in the NuGet cache can be neither an old build nor
        // shadow a later run, and is removed again at the end.
        string version = "0.0.0-test-" + Guid.NewGuid().ToString("N");
        var root = new TemporaryDirectory();
        string feed = root.File("feed"), tools = root.File("tools");
        UserProject.Dotnet(root.Path, "pack", Setting("CliProject"), "--configuration", Setting("Configuration"), "--no-build", "--output", feed,
            $"-p:PackageVersion={version}", $"-p:NuspecOutputPath={root.File("nuspec")}/");
        UserProject.Dotnet(root.Path, "tool", "install", PackageId, "--version", version, "--tool-path", tools, "--add-source", feed);
        TestContext.Progress.WriteLine("packed and installed bninception");
        return new Installation(root, version, Path.Combine(tools, "bninception"));
    }

    [OneTimeTearDown]
    public void Remove()
    {
        TrainedTool.Delete();
        if (!Installed.IsValueCreated)
        {
            return;
        }

        Installation installed = Installed.Value;
        installed.Root.Dispose();
        string cached = Path.Combine(Setting("NuGetPackageRoot"), PackageId.ToLowerInvariant());
        if (Directory.Exists(Path.Combine(cached, installed.Version)))
        {
            Directory.Delete(Path.Combine(cached, installed.Version), recursive: true);
        }

        if (Directory.Exists(cached) && !Directory.EnumerateFileSystemEntries(cached).Any())
        {
            Directory.Delete(cached);
        }
    }

    /// <summary>
    /// Runs the tool with <paramref name="arguments"/> in <paramref name="workingDirectory"/> and waits
    /// for it (10 minutes at most); fails the test if the run left anything in its temporary folder.
    /// </summary>
    /// <remarks>
    /// The tool's runs have a temporary folder (TMPDIR) of their own, emptied before each run,
    /// because what a run leaves there stays on the user's disk: ML.NET's OnnxTransformer copies the
    /// network there when a model is loaded and removes the copy only when the model is disposed.
    /// Processes the tests kill are started with <see cref="Start"/> and not checked.
    /// </remarks>
    internal static ExternalProcess.Result Run(string workingDirectory, params string[] arguments) => RunWithVariables(new Dictionary<string, string?>(), workingDirectory, arguments);

    /// <summary>Runs the tool as <see cref="Run"/> does, with environment variables set (or, for a null value, removed) for this run.</summary>
    internal static ExternalProcess.Result RunWithVariables(IReadOnlyDictionary<string, string?> variables, string workingDirectory, params string[] arguments)
    {
        string temporary = TemporaryFolder;
        if (Directory.Exists(temporary))
        {
            Directory.Delete(temporary, recursive: true);
        }

        Directory.CreateDirectory(temporary);
        return RunCore(variables, workingDirectory, arguments);
    }

    /// <summary>
    /// Runs the tool as <see cref="Run"/> does, but in its temporary folder as earlier runs and the test
    /// left it; fails the test if the run added anything there.
    /// </summary>
    internal static ExternalProcess.Result RunWithTemporaryFolderAsItIs(string workingDirectory, params string[] arguments) =>
        RunCore(new Dictionary<string, string?>(), workingDirectory, arguments);

    private static ExternalProcess.Result RunCore(IReadOnlyDictionary<string, string?> variables, string workingDirectory, string[] arguments)
    {
        string temporary = TemporaryFolder;
        Directory.CreateDirectory(temporary);
        string[] before = Directory.GetFileSystemEntries(temporary);
        Dictionary<string, string?> environment = Environment();
        foreach ((string name, string? value) in variables)
        {
            environment[name] = value;
        }

        ExternalProcess.Result result = ExternalProcess.Run(Command, arguments, workingDirectory, environment, TimeSpan.FromMinutes(10));
        string[] left = Directory.GetFileSystemEntries(temporary).Except(before).Where(entry => Path.GetFileName(entry) != OnnxRuntimeSessionFile).ToArray();
        Assert.That(left, Is.Empty,
            $"'bninception {string.Join(' ', arguments)}' (exit code {result.ExitCode}) left files in its temporary folder: "
            + string.Join(", ", left.Select(entry => $"{Path.GetFileName(entry)} ({(File.Exists(entry) ? new FileInfo(entry).Length : 0)} bytes)")));
        return result;
    }

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
        Directory.CreateDirectory(TemporaryFolder);
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

    // ONNX Runtime keeps a small file (a number and a GUID, about 50 bytes) in the temporary folder,
    // reused by every process: not something a run leaves behind.
    private const string OnnxRuntimeSessionFile = ".ses";

    /// <summary>The tool's temporary folder (TMPDIR), inside this fixture's folder.</summary>
    internal static string TemporaryFolder => Installed.Value.Root.File("tmp");

    // Plain progress lines as often as there is progress, so that tests see them.
    private static Dictionary<string, string?> Environment() => new()
    {
        ["BNINCEPTION_PROGRESS_SECONDS"] = "0",
        ["TMPDIR"] = TemporaryFolder,
    };

    private static string Setting(string name) =>
        typeof(InstalledTool).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == name).Value
        ?? throw new InvalidOperationException($"The test assembly has no {name} setting.");
}
