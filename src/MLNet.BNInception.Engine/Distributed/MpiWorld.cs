using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// This process's place among the processes of one training job started by an MPI launcher
/// (<c>mpirun</c>, Slurm's <c>srun --mpi=pmix</c>), and the collective operations data-parallel
/// training needs: every rank calls the same operations in the same order, with tensors of the
/// same shape and type, and each call returns when all ranks have made it.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Join()"/> decides from the environment whether a launcher started this process: Open
/// MPI's <c>mpirun</c> sets <c>OMPI_COMM_WORLD_SIZE</c> and <c>OMPI_COMM_WORLD_RANK</c> in each rank's
/// environment, and every PMIx launcher (<c>mpirun</c>, <c>srun --mpi=pmix</c>) sets <c>PMIX_RANK</c>.
/// With none of them, the process is a world of one (<see cref="Rank"/> 0, <see cref="Size"/> 1) and
/// Open MPI is never loaded, so a machine without it trains as before; the collective operations
/// check their arguments and leave the tensors as they are. Under a launcher, Open MPI
/// (<c>libmpi.so.40</c>) is loaded and initialised with <c>MPI_THREAD_MULTIPLE</c>.
/// </para>
/// <para>
/// The operations work in place on a contiguous CPU tensor's memory, handed to MPI without a copy.
/// A GPU tensor is staged through the host by the caller: copy it to the CPU, reduce, copy back.
/// An MPI error comes back as an <see cref="MpiException"/> with Open MPI's text and the rank (the
/// world's error handler is <c>MPI_ERRORS_RETURN</c>). When a rank dies, the launcher ends the
/// others: Open MPI's <c>mpirun</c> kills the whole job, so no rank waits for a dead peer.
/// docs/distributed.md says how to launch, what each operation costs, and what the GPU case does.
/// </para>
/// <para>
/// Collective operations on one world are not to be called from two threads at once: each rank must
/// issue them in one order. Any single thread may call them (the world is initialised with
/// <c>MPI_THREAD_MULTIPLE</c>, so a continuation that resumes on another pool thread is fine).
/// </para>
/// </remarks>
public sealed class MpiWorld : IDisposable
{
    /// <summary>Set by Open MPI's <c>mpirun</c> in each rank's environment: the number of ranks.</summary>
    public const string OpenMpiSizeVariable = "OMPI_COMM_WORLD_SIZE";

    /// <summary>Set by Open MPI's <c>mpirun</c> in each rank's environment: this rank.</summary>
    public const string OpenMpiRankVariable = "OMPI_COMM_WORLD_RANK";

    /// <summary>Set by every PMIx launcher (Open MPI's <c>mpirun</c>, Slurm's <c>srun --mpi=pmix</c>) in each rank's environment: this rank.</summary>
    public const string PmixRankVariable = "PMIX_RANK";

    private static readonly Lock Gate = new();
    private static MpiWorld? _joined;

    private readonly OpenMpi.Handles? _mpi;
    private readonly bool _initializedHere;
    private bool _finalized;
    private volatile bool _outOfStep;
    private volatile bool _stoppedTogether;

    private MpiWorld(OpenMpi.Handles? mpi, bool initializedHere, int rank, int size)
    {
        _mpi = mpi;
        _initializedHere = initializedHere;
        Rank = rank;
        Size = size;
    }

    /// <summary>This process's rank: 0 to <see cref="Size"/> - 1; 0 in a world of one.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the job; 1 without a launcher.</summary>
    public int Size { get; }

    /// <summary>Whether there is more than one process, so that the collective operations communicate.</summary>
    public bool IsDistributed => Size > 1;

    /// <summary>Whether Open MPI was loaded and initialised for this world (false in a world of one started without a launcher).</summary>
    public bool UsesMpi => _mpi is not null;

