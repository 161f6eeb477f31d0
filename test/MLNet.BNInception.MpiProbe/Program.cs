using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Distributed;
using TorchSharp;
using static TorchSharp.torch;

// usage: mpirun -np 2 --bind-to none MpiProbe.dll collectives|kill|abort|time
//   collectives  every rank checks the collective operations against closed forms; exit 0 when all hold
//   kill         rank 1 kills itself with SIGKILL after a first reduction, rank 0 keeps reducing:
//                the launcher must end rank 0 (rank 0 gives up after 30 s with exit code 3)
//   abort        rank 1 calls Abort(7) while rank 0 waits in a barrier
//   time         rank 0 prints how long each of 7 reductions of 11,285,224 floats took, and the median
//   dp-step|dp-train|dp-kill|dp-cancel|dp-resume DATA TARGET
//                data-parallel training (TrainingProbe.cs says what each does)
//   mlnet-fit DATA FOLDER
//                the ML.NET trainer in a pipeline on every rank; rank 0 saves the model (MLNetProbe.cs)
//   mlnet-validate DATA FOLDER
//                the ML.NET trainer with validation data whose rows each rank counts as it decodes them (MLNetProbe.cs)
//   dp-time [STEPS]
//                a measurement, not a check: the step time of BN-Inception and of its gradient's
//                allreduce, on as many ranks as mpirun starts (TimingProbe.cs)
//   heap         without mpirun: what glibc does with freed memory while KeptHeap holds the heap,
//                on the process's first thread (HeapProbe.cs)
// Each rank prints "rank R: ..." lines; a failed check prints "rank R: FAILED ..." and exits 1.
if (args is ["heap"])
{
    return HeapProbe.Run();
}

bool understood = args switch
{
    ["collectives" or "kill" or "abort" or "time"] => true,
    [string mode, _, _] when mode.StartsWith("dp-", StringComparison.Ordinal) || mode is "mlnet-fit" or "mlnet-validate" => true,
    ["mlnet-fit-fails-on-rank-1", _] => true,
    ["dp-time"] or ["dp-time", _] => true,
    _ => false,
};
if (!understood)
{
    Console.Error.WriteLine("usage: MpiProbe collectives|kill|abort|time, MpiProbe dp-step|dp-train|dp-kill|dp-cancel|dp-resume DATA TARGET, " +
        "MpiProbe mlnet-fit|mlnet-validate DATA FOLDER, MpiProbe mlnet-fit-fails-on-rank-1 DATA, or MpiProbe dp-time [STEPS]");
    return 2;
}

TorchRuntime.EnsureLoaded();
using MpiWorld world = MpiWorld.Join();
Console.WriteLine($"rank {world.Rank}: joined a world of {world.Size} (uses MPI: {world.UsesMpi})");
try
{
    return args[0] switch
    {
        "collectives" => Probe.Collectives(world),
        "kill" => Probe.Kill(world),
        "abort" => Probe.Abort(world),
        "time" => Probe.Time(world),
        "mlnet-fit" => MLNetProbe.Fit(world, args[1], args[2]),
        "mlnet-validate" => MLNetProbe.Validate(world, args[1], args[2]),
        "mlnet-fit-fails-on-rank-1" => MLNetProbe.FitFailingOnRankOne(world, args[1]),
        "dp-time" => TimingProbe.Run(world, args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : TimingProbe.DefaultSteps),
        _ when args.Length == 3 => TrainingProbe.Run(world, args[0], args[1], args[2]),
        _ => 2,
    };
}
catch (ProbeFailure failure)
{
    Console.WriteLine($"rank {world.Rank}: FAILED {failure.Message}");
    Console.Out.Flush();
    // The other rank may be waiting in a collective operation for this one.
    world.Abort(1);
    return 1;
}

/// <summary>The probe's modes.</summary>
internal static class Probe
{
    /// <summary>The flat gradient buffer of BN-Inception with 1,000 classes: 11,285,224 float32 values, 45 MB.</summary>
    private const int GradientElements = 11_285_224;

