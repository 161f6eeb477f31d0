namespace MLNet.BNInception.Tests;

/// <summary>
/// Open MPI's <c>mpirun</c>, which the distributed tests start their programs under, two ranks on
/// this machine, as docs/distributed.md launches training on one machine.
/// </summary>
internal static class Mpirun
{
    /// <summary>Where <c>mpirun</c> is on PATH; a missing one fails the test, saying how to install it.</summary>
    public static string Find()
    {
        string? mpirun = Environment.GetEnvironmentVariable("PATH")?.Split(':')
            .Select(folder => Path.Combine(folder, "mpirun")).FirstOrDefault(File.Exists);
        return mpirun ?? throw new AssertionException(
            "mpirun is not installed: run 'bash build/setup.sh --with-test-deps', which installs Open MPI (openmpi-bin, libopenmpi-dev).");
    }

    /// <summary>
    /// Runs <paramref name="program"/> with <paramref name="arguments"/> as two ranks: not bound to
    /// cores (libtorch's threads of a rank would share one), oversubscribed (this machine may have
    /// fewer cores than ranks), and allowed as root, as the tests run here and in CI (mpirun refuses
    /// root otherwise).
    /// </summary>
    public static ExternalProcess.Result RunTwoRanks(string program, IEnumerable<string> arguments, TimeSpan timeout,
        string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null) =>
        ExternalProcess.Run(
            Find(),
            ["-np", "2", "--oversubscribe", "--bind-to", "none", "--allow-run-as-root", program, .. arguments],
            workingDirectory,
            environment,
            timeout);
}