    /// <summary>
    /// This process's world: the first call initialises MPI when a launcher started the process
    /// (see the remarks of <see cref="MpiWorld"/>), later calls return the same world.
    /// </summary>
    /// <exception cref="DllNotFoundException">A launcher started the process but Open MPI's library cannot load; the message says how to install it.</exception>
    /// <exception cref="NotSupportedException">This Open MPI does not grant <c>MPI_THREAD_MULTIPLE</c>.</exception>
    /// <exception cref="InvalidOperationException">MPI was finalised in this process (by <see cref="Dispose"/> or by other code); it cannot start again.</exception>
    /// <exception cref="MpiException">An MPI call failed while setting up the world.</exception>
    public static MpiWorld Join()
    {
        lock (Gate)
        {
            if (_joined is { _finalized: true })
            {
                throw new InvalidOperationException("This process's MPI world was disposed, which finalised MPI; MPI cannot be initialised twice in one process.");
            }

            _joined ??= Join(Environment.GetEnvironmentVariable, OpenMpi.LibraryName);
            return _joined;
        }
    }

    /// <summary>Whether <paramref name="environment"/> says an MPI launcher started this process.</summary>
    internal static bool LaunchedByMpi(Func<string, string?> environment) =>
        !string.IsNullOrEmpty(environment(OpenMpiSizeVariable)) || !string.IsNullOrEmpty(environment(PmixRankVariable));

    /// <summary>
    /// <see cref="Join()"/>'s work, without the once-per-process cache: reads the launcher's
    /// variables through <paramref name="environment"/> and loads <paramref name="libraryName"/>
    /// only when they are there.
    /// </summary>
    internal static MpiWorld Join(Func<string, string?> environment, string libraryName)
    {
        if (!LaunchedByMpi(environment))
        {
            return new MpiWorld(mpi: null, initializedHere: false, rank: 0, size: 1);
        }

        OpenMpi.Handles mpi = OpenMpi.Load(libraryName);
        Check(OpenMpi.Finalized(out int finalized), "MPI_Finalized", rank: -1);
        if (finalized != 0)
        {
            throw new InvalidOperationException("MPI was already finalised in this process; it cannot be initialised again.");
        }

        Check(OpenMpi.Initialized(out int initialized), "MPI_Initialized", rank: -1);
        bool initializedHere = initialized == 0;
        int provided;
        if (initializedHere)
        {
            Check(OpenMpi.InitThread(IntPtr.Zero, IntPtr.Zero, OpenMpi.ThreadMultiple, out provided), "MPI_Init_thread", rank: -1);
        }
        else
        {
            Check(OpenMpi.QueryThread(out provided), "MPI_Query_thread", rank: -1);
        }

        if (provided < OpenMpi.ThreadMultiple)
        {
            if (initializedHere)
            {
                _ = OpenMpi.FinalizeMpi();
            }

            throw new NotSupportedException(
                $"This Open MPI gives thread level {provided}, not MPI_THREAD_MULTIPLE ({OpenMpi.ThreadMultiple}): .NET code resumes on any pool " +
                "thread, so the collective operations may come from any thread. Use an Open MPI built with thread support (Debian's and Ubuntu's are).");
        }

        // Errors come back as codes, which become exceptions with Open MPI's text, instead of
        // MPI_ERRORS_ARE_FATAL aborting the job with no .NET stack.
        Check(OpenMpi.CommSetErrhandler(mpi.CommWorld, mpi.ErrorsReturn), "MPI_Comm_set_errhandler", rank: -1);
        Check(OpenMpi.CommRank(mpi.CommWorld, out int rank), "MPI_Comm_rank", rank: -1);
        Check(OpenMpi.CommSize(mpi.CommWorld, out int size), "MPI_Comm_size", rank);
        var world = new MpiWorld(mpi, initializedHere, rank, size);
        if (initializedHere)
        {
            // A rank that ends without MPI_Finalize is reported by mpirun as a failed job.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => world.EndAtExit();
        }

        return world;
    }

    /// <summary>
    /// Replaces each element of <paramref name="tensor"/> by its sum over all ranks, in place.
    /// </summary>
    /// <param name="tensor">A contiguous CPU tensor of float32, float64 or int64, of the same shape and type on every rank.</param>
    /// <exception cref="ArgumentException">The tensor is not on the CPU, not contiguous, or of another type; the message says what to do.</exception>
    /// <exception cref="MpiException">MPI_Allreduce failed.</exception>
    /// <exception cref="ObjectDisposedException">The world was disposed.</exception>
    public void AllReduceSum(Tensor tensor) => AllReduceSum(tensor, TensorMemory.ElementsPerCall(tensor, nameof(AllReduceSum)));

