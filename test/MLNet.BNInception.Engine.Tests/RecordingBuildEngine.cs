using System.Collections;
using Microsoft.Build.Framework;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>Stands in for MSBuild when a test runs a task directly: keeps what the task logs.</summary>
internal sealed class RecordingBuildEngine : IBuildEngine
{
    public List<string> Errors { get; } = [];

    public List<string> Warnings { get; } = [];

    public List<string> Messages { get; } = [];

    public bool ContinueOnError => false;

    public int LineNumberOfTaskNode => 0;

    public int ColumnNumberOfTaskNode => 0;

    public string ProjectFileOfTaskNode => "test.proj";

    public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e.Message ?? "");

    public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e.Message ?? "");

    public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e.Message ?? "");

    public void LogCustomEvent(CustomBuildEventArgs e) => Messages.Add(e.Message ?? "");

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException("the tasks under test build no projects");
}
