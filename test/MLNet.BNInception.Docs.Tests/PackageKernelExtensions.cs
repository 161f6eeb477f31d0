using System.Collections.Concurrent;
using System.Reactive.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// The kernel extensions that packages bring, loaded as Polyglot Notebooks and Jupyter's .NET kernel
/// load them: after a command that added a package, each <see cref="IKernelExtension"/> in the
/// package's <c>interactive-extensions/dotnet</c> folder is loaded. Microsoft.Data.Analysis brings
/// the one that shows a DataFrame as an HTML table; without it a notebook's DataFrame would show
/// here as a text dump, unlike anywhere a user opens the notebook.
/// </summary>
internal static class PackageKernelExtensions
{
    /// <summary>Loads the extensions of every package that a command of <paramref name="kernel"/> adds, when that command ends.</summary>
    public static CompositeKernel UsePackageKernelExtensions(this CompositeKernel kernel)
    {
        var added = new ConcurrentQueue<PackageAdded>();
        kernel.RegisterForDisposal(kernel.KernelEvents.OfType<PackageAdded>().Subscribe(added.Enqueue));
        kernel.AddMiddleware(async (command, context, next) =>
        {
            await next(command, context);
            // Still inside the command: extensions may ask for the current invocation's kernel (ML.NET's does).
            while (added.TryDequeue(out PackageAdded? package))
            {
                var folder = new DirectoryInfo(Path.Combine(package.PackageReference.PackageRoot, "interactive-extensions", "dotnet"));
                if (!folder.Exists)
                {
                    continue;
                }

                foreach (FileInfo file in folder.GetFiles("*.dll"))
                {
                    Assembly assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(file.FullName);
                    foreach (Type type in assembly.ExportedTypes.Where(type => type is { IsAbstract: false, IsInterface: false, IsGenericTypeDefinition: false }
                                                                               && typeof(IKernelExtension).IsAssignableFrom(type)))
                    {
                        await ((IKernelExtension)Activator.CreateInstance(type)!).OnLoadAsync(kernel);
                    }
                }
            }
        });
        return kernel;
    }
}
