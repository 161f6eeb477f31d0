using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Transforms.Onnx;
using Microsoft.ML;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Cli.ModelFiles;

/// <summary>
/// An ML.NET model file of a pipeline holding BN-Inception's trainer, loaded with ML.NET and taken
/// apart into what a batch job needs: the column of image paths and the image folder (from the
/// saved <c>LoadImages</c> step), the steps that turn an image into the network's input (resizing,
/// pixel extraction: ML.NET's own transformers, as saved), and the network as ONNX, which the
/// tool runs in batches instead of the saved chain's one-row-at-a-time <c>OnnxTransformer</c>.
/// </summary>
internal sealed class SavedModel : IDisposable
{
    private readonly string _temporaryFolder;
    private ImportedNetwork? _network;

    private SavedModel(string temporaryFolder, string path, MLContext context, ITransformer model, DataViewSchema inputSchema, IReadOnlyList<ITransformer> steps,
        ImageLoadingTransformer imageLoader, string imageColumn, string pathColumn, IReadOnlyList<ITransformer> preprocessing, byte[] onnx)
    {
        _temporaryFolder = temporaryFolder;
        Path = path;
        Context = context;
        Model = model;
        InputSchema = inputSchema;
        Steps = steps;
        ImageLoader = imageLoader;
        ImageColumn = imageColumn;
        PathColumn = pathColumn;
        Preprocessing = preprocessing;
        Onnx = onnx;
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>The context the model was loaded in.</summary>
    public MLContext Context { get; }

    /// <summary>The whole saved pipeline, as <c>mlContext.Model.Load</c> returns it.</summary>
    public ITransformer Model { get; }

    /// <summary>The schema of the data the pipeline was fitted on (the columns a CSV file must provide).</summary>
    public DataViewSchema InputSchema { get; }

    /// <summary>The pipeline's transformers in order, nested chains flattened.</summary>
    public IReadOnlyList<ITransformer> Steps { get; }

    /// <summary>The step that loads images from the paths in <see cref="PathColumn"/>.</summary>
    public ImageLoadingTransformer ImageLoader { get; }

    /// <summary>The column holding image paths.</summary>
    public string PathColumn { get; }

    /// <summary>The column <see cref="ImageLoader"/> writes the image to.</summary>
    public string ImageColumn { get; }

    /// <summary>The folder relative paths were resolved against when the model was trained; null when paths were used as given.</summary>
    public string? ImageFolder => string.IsNullOrEmpty(ImageLoader.ImageFolder) ? null : ImageLoader.ImageFolder;

    /// <summary>The steps between image loading and the network: resizing, pixel extraction.</summary>
    public IReadOnlyList<ITransformer> Preprocessing { get; }

    /// <summary>The network: the ONNX model (BN folded, softmax at the end) the saved OnnxTransformer runs.</summary>
    public byte[] Onnx { get; }

    /// <summary>The network rebuilt in the engine (read on first use): its architecture, class names and weights.</summary>
    public ImportedNetwork Network
    {
        get
        {
            if (_network is null)
            {
                try
                {
                    _network = OnnxImporter.Import(new MemoryStream(Onnx, writable: false), Path);
                }
                catch (InvalidDataException e)
                {
                    throw CommandLineException.InvalidModel(BnInceptionCommandLine.OneLine(e.Message), e);
                }
            }

            return _network;
        }
    }

    /// <summary>The class names, in the order of the network's outputs (the label's key order).</summary>
    public IReadOnlyList<string> ClassLabels => Network.ClassLabels
        ?? throw CommandLineException.InvalidModel($"'{Path}': the network records no class names; was it saved by this package's trainer?");

    /// <summary>
    /// Frees the rebuilt network, if it was read, and the loaded pipeline, and deletes the model's
    /// temporary folder: ML.NET's OnnxTransformer keeps a copy of the network there (about 40 MB for
    /// ten classes) until it is disposed, and a process that exits without disposing it leaves the
    /// copy behind.
    /// </summary>
    public void Dispose()
    {
        _network?.Dispose();
        (Model as IDisposable)?.Dispose();
        TemporaryModelFolder.Delete(_temporaryFolder);
    }

    /// <summary>
    /// Loads the model at <paramref name="path"/>; a file that is missing or holds no usable BN-Inception
    /// pipeline gives <see cref="ExitCodes.InvalidModel"/>, with a message that says what the file is
    /// (<see cref="UnloadableModelFile"/>).
    /// </summary>
    public static SavedModel Load(string path)
    {
        string fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            throw CommandLineException.InvalidModel(Directory.Exists(fullPath)
                ? $"the model '{path}' is a directory; give the .zip file mlContext.Model.Save or 'bninception train' wrote"
                : $"the model file '{path}' does not exist");
        }

        CommandFiles.CheckIsAFile(fullPath, $"the model '{path}'", message => CommandLineException.InvalidModel(message));

        // ML.NET writes into its context's temporary folder while it loads (and leaves an empty
        // folder there when the file is not a model): a folder of this model's own, deleted with it
        // (or by a later run, if this process is killed), keeps whatever it writes from outliving the command.
        string temporaryFolder = CommandFiles.NewTemporaryModelFolder();

        var context = new MLContext(seed: 0) { TempFilePath = temporaryFolder };
        ITransformer? model = null;

        // The file is opened once, for ML.NET's loader and then for the network's ONNX model, so both
        // come from the same bytes even if the file is replaced meanwhile (a training run finishing
        // renames its new model over the old one).
        FileStream? file = null;
        try
        {
            try
            {
                file = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw CommandLineException.InvalidModel($"the model file '{path}' cannot be read ({BnInceptionCommandLine.OneLine(e.Message)})", e);
            }

            DataViewSchema inputSchema;
            try
            {
                model = BnInceptionModelFile.Load(context, file, out inputSchema);
            }
            catch (Exception e) when (WriteFailure.FindIn(e) is { } failed && failed.Message.Contains(temporaryFolder, StringComparison.Ordinal))
            {
                // ML.NET's copy of the network could not be written (a full $TMPDIR): the model itself is not at fault.
                // BnInceptionModelFile.Load says so to an application, in words of MLContext's; the tool says what the
                // system said (the failure that exception wraps), with its own advice.
                Exception cause = WriteFailure.FindIn(failed.InnerException) ?? failed;
                throw CommandLineException.UnreadableInput($"the model '{path}' cannot be loaded: ML.NET's copy of its network cannot be written: {WriteFailure.Describe(cause)}", e);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw CommandLineException.InvalidModel(UnloadableModelFile.Describe(path, file, e), e);
            }

            return TakeApart(temporaryFolder, path, fullPath, file, context, model, inputSchema);
        }
        catch
        {
            (model as IDisposable)?.Dispose();
            TemporaryModelFolder.Delete(temporaryFolder);
            throw;
        }
        finally
        {
            file?.Dispose();
        }
    }