    /// <summary>
    /// Replaces each element of <paramref name="tensor"/> by its mean over all ranks, in place: the
    /// sum of <see cref="AllReduceSum(Tensor)"/> divided by <see cref="Size"/>, as data-parallel training
    /// averages each rank's gradient.
    /// </summary>
    /// <param name="tensor">A contiguous CPU tensor of float32 or float64, of the same shape and type on every rank.</param>
    /// <exception cref="ArgumentException">The tensor is not on the CPU, not contiguous, or not floating point; the message says what to do.</exception>
    /// <exception cref="MpiException">MPI_Allreduce failed.</exception>
    /// <exception cref="ObjectDisposedException">The world was disposed.</exception>
    public void AllReduceMean(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dtype is not (ScalarType.Float32 or ScalarType.Float64))
        {
            throw new ArgumentException(
                $"{nameof(AllReduceMean)} needs a float32 or float64 tensor; this one is {tensor.dtype}, whose mean over ranks need not be a " +
                $"whole number. Use {nameof(AllReduceSum)} and divide where the rounding is decided.",
                nameof(tensor));
        }

        AllReduceSum(tensor);
        if (Size > 1)
        {
            using var noGrad = torch.no_grad();
            using Scalar size = Size.ToScalar();
            tensor.div_(size);
        }
    }

    /// <summary>Gives every rank <paramref name="root"/>'s values of <paramref name="tensor"/>, in place.</summary>
    /// <param name="tensor">A contiguous CPU tensor of float32, float64 or int64, of the same shape and type on every rank.</param>
    /// <param name="root">The rank whose values are sent: 0 to <see cref="Size"/> - 1.</param>
    /// <exception cref="ArgumentException">The tensor is not on the CPU, not contiguous, or of another type; the message says what to do.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="root"/> is not a rank of this world.</exception>
    /// <exception cref="MpiException">MPI_Bcast failed.</exception>
    /// <exception cref="ObjectDisposedException">The world was disposed.</exception>
    public void Broadcast(Tensor tensor, int root = 0) => Broadcast(tensor, root, TensorMemory.ElementsPerCall(tensor, nameof(Broadcast)));

    /// <summary>Returns when every rank has called it.</summary>
    /// <exception cref="MpiException">MPI_Barrier failed.</exception>
    /// <exception cref="ObjectDisposedException">The world was disposed.</exception>
    public void Barrier()
    {
        OpenMpi.Handles? mpi = Communicating();
        if (mpi is not null)
        {
            Check(OpenMpi.Barrier(mpi.CommWorld), "MPI_Barrier", Rank);
        }
    }

    /// <summary>
    /// Ends every rank of the job with <paramref name="errorCode"/> (<c>MPI_Abort</c>; <c>mpirun</c>
    /// exits with it); in a world of one started without a launcher, ends this process with it.
    /// For a rank that cannot go on while the others wait in a collective operation for it.
    /// </summary>
    /// <param name="errorCode">The exit code, not 0.</param>
    [DoesNotReturn]
    public void Abort(int errorCode)
    {
        if (_mpi is not null && !_finalized)
        {
            _ = OpenMpi.Abort(_mpi.CommWorld, errorCode);
        }

        Environment.Exit(errorCode);
    }

    /// <summary>
    /// Records that this rank has left the job's common order of collective operations (a training
    /// that failed or was cancelled on this rank, which the others may be waiting for in their next
    /// one): at process exit the job is then ended with <c>MPI_Abort</c>, not finalised.
    /// <c>MPI_Finalize</c> waits for every rank to finalise, and ranks that wait for this one in a
    /// collective operation never do: the job hung.
    /// </summary>
    internal void MarkOutOfStep() => _outOfStep = true;

    /// <summary>
    /// Records whether this rank's last training stopped where every rank stopped (an agreed
    /// cancellation, say): its process may then end with a failure's exit code and still finalise,
    /// as every rank does, rather than abort the job.
    /// </summary>
    internal void MarkStoppedTogether(bool together) => _stoppedTogether = together;

    // At process exit: as Dispose, which ends the job when this rank is out of step; and so when the
    // process ends with a failure (as the tool's exit code says) that its training did not share with
    // every rank, as mpirun does when a rank dies.
    private void EndAtExit()
    {
        if (Environment.ExitCode != 0 && !_stoppedTogether)
        {
            MarkOutOfStep();
        }

        Dispose();
    }

    /// <summary>
    /// Finalises MPI when <see cref="Join()"/> initialised it (<c>MPI_Finalize</c>, which waits for the
    /// other ranks to finalise too); nothing in a world of one. It also happens at process exit, so an
    /// application need not call it. After it, the collective operations and <see cref="Join()"/> throw.
    /// A rank whose training failed or was cancelled alone (see <see cref="MarkOutOfStep"/>) ends the
    /// whole job instead (<c>MPI_Abort</c>, with the process's exit code, else 1): the others wait for
    /// it in a collective operation, and would never finalise.
    /// </summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_mpi is null || _finalized)
            {
                return;
            }

            if (_outOfStep && IsDistributed)
            {
                // With the process's exit code, which mpirun then exits with.
                _ = OpenMpi.Abort(_mpi.CommWorld, Environment.ExitCode != 0 ? Environment.ExitCode : 1);
                return;
            }

            _finalized = true;
            if (_initializedHere && OpenMpi.Finalized(out int finalized) == OpenMpi.Success && finalized == 0)
            {
                Check(OpenMpi.FinalizeMpi(), "MPI_Finalize", Rank);
            }
        }
    }

    /// <summary><see cref="AllReduceSum(Tensor)"/> in calls of at most <paramref name="maxElementsPerCall"/> elements (tests use small ones).</summary>
    internal void AllReduceSum(Tensor tensor, long maxElementsPerCall)
    {
        TensorMemory.Check(tensor, nameof(AllReduceSum));
        OpenMpi.Handles? mpi = Communicating();
        if (mpi is null)
        {
            return;
        }

        IntPtr datatype = Datatype(mpi, tensor.dtype);
        TensorMemory.ForEachChunk(tensor, maxElementsPerCall, (start, count) =>
            Check(OpenMpi.Allreduce(OpenMpi.InPlace, start, count, datatype, mpi.Sum, mpi.CommWorld), "MPI_Allreduce", Rank));
    }

    /// <summary><see cref="Broadcast(Tensor, int)"/> in calls of at most <paramref name="maxElementsPerCall"/> elements (tests use small ones).</summary>
    internal void Broadcast(Tensor tensor, int root, long maxElementsPerCall)
    {
        TensorMemory.Check(tensor, nameof(Broadcast));
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        OpenMpi.Handles? mpi = Communicating();
        if (mpi is null)
        {
            return;
        }

        IntPtr datatype = Datatype(mpi, tensor.dtype);
        TensorMemory.ForEachChunk(tensor, maxElementsPerCall, (start, count) =>
            Check(OpenMpi.Bcast(start, count, datatype, root, mpi.CommWorld), "MPI_Bcast", Rank));
    }

    /// <summary>The handles to communicate with, or null when there is no one to communicate with.</summary>
    private OpenMpi.Handles? Communicating()
    {
        ObjectDisposedException.ThrowIf(_finalized, this);
        return Size > 1 ? _mpi : null;
    }

    private static IntPtr Datatype(OpenMpi.Handles mpi, ScalarType type) => type switch
    {
        ScalarType.Float32 => mpi.Float,
        ScalarType.Float64 => mpi.Double,
        _ => mpi.Int64,
    };

    /// <summary>Throws an <see cref="MpiException"/> for a <paramref name="call"/> that did not return <c>MPI_SUCCESS</c>.</summary>
    internal static void Check(int result, string call, int rank)
    {
        if (result != OpenMpi.Success)
        {
            throw new MpiException(call, result, ErrorText(result), rank);
        }
    }

    private static string ErrorText(int errorCode)
    {
        byte[] text = new byte[OpenMpi.MaxErrorString];
        return OpenMpi.ErrorString(errorCode, text, out int length) == OpenMpi.Success && length is > 0 and <= OpenMpi.MaxErrorString
            ? Encoding.UTF8.GetString(text, 0, length)
            : "(Open MPI has no text for this code) " + errorCode.ToString(CultureInfo.InvariantCulture);
    }
}
