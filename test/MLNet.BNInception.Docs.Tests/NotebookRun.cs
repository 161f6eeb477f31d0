using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Commands;
using Microsoft.DotNet.Interactive.CSharp;
using Microsoft.DotNet.Interactive.Documents;
using Microsoft.DotNet.Interactive.Documents.Jupyter;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;
using Microsoft.DotNet.Interactive.PackageManagement;
using DocumentKernelInfo = Microsoft.DotNet.Interactive.Documents.KernelInfo;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// Runs a notebook (.ipynb or .dib) as Polyglot Notebooks runs it with its C# kernel, inside this
/// test process: the document is read with Microsoft.DotNet.Interactive.Documents and its C# cells
/// are submitted in order to one <see cref="CSharpKernel"/>, with <c>#r "nuget: …"</c> and
/// <c>#i "nuget: …"</c> working and the kernel helpers (<c>display(…)</c>) in scope. The notebook's
/// folder is the working directory while it runs, so relative paths in cells work. Markdown cells
/// are skipped; a cell for another language fails the run.
/// </summary>
/// <remarks>
/// A cell that fails (a compiler error, an exception, a failed package restore) fails the test with
/// the cell's index and the error, after the executed notebook has been written when one was asked
/// for. The kernel shares this process: what a notebook loads (assemblies, native libraries) stays
/// loaded for the rest of the test run, as in one kernel session, and the working directory is the
/// process's, so notebooks run one at a time (the tests of this project are not parallel).
/// </remarks>
public sealed class NotebookRun
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    private NotebookRun(string notebookPath, IReadOnlyList<CellRun> cells)
    {
        NotebookPath = notebookPath;
        Cells = cells;
    }

    /// <summary>The notebook that ran (a full path).</summary>
    public string NotebookPath { get; }

    /// <summary>The C# cells that ran, in order, with what each showed.</summary>
    public IReadOnlyList<CellRun> Cells { get; }

    /// <summary>The cell at <paramref name="index"/> in the notebook (counting every cell, markdown included, from 0).</summary>
    public CellRun Cell(int index) => Cells.SingleOrDefault(cell => cell.Index == index)
        ?? throw new ArgumentOutOfRangeException(nameof(index), index, $"{NotebookPath} has no C# cell {index}; its C# cells are {string.Join(", ", Cells.Select(cell => cell.Index))}.");

    /// <summary>Runs every C# cell of the notebook at <paramref name="notebookPath"/> in order.</summary>
    /// <param name="notebookPath">An .ipynb or .dib file.</param>
    /// <param name="executedNotebookPath">Where to write the notebook with its outputs (an .ipynb), or null for nowhere.</param>
    /// <param name="cellTimeout">How long one cell may run; 5 minutes when not given.</param>
    public static async Task<NotebookRun> RunAsync(string notebookPath, string? executedNotebookPath = null, TimeSpan? cellTimeout = null)
    {
        var file = new FileInfo(notebookPath);
        Assert.That(file.Exists, Is.True, $"the notebook {file.FullName} exists");
        if (executedNotebookPath is not null && !executedNotebookPath.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Executed notebooks are written as .ipynb (outputs included); '{executedNotebookPath}' is not one.", nameof(executedNotebookPath));
        }

        KernelInfoCollection kernels = KernelNames();
        InteractiveDocument document = await InteractiveDocument.LoadAsync(file, kernels);

        await OneAtATime.WaitAsync();
        string previousDirectory = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = file.DirectoryName!;
            using CompositeKernel kernel = NewKernel();
            (List<CellRun> cells, string? failure) = await RunCellsAsync(kernel, document, cellTimeout ?? TimeSpan.FromMinutes(5));
            if (executedNotebookPath is not null)
            {
                WriteExecuted(document, kernels, executedNotebookPath);
            }

            if (failure is not null)
            {
                Assert.Fail($"{file.FullName}: {failure}");
            }

            return new NotebookRun(file.FullName, cells);
        }
        finally
        {
            Environment.CurrentDirectory = previousDirectory;
            OneAtATime.Release();
        }
    }

    private static async Task<(List<CellRun> Cells, string? Failure)> RunCellsAsync(Kernel kernel, InteractiveDocument document, TimeSpan cellTimeout)
    {
        var cells = new List<CellRun>();
        for (int index = 0; index < document.Elements.Count; index++)
        {
            InteractiveDocumentElement element = document.Elements[index];
            if (element.KernelName == "markdown" || string.IsNullOrWhiteSpace(element.Contents))
            {
                continue;
            }

            if (element.KernelName != "csharp")
            {
                return (cells, $"cell {index} is for the '{element.KernelName}' kernel; this runner runs C# cells only.");
            }

            using var timeout = new CancellationTokenSource(cellTimeout);
            KernelCommandResult result;
            try
            {
                result = await kernel.SendAsync(new SubmitCode(element.Contents, "csharp"), timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                return (cells, $"cell {index} ran longer than {cellTimeout}.");
            }

            (List<CellOutput> outputs, string? error) = Outputs(result.Events);
            element.Outputs.Clear();
            element.Outputs.AddRange(ToDocumentOutputs(outputs));
            element.ExecutionOrder = cells.Count + 1;
            cells.Add(new CellRun(index, element.Contents, outputs));
            if (error is not null)
            {
                element.Outputs.Add(new ErrorElement(error));
                return (cells, $"cell {index} failed: {error}\nThe cell:\n{element.Contents}");
            }
        }

        return (cells, null);
    }

    private static (List<CellOutput> Outputs, string? Error) Outputs(IEnumerable<KernelEvent> events)
    {
        var outputs = new List<CellOutput>();
        string? error = null;
        int shown = 0;
        foreach (KernelEvent kernelEvent in events)
        {
            if (kernelEvent is CommandFailed failed)
            {
                error ??= failed.Message;
                continue;
            }

            if (kernelEvent is not DisplayEvent display)
            {
                continue;
            }

            CellOutputKind kind = display switch
            {
                StandardOutputValueProduced => CellOutputKind.StandardOutput,
                StandardErrorValueProduced => CellOutputKind.StandardError,
                ReturnValueProduced => CellOutputKind.ReturnValue,
                _ => CellOutputKind.Displayed,
            };
            List<CellOutput> values = display.FormattedValues.Where(value => !value.SuppressDisplay)
                .Select(value => new CellOutput(kind, value.MimeType, value.Value) { Shown = shown, DisplayId = display.ValueId }).ToList();
            if (kind is CellOutputKind.ReturnValue or CellOutputKind.Displayed && values.Count > 0 &&
                values.TrueForAll(value => value.MimeType != PlainTextFormatter.MimeType))
            {
                // The kernel formats most values as text/html only (what Polyglot Notebooks shows);
                // the plain-text formatter's rendering of the same value is added, as a Jupyter
                // notebook keeps beside its HTML, so that tests and readers of the file can read it.
                values.Add(values[0] with { MimeType = PlainTextFormatter.MimeType, Value = display.Value.ToDisplayString(PlainTextFormatter.MimeType) });
            }

            int replaced = display is DisplayedValueUpdated && display.ValueId is not null
                ? outputs.FindIndex(output => output.DisplayId == display.ValueId)
                : -1;
            if (replaced >= 0)
            {
                // An update replaces what the cell showed under that id, where it showed it, as a
                // notebook's view does (the package list, while packages are restored).
                outputs.RemoveAll(output => output.DisplayId == display.ValueId);
                outputs.InsertRange(replaced, values.Select(value => value with { Shown = outputs.Count > replaced ? outputs[replaced].Shown : shown }));
            }
            else
            {
                outputs.AddRange(values);
            }

            shown++;
        }

        return (outputs, error);
    }

    // One notebook output for each thing shown, holding all its mime types, as Jupyter's files do.
    private static IEnumerable<InteractiveDocumentOutputElement> ToDocumentOutputs(IEnumerable<CellOutput> outputs)
    {
        foreach (IGrouping<int, CellOutput> shown in outputs.GroupBy(output => output.Shown))
        {
            CellOutput first = shown.First();
            var data = shown.ToDictionary(output => output.MimeType, object (output) => output.Value);
            switch (first.Kind)
            {
                case CellOutputKind.StandardOutput:
                    yield return new TextElement(first.Value, "stdout");
                    break;
                case CellOutputKind.StandardError:
                    yield return new TextElement(first.Value, "stderr");
                    break;
                case CellOutputKind.ReturnValue:
                    var returned = new ReturnValueElement();
                    foreach ((string mimeType, object value) in data)
                    {
                        returned.Data[mimeType] = value;
                    }

                    yield return returned;
                    break;
                default:
                    yield return new DisplayElement(data);
                    break;
            }
        }
    }

    private static void WriteExecuted(InteractiveDocument document, KernelInfoCollection kernels, string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // A temporary name and a rename: a reader never sees half a notebook.
        string temporary = full + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (FileStream stream = File.Create(temporary))
            {
                Notebook.Write(document, stream, kernels);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    // The kernels a notebook's cells may name. A .dib without a #!meta header splits into cells at
    // #!csharp lines only when csharp is among them.
    private static KernelInfoCollection KernelNames()
    {
        var kernels = new KernelInfoCollection
        {
            new DocumentKernelInfo("csharp", "C#", ["c#", "C#", "cs"]),
            new DocumentKernelInfo("markdown", "Markdown", ["md"]),
        };
        kernels.DefaultKernelName = "csharp";
        return kernels;
    }

    private static CompositeKernel NewKernel()
    {
        // Microsoft.DotNet.Interactive.PackageManagement gives the #r/#i directives; what to do with
        // the restored packages is the host's part (dotnet-interactive's own CSharpKernel extension
        // does the same): their assemblies become references of the submissions.
        CSharpKernel csharp = new CSharpKernel()
            .UseNugetDirective((kernel, packages) =>
            {
                kernel.AddAssemblyReferences(packages.SelectMany(package => package.AssemblyPaths));
                return Task.CompletedTask;
            })
            .UseKernelHelpers();
        var composite = new CompositeKernel { csharp };
        composite.DefaultKernelName = csharp.Name;
        return composite.UsePackageKernelExtensions();
    }
}

/// <summary>One C# cell that ran: its index in the notebook (markdown cells counted, from 0), its code, and what it showed, in order.</summary>
public sealed record CellRun(int Index, string Code, IReadOnlyList<CellOutput> Outputs)
{
    /// <summary>
    /// The values the cell displayed (<c>display(…)</c>, the kernel's own displays, its last
    /// expression) under <paramref name="mimeType"/> ("text/plain", "text/html", "image/png", …), in
    /// order; what it wrote to the console is in <see cref="StandardOutput"/> and <see cref="StandardError"/>.
    /// </summary>
    public IEnumerable<string> Values(string mimeType) =>
        Outputs.Where(output => output.Kind is CellOutputKind.Displayed or CellOutputKind.ReturnValue && output.MimeType == mimeType).Select(output => output.Value);

    /// <summary>What the cell wrote to standard output, joined.</summary>
    public string StandardOutput => string.Concat(Outputs.Where(output => output.Kind == CellOutputKind.StandardOutput).Select(output => output.Value));

    /// <summary>What the cell wrote to standard error, joined.</summary>
    public string StandardError => string.Concat(Outputs.Where(output => output.Kind == CellOutputKind.StandardError).Select(output => output.Value));

    /// <summary>The cell's value (its last expression), as text/plain, or null when it has none.</summary>
    public string? ReturnValue => Outputs.Where(output => output.Kind == CellOutputKind.ReturnValue && output.MimeType == PlainTextFormatter.MimeType)
        .Select(output => output.Value).LastOrDefault();
}

/// <summary>
/// One thing a cell showed, in one of its mime types: a displayed value or the cell's value comes in
/// each mime type the kernel's formatter gave it (most values only as text/html, to which the runner
/// adds the plain-text formatter's text/plain), an image's <c>image/png</c> as base-64 text, as in an
/// .ipynb file.
/// </summary>
/// <param name="Kind">Where it came from.</param>
/// <param name="MimeType">Its mime type.</param>
/// <param name="Value">Its formatted text.</param>
public sealed record CellOutput(CellOutputKind Kind, string MimeType, string Value)
{
    /// <summary>Which thing the cell showed this belongs to, counted from 0 (one display's mime types share it).</summary>
    internal int Shown { get; init; }

    /// <summary>The display's id, which later updates of the same display replace.</summary>
    internal string? DisplayId { get; init; }
}

/// <summary>Where a cell's output came from.</summary>
public enum CellOutputKind
{
    /// <summary>Console.Out during the cell.</summary>
    StandardOutput,

    /// <summary>Console.Error during the cell.</summary>
    StandardError,

    /// <summary><c>display(…)</c>, <c>.Display()</c>, or a kernel's own display (the package list).</summary>
    Displayed,

    /// <summary>The cell's last expression.</summary>
    ReturnValue,
}