    private static SavedModel TakeApart(string temporaryFolder, string path, string fullPath, FileStream file, MLContext context, ITransformer model, DataViewSchema inputSchema)
    {
        var steps = new List<ITransformer>();
        Flatten(model, steps);
        int loader = steps.FindIndex(step => step is ImageLoadingTransformer);
        if (loader < 0)
        {
            throw CommandLineException.InvalidModel(
                $"'{path}' has no image loading step (LoadImages or LoadImagesSafely) to read image files with; its steps are {Describe(steps)}");
        }

        int network = steps.FindIndex(loader, step => step is OnnxTransformer);
        if (network < 0)
        {
            throw CommandLineException.InvalidModel(
                $"'{path}' holds no BN-Inception network after its image loading step; its steps are {Describe(steps)}. Was the pipeline fitted with the BnInception trainer?");
        }

        // ML.NET checks each step against the one before it only when data flows; a network swapped in
        // the file for one of another class count, or an input schema saved without a column a step
        // reads, would otherwise fail mid-command as an unexpected error.
        try
        {
            model.GetOutputSchema(inputSchema);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw CommandLineException.InvalidModel(
                $"'{path}': its steps do not fit together with each other or with the input schema saved with them ({BnInceptionCommandLine.OneLine(e.Message)}); its steps are {Describe(steps)}", e);
        }

        var imageLoader = (ImageLoadingTransformer)steps[loader];
        (string imageColumn, string pathColumn) = ImageColumns(path, inputSchema, steps, loader);
        byte[] onnx;
        try
        {
            onnx = BnInceptionModelFile.ReadOnnxModel(file, fullPath);
        }
        catch (InvalidDataException e)
        {
            throw CommandLineException.InvalidModel(BnInceptionCommandLine.OneLine(e.Message), e);
        }

        return new SavedModel(temporaryFolder, fullPath, context, model, inputSchema, steps, imageLoader, imageColumn, pathColumn, steps.Skip(loader + 1).Take(network - loader - 1).ToArray(), onnx);
    }

    /// <summary>The steps by name, for messages and <c>info</c>.</summary>
    public static string Describe(IEnumerable<ITransformer> steps) => string.Join(" → ", steps.Select(step => step.GetType().Name));

    // ML.NET keeps a loader's column pairs internal; its schemas are public. The image column is the
    // image the loader adds, and the path column is what the loader reads to make it.
    private static (string Image, string Path) ImageColumns(string path, DataViewSchema inputSchema, List<ITransformer> steps, int loader)
    {
        DataViewSchema before = inputSchema;
        foreach (ITransformer step in steps.Take(loader))
        {
            before = step.GetOutputSchema(before);
        }

        IRowToRowMapper mapper = steps[loader].GetRowToRowMapper(before);
        DataViewSchema.Column[] images = mapper.OutputSchema.Where(c => c.Type is ImageDataViewType && !c.IsHidden && before.GetColumnOrNull(c.Name)?.Type is not ImageDataViewType).ToArray();
        if (images.Length != 1)
        {
            throw CommandLineException.InvalidModel(
                $"'{path}' loads images into {images.Length} columns ({string.Join(", ", images.Select(c => c.Name))}); the tool scores models with one image column");
        }

        DataViewSchema.Column[] paths = mapper.GetDependencies(images).Where(c => c.Type is TextDataViewType).ToArray();
        return paths.Length == 1 ? (images[0].Name, paths[0].Name)
            : throw CommandLineException.InvalidModel($"'{path}': cannot tell which column the image loading step reads paths from ({paths.Length} text columns)");
    }

    private static void Flatten(ITransformer transformer, List<ITransformer> steps)
    {
        if (transformer is IEnumerable<ITransformer> chain)
        {
            foreach (ITransformer step in chain)
            {
                Flatten(step, steps);
            }
        }
        else
        {
            steps.Add(transformer);
        }
    }
}
