namespace MLNet.BNInception.Tests;

/// <summary>
/// A console application in a folder tree of its own, built and run as a user outside this
/// repository would: the tests of our NuGet packages make one that references them from a local feed.
/// </summary>
internal static class UserProject
{
    /// <summary>
    /// Writes the folder <paramref name="root"/>: empty Directory.Build.* and Directory.Packages.props
    /// (MSBuild stops looking further up for ones that are not the user's), a NuGet.config adding
    /// <paramref name="feed"/> to the machine's own sources, and in <paramref name="application"/> a
    /// project referencing <paramref name="packages"/> with <paramref name="program"/> as its code.
    /// </summary>
    public static void Write(string root, string feed, string application, IEnumerable<(string Id, string Version)> packages, string program)
    {
        Directory.CreateDirectory(application);
        FenceOff(root);
        File.WriteAllText(Path.Combine(root, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="bninception-test-feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        string references = string.Join("\n", packages.Select(package => $"""    <PackageReference Include="{package.Id}" Version="{package.Version}" />"""));
        File.WriteAllText(Path.Combine(application, "App.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(application, "Program.cs"), program);
    }

    /// <summary>
    /// Writes empty Directory.Build.* and Directory.Packages.props into <paramref name="root"/>, so that
    /// MSBuild looking upwards from a project below it stops there, at files that are not the user's.
    /// </summary>
    public static void FenceOff(string root)
    {
        foreach (string name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(root, name), "<Project />\n");
        }
    }

    /// <summary>
    /// Runs <paramref name="script"/> with bash in <paramref name="workingDirectory"/> as a user's
    /// shell would (<c>set -e</c>: the first failing command ends it), fails the test with its output
    /// if it fails, and returns its output.
    /// </summary>
    public static string Bash(string workingDirectory, string script, TimeSpan timeout) =>
        ExternalProcess.Run("bash", ["-euo", "pipefail", "-c", script], workingDirectory, CleanEnvironment(), timeout).AssertSucceeded().Output;

    /// <summary>Runs dotnet as a user's shell would, fails the test with its output if it fails, and returns its output.</summary>
    public static string Dotnet(string workingDirectory, params string[] arguments)
    {
        // After the verb: what follows `run … --` goes to the application.
        string[] serverless = arguments[0] is "pack" or "build" or "publish" or "run" ? [arguments[0], "--disable-build-servers", .. arguments[1..]] : arguments;
        return ExternalProcess.Run(DotnetHost, serverless, workingDirectory, CleanEnvironment(), TimeSpan.FromMinutes(5)).AssertSucceeded().Output;
    }

    // The dotnet that runs these tests, so that the application is built by the same SDK.
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

    // dotnet test passes its MSBuild's settings down to the test process; an application built by a
    // user would not have them. Build servers outlive the build and would hold the output pipes open.
    private static Dictionary<string, string?> CleanEnvironment()
    {
        Dictionary<string, string?> environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(name => name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(name => name, _ => (string?)null);
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return environment;
    }
}
