using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// A notebook that takes our package from the local feed, as a user's does, runs the network on
/// TorchSharp in a C# kernel: on a machine whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12), through
/// the engine's fixed copy of TorchSharp's native library in its cache folder, never through
/// TorchSharp's own fallback, which copies the unfixed library into the NuGet cache and fails.
/// </summary>
public partial class TorchSharpInNotebookTests
{
    private const string MissingVersion = "GLIBCXX_3.4.32";

    [Test]
    public async Task ANotebookThatReferencesOurPackageRunsTheNetworkOnTorchSharp()
    {
        string[] torchPackagesBefore = NativeCache.TorchPackageEntries();
        using var folder = new TemporaryDirectory();
        string notebook = folder.File("torchsharp.ipynb");
        string executed = folder.File("executed.ipynb");
        WriteNotebook(notebook,
        [
            ("markdown", "# The network in a notebook"),
            ("csharp", $"""
                        #i "nuget: {PackedFeed.Feed}"
                        #r "nuget: MLNet.BNInception, {PackedFeed.Version}"
                        #r "nuget: libtorch-cpu-linux-x64, {LibTorchVersion}"
                        """),
            ("csharp", """
                       using MLNet.BNInception.Engine;
                       using MLNet.BNInception.Engine.Network;
                       using TorchSharp;

                       // A script's top level takes using blocks, not using declarations.
                       using (var network = new BnInception(new BnInceptionOptions { NumClasses = 10, InputSize = 64 }, seed: 1))
                       using (var images = torch.zeros(2, 3, 64, 64))
                       {
                           network.eval();
                           using var scores = network.forward(images);
                           display(string.Join(" x ", scores.shape));
                       }

                       string product;
                       using (var a = torch.tensor(new float[] { 1, 2, 3, 4 }, new long[] { 2, 2 }))
                       using (var squared = a.matmul(a))
                       {
                           product = string.Join(" ", squared.data<float>().ToArray());
                       }

                       product
                       """),
            ("csharp", """
                       display(TorchRuntime.LoadDescription);
                       TorchRuntime.NativeLibraryPath
                       """),
        ]);

        NotebookRun run = await NotebookRun.RunAsync(notebook, executed);

        CellRun network = run.Cell(2);
        Assert.That(network.Values("text/plain").First(), Is.EqualTo("2 x 10"), "the network's scores for two 64×64 images and ten classes");
        Assert.That(network.ReturnValue, Is.EqualTo("7 10 15 22"), "[[1,2],[3,4]]² by hand");

        string description = run.Cell(3).Values("text/plain").First();
        Assert.That(network.StandardError, Is.Empty.Or.EqualTo($"MLNet.BNInception: {description}\n"),
            "the first engine call says what it loaded in one line (none when an earlier notebook of this run loaded TorchSharp)");
        string library = run.Cell(3).ReturnValue ?? "";
        TestContext.Out.WriteLine(description);
        // The kernel ran in this process: the library it maps is the one TorchSharp runs.
        string[] mapped = File.ReadLines("/proc/self/maps").Where(line => line.EndsWith("/libLibTorchSharp.so", StringComparison.Ordinal))
            .Select(line => line[line.IndexOf('/', StringComparison.Ordinal)..]).Distinct().ToArray();
        Assert.That(mapped, Is.EqualTo(new[] { library }), "this process maps one libLibTorchSharp.so, the one the engine names");
        (string libStdCxx, bool hasVersion) = MachineLibStdCxx();
        if (hasVersion)
        {
            Assert.That(library, Does.Not.StartWith(NativeCache.Folder), $"{libStdCxx} defines {MissingVersion}: no copy is needed. {description}");
        }
        else
        {
            Assert.That(library, Does.StartWith(Path.Combine(NativeCache.Folder, "libtorchsharp") + "/").And.EndWith("/libLibTorchSharp.so"),
                $"{libStdCxx} lacks {MissingVersion}: the fixed copy in the cache folder the test chose. {description}");
            Assert.That(description, Does.Contain("fixed copy").And.Contain(library).And.Contain(MissingVersion + " marked weak"));
            string readelf = ExternalProcess.Run("readelf", ["--version-info", "--wide", library]).AssertSucceeded().Output;
            Assert.That(readelf, Does.Match($@"Name: {Regex.Escape(MissingVersion)}\s+Flags: WEAK"), "readelf sees the copy's requirement weak");
        }

        Assert.That(NativeCache.TorchPackageEntries().Except(torchPackagesBefore), Is.Empty, "nothing was added to the NuGet cache's TorchSharp or libtorch folders");
        Assert.That(NativeCache.TorchPackageEntries().Where(entry => TorchSharpsOwnCopies().IsMatch(entry)), Is.Empty,
            "no folder of TorchSharp's own fallback (torchsharp/<version>/lib/<framework>/cpu) exists");
        Assert.That(File.ReadAllText(executed), Does.Contain("7 10 15 22"), "the executed notebook holds the outputs");
    }

    private static string LibTorchVersion => typeof(TorchSharpInNotebookTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "LibTorchVersion").Value!;

    private static void WriteNotebook(string path, IEnumerable<(string Kernel, string Code)> cells)
    {
        var document = new InteractiveDocument();
        foreach ((string kernel, string code) in cells)
        {
            document.Add(new InteractiveDocumentElement(code, kernel));
        }

        File.WriteAllText(path, document.ToJupyterJson("C#"));
    }

    // The libstdc++ this process runs with (the one a kernel in it gets), and whether it defines the
    // version, as binutils reads it: independent of the engine's own ELF reader.
    private static (string Path, bool HasVersion) MachineLibStdCxx()
    {
        string path = File.ReadLines("/proc/self/maps").Select(line => line[Math.Max(0, line.IndexOf('/', StringComparison.Ordinal))..])
            .First(mapped => mapped.Contains("/libstdc++.so.6", StringComparison.Ordinal));
        string readelf = ExternalProcess.Run("readelf", ["--version-info", "--wide", path]).AssertSucceeded().Output;
        return (path, readelf.Contains("Name: " + MissingVersion, StringComparison.Ordinal));
    }

    [GeneratedRegex(@"/torchsharp/[^/]+/lib/[^/]+/(cpu|cuda-[^/]+)(/|$)")]
    private static partial Regex TorchSharpsOwnCopies();
}
