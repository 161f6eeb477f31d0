namespace MLNet.BNInception.Tests;

/// <summary>A fresh folder under the system temp path, deleted with everything in it on dispose.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "bninception-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        if (!Directory.Exists(Path))
        {
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException) when (OperatingSystem.IsLinux())
        {
            // A file whose name is not UTF-8 (the hostile corpus has one) cannot be named by a .NET
            // string, so .NET cannot delete it; rm takes names as bytes.
            using var remove = System.Diagnostics.Process.Start("rm", ["-rf", "--", Path]);
            remove.WaitForExit();
        }
    }
}
