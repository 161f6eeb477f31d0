using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Loads the chart drawer (MLNet.BNInception.Plots: ScottPlot on SkiaSharp 3) from its own folder
/// into an assembly load context of its own. The application's SkiaSharp is 2.88, which ML.NET 5's
/// image transforms need (they call an <c>SKBitmap</c> method SkiaSharp 3 changed); ScottPlot 5.1
/// needs SkiaSharp 3. Here each gets its own: managed assemblies and native libraries of the drawer
/// resolve from its folder through its .deps.json, and only strings and arrays cross over.
/// </summary>
internal sealed class PlotsLoadContext : AssemblyLoadContext
{
    /// <summary>The drawer's folder beside an application (the package's build step copies it there).</summary>
    public const string OutputFolderName = "bninception-plots";

    private const string AssemblyFileName = "MLNet.BNInception.Plots.dll";
    private const string NativeRuntime = "linux-x64";

    private static readonly Lock DrawerLock = new();
    private static SaveTrainingCurvesDelegate? _drawer;

    private readonly AssemblyDependencyResolver _resolver;

    private PlotsLoadContext(string assemblyPath) : base("MLNet.BNInception.Plots")
    {
        _resolver = new AssemblyDependencyResolver(assemblyPath);
    }

    /// <summary>The signature of <c>MLNet.BNInception.Plots.TrainingCurvesChart.Save</c>.</summary>
    public delegate void SaveTrainingCurvesDelegate(string path, string title, double[] epochs, double[] trainLoss, double[] trainAccuracy,
        double[] validationLoss, double[] validationAccuracy, int bestEpoch);

    /// <summary>
    /// The drawer, loaded into one context on first use. A failed load is not remembered: the next
    /// call tries again (after the missing files are put back, say).
    /// </summary>
    public static SaveTrainingCurvesDelegate SaveTrainingCurves
    {
        get
        {
            lock (DrawerLock)
            {
                return _drawer ??= LoadDrawer();
            }
        }
    }

    /// <summary>
    /// Why charts cannot be drawn here, or null when they can: checked before training, so that a
    /// missing drawer is reported before hours of work rather than after.
    /// </summary>
    public static string? Unavailable() => Unavailable(OurFolder());

    /// <summary><see cref="Unavailable()"/> for a package assembly in <paramref name="folder"/>.</summary>
    internal static string? Unavailable(string folder)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return $"training curves are drawn with the SkiaSharp 3 native library this package carries for {NativeRuntime} only, " +
                $"and this is {RuntimeInformation.RuntimeIdentifier}";
        }

        return FindAssembly(folder) is null
            ? $"the chart drawer ({OutputFolderName}/{AssemblyFileName}) is not in {folder}: " +
              "the MLNet.BNInception package copies it there when the application is built or published (unless BnInceptionCopyPlots is false)"
            : null;
    }

    protected override Assembly? Load(AssemblyName assemblyName)
    {
        // The drawer's own dependencies (ScottPlot, SkiaSharp 3, HarfBuzzSharp) come from its folder;
        // everything else (the framework) is shared with the application.
        string? path = _resolver.ResolveAssemblyToPath(assemblyName);
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        string? path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }

    // A single-file application has no assembly locations: its base directory holds the folder then.
    private static string OurFolder() =>
        typeof(PlotsLoadContext).Assembly.Location is { Length: > 0 } location ? Path.GetDirectoryName(location)! : AppContext.BaseDirectory;

    private static string? FindAssembly(string ours)
    {
        string[] candidates =
        [
            // Beside the application, where the build puts it.
            Path.Combine(ours, OutputFolderName, AssemblyFileName),
            // In the package itself (lib/net10.0/../../plots), for hosts that load the package's
            // assemblies from the NuGet cache without building, such as notebooks.
            Path.Combine(ours, "..", "..", "plots", AssemblyFileName),
        ];
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists);
    }

    private static SaveTrainingCurvesDelegate LoadDrawer()
    {
        if (Unavailable() is string reason)
        {
            throw new InvalidOperationException($"Cannot draw training curves: {reason}.");
        }

        string assemblyPath = FindAssembly(OurFolder())!;
        Assembly drawer = new PlotsLoadContext(assemblyPath).LoadFromAssemblyPath(assemblyPath);
        MethodInfo save = drawer.GetType("MLNet.BNInception.Plots.TrainingCurvesChart", throwOnError: true)!.GetMethod("Save")
            ?? throw new MissingMethodException("MLNet.BNInception.Plots.TrainingCurvesChart", "Save");
        return save.CreateDelegate<SaveTrainingCurvesDelegate>();
    }
}
