using System.Text.RegularExpressions;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>What no file of the repository may hold, whatever the file.</summary>
public sealed class RepositoryTextTests
{
    // The public package registries' host names, written as patterns so that this file holds none of them:
    // the project's files never name a registry's host (NuGet.config names the feed the machine restores
    // from by its key; docs say "the public NuGet feed").
    private static readonly Regex RegistryHost = new(
        @"\b(nuget|pypi|npmjs|pythonhosted|debian|ubuntu)\s*\.\s*(org|com)\b|\bapi\s*\.\s*nuget\b|\bregistry\s*\.\s*npmjs\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    [Test]
    public void NoTrackedFileNamesAPackageRegistrysHost()
    {
        ExternalProcess.Result listed = ExternalProcess.Run("git", ["ls-files", "-z"], PackedFeed.Repository).AssertSucceeded();
        string[] files = listed.Output.Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(files, Has.Length.GreaterThan(100), "git ls-files listed the repository");
        var found = new List<string>();
        foreach (string file in files)
        {
            string path = Path.Combine(PackedFeed.Repository, file);
            if (!File.Exists(path) || new FileInfo(path).Length > 20_000_000)
            {
                continue; // deleted in the work tree, or a large binary
            }

            string[] lines = File.ReadAllLines(path);
            for (int i = 0; i < lines.Length; i++)
            {
                if (RegistryHost.Match(lines[i]) is { Success: true } match)
                {
                    found.Add($"{file}:{i + 1}: {match.Value}");
                }
            }
        }

        Assert.That(found, Is.Empty, "a package registry's host name, in:\n" + string.Join("\n", found));
    }
}