    public static int Collectives(MpiWorld world)
    {
        int rank = world.Rank, size = world.Size;
        Expect(size == 2 && world.IsDistributed && world.UsesMpi, $"a distributed world of 2 through MPI, got size {size}");
        Expect(ReferenceEquals(MpiWorld.Join(), world), "Join() returns the world it joined before");

        // Each rank contributes (rank + 1)·i + rank/2 at element i: the sum over ranks is
        // i·S(S+1)/2 + S(S-1)/4, exact in float32 for these magnitudes.
        const int n = 1000;
        float[] expected = Enumerable.Range(0, n).Select(i => i * (size * (size + 1) / 2f) + size * (size - 1) / 4f).ToArray();
        using (Tensor values = torch.tensor(Enumerable.Range(0, n).Select(i => (rank + 1) * i + rank / 2f).ToArray()))
        {
            world.AllReduceSum(values);
            ExpectEqual(values.data<float>().ToArray(), expected, "float32 sum");
        }

        // The same sum in calls of 7 elements (1000 = 142·7 + 6): the chunking path of large buffers.
        using (Tensor values = torch.tensor(Enumerable.Range(0, n).Select(i => (rank + 1) * i + rank / 2f).ToArray()))
        {
            world.AllReduceSum(values, maxElementsPerCall: 7);
            ExpectEqual(values.data<float>().ToArray(), expected, "float32 sum in chunks of 7");
        }

        using (Tensor values = torch.tensor(Enumerable.Range(0, n).Select(i => (rank + 1) * i + rank / 2.0).ToArray()))
        {
            world.AllReduceSum(values);
            ExpectEqual(values.data<double>().ToArray(), expected.Select(value => (double)value).ToArray(), "float64 sum");
        }

        // 2^60 + rank summed over two ranks is 2^61 + 1: exact in int64, not in a double, so the
        // reduction runs on 64-bit integers.
        using (Tensor values = torch.tensor(new[] { (1L << 60) + rank, -rank, long.MaxValue / 4 }))
        {
            world.AllReduceSum(values);
            ExpectEqual(values.data<long>().ToArray(), [(1L << 61) + 1, -1, long.MaxValue / 4 * 2], "int64 sum");
        }

        // Rank r holds r + 1 everywhere: the mean over 2 ranks is 1.5.
        using (Tensor values = torch.tensor(Enumerable.Repeat(rank + 1f, 10).ToArray()))
        {
            world.AllReduceMean(values);
            ExpectEqual(values.data<float>().ToArray(), Enumerable.Repeat(1.5f, 10).ToArray(), "float32 mean");
        }

        // A contiguous view at an offset into a larger storage: only its 10 elements change.
        using (Tensor buffer = torch.tensor(Enumerable.Repeat(1f, 20).ToArray()))
        using (Tensor middle = buffer.narrow(0, 5, 10))
        {
            Expect(middle.storage_offset() == 5 && middle.is_contiguous(), "narrow(0, 5, 10) is a contiguous view at offset 5");
            world.AllReduceSum(middle);
            ExpectEqual(buffer.data<float>().ToArray(), Enumerable.Range(0, 20).Select(i => i is >= 5 and < 15 ? 2f : 1f).ToArray(), "sum of a view at an offset");
        }

        // Broadcast: every rank ends with the root's values.
        using (Tensor values = torch.tensor(Enumerable.Range(0, n).Select(i => i * 10f + rank).ToArray()))
        {
            world.Broadcast(values, root: 0);
            ExpectEqual(values.data<float>().ToArray(), Enumerable.Range(0, n).Select(i => i * 10f).ToArray(), "broadcast of float32 from rank 0");
        }

        using (Tensor values = torch.tensor(Enumerable.Range(0, n).Select(i => (long)i * 10 + rank).ToArray()))
        {
            world.Broadcast(values, root: 1, maxElementsPerCall: 7);
            ExpectEqual(values.data<long>().ToArray(), Enumerable.Range(0, n).Select(i => (long)i * 10 + 1).ToArray(), "broadcast of int64 from rank 1 in chunks of 7");
        }

        // The 45 MB gradient buffer: rank r holds (r + 1)·(i mod 1024), so the sum is 3·(i mod 1024).
        float[] gradient = new float[GradientElements];
        for (int i = 0; i < gradient.Length; i++)
        {
            gradient[i] = (rank + 1) * (i % 1024);
        }

        using (Tensor values = torch.tensor(gradient))
        {
            world.AllReduceSum(values);
            float[] reduced = values.data<float>().ToArray();
            int wrong = Enumerable.Range(0, reduced.Length).Count(i => reduced[i] != 3 * (i % 1024));
            double checksum = reduced.Sum(value => (double)value);
            double expectedChecksum = Enumerable.Range(0, GradientElements).Sum(i => 3.0 * (i % 1024));
            Expect(wrong == 0 && checksum == expectedChecksum, $"45 MB sum: {wrong} of {GradientElements} elements wrong, checksum {checksum} against {expectedChecksum}");
            Console.WriteLine($"rank {rank}: 45 MB sum of {GradientElements} floats exact, checksum {checksum.ToString(CultureInfo.InvariantCulture)}");
        }

        // Refused before any communication, on both ranks alike, so the ranks stay in step.
        using (Tensor matrix = torch.zeros(4, 6))
        using (Tensor transposed = matrix.t())
        {
            ExpectRefused(() => world.AllReduceSum(transposed), "contiguous", "a transposed view");
        }

        using (Tensor onMeta = torch.zeros([8], device: torch.META))
        {
            ExpectRefused(() => world.AllReduceSum(onMeta), "host memory", "a tensor off the CPU");
        }

        using (Tensor integers = torch.zeros([8], ScalarType.Int32))
        {
            ExpectRefused(() => world.Broadcast(integers), "float32, float64 and int64", "an int32 tensor");
        }

        using (Tensor longs = torch.zeros([8], ScalarType.Int64))
        {
            ExpectRefused(() => world.AllReduceMean(longs), "float32 or float64", "the mean of int64");
        }

        // An error code from MPI comes back (the world's handler is MPI_ERRORS_RETURN, not the default
        // that aborts the job) and becomes an MpiException with Open MPI's text: a broadcast from a
        // root that is no rank is MPI_ERR_ROOT (8 in mpi.h). No rank sends anything.
        float[] one = [1f];
        GCHandle pinned = GCHandle.Alloc(one, GCHandleType.Pinned);
        try
        {
            OpenMpi.Handles mpi = OpenMpi.Load(OpenMpi.LibraryName);
            MpiWorld.Check(OpenMpi.Bcast(pinned.AddrOfPinnedObject(), 1, mpi.Float, root: size + 3, mpi.CommWorld), "MPI_Bcast", rank);
            throw new ProbeFailure("MPI_Bcast from root 5 of 2 ranks returned MPI_SUCCESS");
        }
        catch (MpiException error)
        {
            Expect(error.ErrorCode == 8 && error.Rank == rank && error.Message.Contains($"MPI_Bcast failed on rank {rank} with MPI error 8: MPI_ERR_ROOT", StringComparison.Ordinal),
                $"a bad root gives MPI_ERR_ROOT (8) with Open MPI's text and the rank; got {error.ErrorCode}: {error.Message}");
            Console.WriteLine($"rank {rank}: an MPI error became \"{error.Message}\"");
        }
        finally
        {
            pinned.Free();
        }

        world.Barrier();
        Console.WriteLine($"rank {rank}: all collective checks passed");
        return 0;
    }

