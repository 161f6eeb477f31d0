using System.Globalization;
using System.Reflection;
using System.Runtime.Versioning;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Two ranks that can reach each other only over TCP, as on two machines (docs/distributed.md,
/// "Across machines, tried on one"): the test makes two network namespaces joined by a veth pair
/// (10.231.0.1 and 10.231.0.2), starts mpirun in the first with an rsh agent that starts Open MPI's
/// daemon for the second host inside the second namespace, and runs the probe's collective checks
/// over Open MPI's TCP transport. The namespaces are the test's own and deleted at its end; no traffic
/// leaves the machine. It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2.
/// </summary>
[Category("Mpi")]
[SupportedOSPlatform("linux")]
public class MpiOverTcpTests
{
    private const string FirstHost = "10.231.0.1";
    private const string SecondHost = "10.231.0.2";
    private const string Subnet = "10.231.0.0/24";

    /// <summary>The lower bound on what any allreduce of the probe's 45 MB buffer sends from each of 2 ranks: half of it.</summary>
    private const long HalfOfTheGradient = 11_285_224L * sizeof(float) / 2;

    private static string Probe => typeof(MpiOverTcpTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "MpiProbe").Value!;

    [Test]
    public void TwoRanksInTwoNetworkNamespacesReduceExactlyOverTcpBetweenThem()
    {
        string mpirun = Mpirun.Find();
        using var folder = new TemporaryDirectory();
        // Names of this process's own, so that runs side by side do not meet; each namespace has its
        // own addresses, so the subnet can be the same in every run.
        string id = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        (string Namespace, string Link, string Address)[] hosts = [($"bninception-{id}-a", $"bnv{id}a", FirstHost), ($"bninception-{id}-b", $"bnv{id}b", SecondHost)];
        try
        {
            Ip("netns", "add", hosts[0].Namespace);
            Ip("netns", "add", hosts[1].Namespace);
            Ip("link", "add", hosts[0].Link, "type", "veth", "peer", "name", hosts[1].Link);
            foreach ((string space, string link, string address) in hosts)
            {
                Ip("link", "set", link, "netns", space);
                Ip("-n", space, "addr", "add", address + "/24", "dev", link);
                Ip("-n", space, "link", "set", link, "up");
                Ip("-n", space, "link", "set", "lo", "up");
            }

            // mpirun's "ssh": runs the daemon's command line for a host in that host's namespace, under
            // a hostname of its own (namespaces share the machine's name otherwise, and Open MPI would
            // take both daemons for one node).
            string agent = folder.File("netns-agent.sh");
            File.WriteAllText(agent, $$"""
                #!/bin/sh
                host=$1; shift
                case "$host" in
                  {{FirstHost}}) space={{hosts[0].Namespace}} ;;
                  {{SecondHost}}) space={{hosts[1].Namespace}} ;;
                  *) echo "netns-agent: no namespace for host $host" >&2; exit 1 ;;
                esac
                exec ip netns exec "$space" unshare --uts sh -c "hostname $space; $*"
                """);
            File.SetUnixFileMode(agent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

            long[] sentBefore = [.. hosts.Select(host => SentBytes(host.Namespace, host.Link))];
            ExternalProcess.Result job = ExternalProcess.Run("ip",
                [
                    "netns", "exec", hosts[0].Namespace, mpirun, "--allow-run-as-root", "--host", $"{FirstHost}:1,{SecondHost}:1", "-np", "2", "--bind-to", "none",
                    "--mca", "plm_rsh_agent", agent, "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", Subnet, "--mca", "oob_tcp_if_include", Subnet,
                    "dotnet", Probe, "collectives",
                ],
                environment: new Dictionary<string, string?>
                {
                    [TorchRuntime.ThreadsVariable] = "1",
                    // The daemon the agent starts is no child of mpirun's command line: it reads these instead.
                    ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
                    ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
                },
                timeout: TimeSpan.FromMinutes(2)).AssertSucceeded();
            long[] sent = [.. hosts.Select((host, i) => SentBytes(host.Namespace, host.Link) - sentBefore[i])];

            Assert.That(job.Output, Does.Contain("rank 0: all collective checks passed").And.Contain("rank 1: all collective checks passed"));
            Assert.That(job.Output, Does.Contain("rank 0: 45 MB sum of 11285224 floats exact").And.Contain("rank 1: 45 MB sum of 11285224 floats exact"));
            // Each side's end of the veth pair carried at least its half of the 45 MB reduction: the
            // ranks talked over TCP between the namespaces, not through shared memory.
            Assert.That(sent, Has.All.GreaterThan(HalfOfTheGradient), $"bytes sent from each namespace: {string.Join(", ", sent)}");
        }
        finally
        {
            foreach ((string space, _, _) in hosts)
            {
                // Deleting a namespace deletes its end of the veth pair, and with it the other end.
                ExternalProcess.Run("ip", ["netns", "delete", space]);
            }
        }
    }

    private static void Ip(params string[] arguments)
    {
        ExternalProcess.Result result = ExternalProcess.Run("ip", arguments);
        if (result.ExitCode != 0)
        {
            Assert.Fail($"{result.Command} failed with {result.ExitCode}: {result.Error.Trim()}. The test makes two network namespaces and a veth pair: " +
                "it needs iproute2 (apt install iproute2) and root with CAP_NET_ADMIN and CAP_SYS_ADMIN (a container may need --privileged or " +
                "--cap-add NET_ADMIN --cap-add SYS_ADMIN). docs/distributed.md, \"Across machines, tried on one\", gives the commands to run by hand.");
        }
    }

    private static long SentBytes(string space, string link)
    {
        ExternalProcess.Result read = ExternalProcess.Run("ip", ["netns", "exec", space, "cat", $"/sys/class/net/{link}/statistics/tx_bytes"]).AssertSucceeded();
        return long.Parse(read.Output.Trim(), CultureInfo.InvariantCulture);
    }
}
