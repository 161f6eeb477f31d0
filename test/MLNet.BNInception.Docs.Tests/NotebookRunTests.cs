using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// The notebook runner itself, on small notebooks that need no package: cells run in order in one
/// kernel, in the notebook's folder, and what each shows, or the error of the one that fails, is
/// reported by cell.
/// </summary>
public class NotebookRunTests
{
    [Test]
    public async Task CellsRunInOrderInTheNotebooksFolderAndShowWhatTheyShow()
    {
        using var folder = new TemporaryDirectory();
        File.WriteAllText(folder.File("beside.txt"), "read from beside the notebook");
        string notebook = folder.File("cells.ipynb");
        string executed = folder.File("out/executed.ipynb");
        Write(notebook, ("markdown", "# Cells"), ("csharp", "var numbers = new[] { 3, 4 };"),
              ("csharp", "Console.WriteLine(\"printed\");\ndisplay(\"shown\");\nnumbers.Sum()"), ("csharp", "using System.IO;\nFile.ReadAllText(\"beside.txt\")"));
        string before = Environment.CurrentDirectory;

        NotebookRun run = await NotebookRun.RunAsync(notebook, executed);

        Assert.That(run.Cells.Select(cell => cell.Index), Is.EqualTo(new[] { 1, 2, 3 }), "the markdown cell counts, and is not run");
        Assert.That(run.Cell(2).StandardOutput, Is.EqualTo("printed\n"));
        Assert.That(run.Cell(2).Values("text/plain"), Does.Contain("shown"));
        Assert.That(run.Cell(2).ReturnValue, Is.EqualTo("7"), "a variable of an earlier cell is in scope");
        Assert.That(run.Cell(3).ReturnValue, Is.EqualTo("read from beside the notebook"), "relative paths are the notebook's folder's");
        Assert.That(Environment.CurrentDirectory, Is.EqualTo(before), "the working directory is given back");
        InteractiveDocument written = Notebook.Parse(File.ReadAllText(executed));
        // Jupyter's files keep text as a list of lines.
        Assert.That(written.Elements[2].Outputs.OfType<ReturnValueElement>().Single().Data["text/plain"], Is.EqualTo(new[] { "7" }));
        Assert.That(written.Elements[2].Outputs.OfType<TextElement>().Single().Text, Is.EqualTo("printed\n"));
    }

    [Test]
    public async Task AFailingCellFailsTheTestNamingTheCellAndTheCompilersError()
    {
        using var folder = new TemporaryDirectory();
        string notebook = folder.File("broken.ipynb");
        string executed = folder.File("executed.ipynb");
        Write(notebook, ("csharp", "1 + 1"), ("csharp", "notDeclared + 1"), ("csharp", "System.IO.File.WriteAllText(\"ran.txt\", \"\")"));

        var failure = Assert.ThrowsAsync<AssertionException>(() => NotebookRun.RunAsync(notebook, executed));

        Assert.That(failure!.Message, Does.Contain("cell 1 failed").And.Contain("CS0103").And.Contain("notDeclared"));
        Assert.That(folder.File("ran.txt"), Does.Not.Exist, "no cell runs after the failing one");
        Assert.That(Notebook.Parse(File.ReadAllText(executed)).Elements[1].Outputs.OfType<ErrorElement>().Single().ErrorValue, Does.Contain("CS0103"),
            "the executed notebook is written with the error");
    }

    [Test]
    public async Task ADibFileSplitsIntoCellsAtItsKernelLines()
    {
        using var folder = new TemporaryDirectory();
        string notebook = folder.File("cells.dib");
        File.WriteAllText(notebook, "#!csharp\n\nvar x = 20;\n\n#!markdown\n\nSome words.\n\n#!csharp\n\nx + 1\n");

        NotebookRun run = await NotebookRun.RunAsync(notebook);

        Assert.That(run.Cells.Select(cell => cell.Index), Is.EqualTo(new[] { 0, 2 }));
        Assert.That(run.Cell(2).ReturnValue, Is.EqualTo("21"));
    }

    private static void Write(string path, params (string Kernel, string Code)[] cells)
    {
        var document = new InteractiveDocument();
        foreach ((string kernel, string code) in cells)
        {
            document.Add(new InteractiveDocumentElement(code, kernel));
        }

        File.WriteAllText(path, document.ToJupyterJson("C#"));
    }
}