    public static int Kill(MpiWorld world)
    {
        using Tensor values = torch.ones(1000);
        world.AllReduceSum(values);
        Console.WriteLine($"rank {world.Rank}: first reduction done");
        Console.Out.Flush();
        if (world.Rank == 1)
        {
            Process.GetCurrentProcess().Kill(); // SIGKILL: no exception, no finalisation, no goodbye
        }

        // Rank 0 would wait in the next reduction forever; the launcher is to end it. If it has not
        // within 30 s, the job was not torn down: say so and end with a code the test recognises.
        using var giveUp = new Timer(_ =>
        {
            Console.WriteLine($"rank {world.Rank}: NOT TORN DOWN 30 s after rank 1 died");
            Console.Out.Flush();
            Environment.Exit(3);
        }, null, TimeSpan.FromSeconds(30), Timeout.InfiniteTimeSpan);
        while (true)
        {
            world.AllReduceSum(values);
        }
    }

    public static int Abort(MpiWorld world)
    {
        world.Barrier();
        if (world.Rank == 1)
        {
            Console.WriteLine("rank 1: aborting with code 7");
            Console.Out.Flush();
            world.Abort(7);
        }

        world.Barrier();
        Console.WriteLine($"rank {world.Rank}: NOT ABORTED: the barrier returned without rank 1");
        return 3;
    }

    public static int Time(MpiWorld world)
    {
        using Tensor values = torch.ones(GradientElements);
        world.AllReduceSum(values); // the first call sets up the shared-memory segments
        var milliseconds = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            world.Barrier();
            long start = Stopwatch.GetTimestamp();
            world.AllReduceSum(values);
            milliseconds.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        if (world.Rank == 0)
        {
            Console.WriteLine($"rank 0: allreduce of {GradientElements} floats over {world.Size} ranks, ms: " +
                string.Join(", ", milliseconds.Select(value => value.ToString("F1", CultureInfo.InvariantCulture))) +
                $"; median {milliseconds.Order().ElementAt(milliseconds.Count / 2).ToString("F1", CultureInfo.InvariantCulture)}");
        }

        return 0;
    }

    private static void Expect(bool condition, string what)
    {
        if (!condition)
        {
            throw new ProbeFailure(what);
        }
    }

    private static void ExpectEqual<T>(T[] actual, T[] expected, string what)
        where T : IEquatable<T>
    {
        int first = Enumerable.Range(0, Math.Min(actual.Length, expected.Length)).FirstOrDefault(i => !actual[i].Equals(expected[i]), -1);
        Expect(actual.Length == expected.Length && first < 0,
            $"{what}: {actual.Length} values, {expected.Length} expected; first difference at {first}: " +
            (first >= 0 ? $"{actual[first]} instead of {expected[first]}" : "none"));
        Console.WriteLine($"rank {MpiWorld.Join().Rank}: {what} exact");
    }

    private static void ExpectRefused(Action call, string messagePart, string what)
    {
        try
        {
            call();
        }
        catch (ArgumentException error) when (error.Message.Contains(messagePart, StringComparison.Ordinal))
        {
            Console.WriteLine($"rank {MpiWorld.Join().Rank}: {what} refused");
            return;
        }

        throw new ProbeFailure($"{what} was not refused with an ArgumentException naming \"{messagePart}\"");
    }
}

/// <summary>A check of the probe that did not hold.</summary>
internal sealed class ProbeFailure(string message) : Exception(message);
