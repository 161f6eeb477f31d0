using System.Runtime.InteropServices;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// The few calls of Open MPI's C API that <see cref="MpiWorld"/> makes, bound to <c>libmpi.so.40</c>
/// (the library's name from Open MPI 1.10 to 5). Nothing here runs until <see cref="Load"/> is
/// called, so a process that never asks for distributed training never opens the library.
/// </summary>
/// <remarks>
/// Open MPI's handles (<c>MPI_COMM_WORLD</c>, <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, …) are not numbers, as
/// they are in MPICH and MS-MPI, but the addresses of exported globals (<c>mpi.h</c>:
/// <c>#define MPI_COMM_WORLD OMPI_PREDEFINED_GLOBAL(MPI_Comm, ompi_mpi_comm_world)</c>), so
/// <see cref="Load"/> reads them from the library's export table. The constants below are
/// <c>mpi.h</c>'s values, the same in Open MPI 4 and 5.
/// </remarks>
internal static partial class OpenMpi
{
    /// <summary>The library's name, as the dynamic linker finds it (Debian: <c>/usr/lib/x86_64-linux-gnu/libmpi.so.40</c>).</summary>
    internal const string LibraryName = "libmpi.so.40";

    /// <summary><c>MPI_SUCCESS</c>.</summary>
    internal const int Success = 0;

    /// <summary><c>MPI_THREAD_MULTIPLE</c>: the last of mpi.h's thread levels (SINGLE, FUNNELED, SERIALIZED, MULTIPLE).</summary>
    internal const int ThreadMultiple = 3;

    /// <summary><c>MPI_MAX_ERROR_STRING</c>: the buffer <see cref="ErrorString"/> may fill.</summary>
    internal const int MaxErrorString = 256;

    /// <summary><c>MPI_IN_PLACE</c>, <c>((void *) 1)</c> in Open MPI's mpi.h.</summary>
    internal static readonly IntPtr InPlace = 1;

    /// <summary>The predefined handles this binding passes, read from the loaded library.</summary>
    internal sealed record Handles(IntPtr CommWorld, IntPtr Float, IntPtr Double, IntPtr Int64, IntPtr Sum, IntPtr ErrorsReturn);

    /// <summary>
    /// Opens <paramref name="libraryName"/> the way the calls below will find it (the same search
    /// as this assembly's LibraryImports) and reads the predefined handles from it.
    /// </summary>
    /// <exception cref="DllNotFoundException">The library cannot load; the message says to install Open MPI.</exception>
    internal static Handles Load(string libraryName)
    {
        IntPtr library;
        try
        {
            library = NativeLibrary.Load(libraryName, typeof(OpenMpi).Assembly, searchPath: null);
        }
        catch (DllNotFoundException error)
        {
            throw new DllNotFoundException(
                $"Distributed training needs Open MPI's library {libraryName}, which could not be loaded ({error.Message.Trim()}). "
                + "Install Open MPI 4 or later (on Debian or Ubuntu: apt install openmpi-bin libopenmpi-dev), "
                + "or start the program without mpirun to train in one process.",
                error);
        }

        return new Handles(
            CommWorld: Export(library, libraryName, "ompi_mpi_comm_world"),
            Float: Export(library, libraryName, "ompi_mpi_float"),
            Double: Export(library, libraryName, "ompi_mpi_double"),
            Int64: Export(library, libraryName, "ompi_mpi_int64_t"),
            Sum: Export(library, libraryName, "ompi_mpi_op_sum"),
            ErrorsReturn: Export(library, libraryName, "ompi_mpi_errors_return"));
    }

    private static IntPtr Export(IntPtr library, string libraryName, string name) =>
        NativeLibrary.TryGetExport(library, name, out IntPtr address)
            ? address
            : throw new DllNotFoundException($"{libraryName} does not export {name}: it is not Open MPI's library (MPICH and MS-MPI name their handles differently). Install Open MPI 4 or later (on Debian or Ubuntu: apt install openmpi-bin libopenmpi-dev).");

    [LibraryImport(LibraryName, EntryPoint = "MPI_Initialized")]
    internal static partial int Initialized(out int flag);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Finalized")]
    internal static partial int Finalized(out int flag);

    /// <summary><c>MPI_Init_thread(NULL, NULL, required, &amp;provided)</c>: MPI-2 lets argc and argv be null.</summary>
    [LibraryImport(LibraryName, EntryPoint = "MPI_Init_thread")]
    internal static partial int InitThread(IntPtr argc, IntPtr argv, int required, out int provided);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Query_thread")]
    internal static partial int QueryThread(out int provided);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Finalize")]
    internal static partial int FinalizeMpi();

    [LibraryImport(LibraryName, EntryPoint = "MPI_Comm_set_errhandler")]
    internal static partial int CommSetErrhandler(IntPtr communicator, IntPtr errorHandler);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Comm_rank")]
    internal static partial int CommRank(IntPtr communicator, out int rank);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Comm_size")]
    internal static partial int CommSize(IntPtr communicator, out int size);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Allreduce")]
    internal static partial int Allreduce(IntPtr sendBuffer, IntPtr receiveBuffer, int count, IntPtr datatype, IntPtr operation, IntPtr communicator);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Bcast")]
    internal static partial int Bcast(IntPtr buffer, int count, IntPtr datatype, int root, IntPtr communicator);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Barrier")]
    internal static partial int Barrier(IntPtr communicator);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Abort")]
    internal static partial int Abort(IntPtr communicator, int errorCode);

    [LibraryImport(LibraryName, EntryPoint = "MPI_Error_string")]
    internal static partial int ErrorString(int errorCode, [Out] byte[] text, out int length);
}
