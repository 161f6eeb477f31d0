using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The temporary file a process ended outright (<c>kill -9</c>) leaves beside an output: its name
/// says which process wrote it, and a later write of the same output removes it once that process
/// provably no longer runs, and nothing else. Each test writes in a new folder, which a process lists
/// only once a minute.
/// </summary>
public class AtomicFileOrphanTests
{
    private static readonly string BootAndNamespace = OperatingSystem.IsLinux()
        ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim().Replace("-", "", StringComparison.Ordinal)
            + "/" + new FileInfo("/proc/self/ns/pid").LinkTarget!.Trim('p', 'i', 'd', ':', '[', ']'))))[..8]
        : "";

    [SetUp]
    public void OnLinux() => Assume.That(OperatingSystem.IsLinux(), "the writers' processes are looked up in Linux's /proc");

    // A /proc that hides other users' processes makes a running writer look ended: then nothing is
    // judged. Lines as /proc/self/mountinfo has them; the last mount on /proc is the one seen.
    [TestCase("22 27 0:21 / /proc rw,relatime - proc proc rw", ExpectedResult = true)]
    [TestCase("22 27 0:21 / /proc rw,relatime shared:12 - proc proc rw,hidepid=0", ExpectedResult = true)]
    [TestCase("22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=2", ExpectedResult = false)]
    [TestCase("22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=invisible", ExpectedResult = false)]
    [TestCase("22 27 0:21 / /proc rw,relatime - proc proc rw,hidepid=noaccess,subset=pid", ExpectedResult = false)]
    [TestCase("22 27 0:21 / /proc rw,nosuid,hidepid=ptraceable - proc proc rw", ExpectedResult = false)]
    [TestCase("22 27 0:21 / /proc rw - proc proc rw\n40 22 0:50 / /proc rw - proc proc rw,hidepid=2", ExpectedResult = false)]
    [TestCase("22 27 0:21 / /proc rw - proc proc rw,hidepid=2\n40 22 0:50 / /proc rw - proc proc rw", ExpectedResult = true)]
    [TestCase("22 27 0:21 / /proc rw - tmpfs none rw\n23 27 0:22 / /sys rw - sysfs sysfs rw", ExpectedResult = false)]
    [TestCase("", ExpectedResult = false)]
    public bool ProcIsTrustedOnlyWhenItShowsEveryUsersProcesses(string mountInfo) =>
        ProcessOwner.ProcShowsEveryProcess(mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries));

    [Test]
    public void TheTemporaryFileIsNamedAfterTheTargetAndThisProcess()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("model.zip");
        string temporary = "";
        AtomicFile.Write(target, stream => temporary = ((FileStream)stream).Name, flushToDisk: false);

        Assert.That(Path.GetFileName(temporary), Does.Match(
            $@"^model\.zip\.{Environment.ProcessId}-{EndedProcess.StartTime(Environment.ProcessId)}-{BootAndNamespace}\.[0-9a-f]{{16}}\.tmp\z"));
    }

    [Test]
    public void AWriteRemovesTheTemporaryFileOfAKilledWriterOfTheSameTarget()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File("model.zip");
        string orphan = Orphan(folder, "model.zip", EndedProcess.Make());

        AtomicFile.WriteAllText(target, "new model", flushToDisk: false);

        Assert.That(File.Exists(orphan), Is.False, "the killed writer's temporary file is removed");
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { target }));
        Assert.That(File.ReadAllText(target), Is.EqualTo("new model"));
    }

    [Test]
    public void AWriteLeavesAloneWhatIsNotProvablyAnOrphanOfItsTarget()
    {
        using var folder = new TemporaryDirectory();
        using var other = new TemporaryDirectory();
        string target = folder.File("model.zip");
        (int Pid, ulong Start) killed = EndedProcess.Make();
        string[] removed =
        [
            Orphan(folder, "model.zip", killed),
            // An id now used by a process that started at another time: the writer has ended.
            Orphan(folder, "model.zip", (Environment.ProcessId, killed.Start)),
        ];

        using Process running = Process.Start("sleep", "60");
        try
        {
            string[] left =
            [
                Orphan(folder, "model.zip", (Environment.ProcessId, EndedProcess.StartTime(Environment.ProcessId))),
                Orphan(folder, "model.zip", (running.Id, EndedProcess.StartTime(running.Id))),
                Orphan(folder, "model.zip", killed, bootAndNamespace: BootAndNamespace == "00000000" ? "00000001" : "00000000"),
                Orphan(folder, "model.zip2", killed),
                Orphan(folder, "other.model.zip", killed),
                Orphan(folder, "model", killed),
                Created(folder.File($"model.zip.{Guid.NewGuid():N}.tmp")),
                Created(NameOf(folder, "model.zip", killed) + ".part"),
                Created(NameOf(folder, "model.zip", killed) + "\n"),
            ];

            string linked = Created(other.File("linked"));
            string link = NameOf(folder, "model.zip", killed);
            File.CreateSymbolicLink(link, linked);
            string directory = NameOf(folder, "model.zip", killed);
            Directory.CreateDirectory(directory);
            string inside = Created(Path.Combine(directory, "inside"));

            AtomicFile.WriteAllText(target, "new model", flushToDisk: false);

            Assert.That(removed.Where(File.Exists), Is.Empty, "the temporary files of writers that have ended are removed");
            Assert.That(left.Where(file => !File.Exists(file)), Is.Empty, "left alone");
            Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(linked), "a link is left alone");
            Assert.That(File.Exists(linked) && File.Exists(inside), Is.True, "a link's file and a folder are left alone");
        }
        finally
        {
            running.Kill();
            running.WaitForExit();
        }
    }

    [Test]
    public void EachTargetInAFolderRemovesItsOwnOrphansWhenItIsWritten()
    {
        using var folder = new TemporaryDirectory();
        (int, ulong) killed = EndedProcess.Make();
        string[] orphans = [Orphan(folder, "0.png", killed), Orphan(folder, "1.png", killed), Orphan(folder, "1.png", killed)];

        AtomicFile.WriteAllBytes(folder.File("0.png"), [0], flushToDisk: false);
        Assert.That(orphans.Select(File.Exists), Is.EqualTo(new[] { false, true, true }), "only the written target's");

        AtomicFile.WriteAllBytes(folder.File("1.png"), [1], flushToDisk: false);
        Assert.That(orphans.Select(File.Exists), Is.All.False, "a later write in the same folder removes its target's too");
    }

    [TestCase(250, 'm')]
    [TestCase(255, 'm')]
    [TestCase(250, 'é')]
    [TestCase(253, '界')]
    public void ATargetWhoseNameNearlyFillsTheLimitIsWrittenAndItsOrphansRemoved(int bytes, char letter)
    {
        using var folder = new TemporaryDirectory();
        string name = new string(letter, (bytes - 4) / Encoding.UTF8.GetByteCount([letter])) + ".zip";
        Assert.That(Encoding.UTF8.GetByteCount(name), Is.InRange(bytes - 2, bytes));
        string target = folder.File(name);
        string temporary = "";
        AtomicFile.Write(target, stream => temporary = ((FileStream)stream).Name, flushToDisk: false);
        Assert.That(File.Exists(target), Is.True);

        // A name that would pass 255 bytes is shortened: the start of the target's name and a hash of it.
        string temporaryName = Path.GetFileName(temporary);
        Assert.That(Encoding.UTF8.GetByteCount(temporaryName), Is.AtMost(255));
        Match owned = Regex.Match(temporaryName, @"^(?<stem>[\s\S]+)\.[0-9]+-[0-9]+-[0-9a-f]{8}\.[0-9a-f]{16}\.tmp\z");
        Assert.That(owned.Success, Is.True, temporaryName);
        string stem = owned.Groups["stem"].Value;
        Assert.That(stem, Does.Match("^" + letter + @"+~[0-9a-f]{8}\z"));

        // In a folder this process has not listed yet.
        using var another = new TemporaryDirectory();
        string orphan = Orphan(another, stem, EndedProcess.Make());
        AtomicFile.WriteAllText(another.File(name), "again", flushToDisk: false);
        Assert.That(Directory.GetFiles(another.Path), Is.EqualTo(new[] { another.File(name) }), "a write of the same name removes its orphan");
    }

    [Test]
    public void ATargetNameTooLongForTheFileSystemIsRefusedNamingIt()
    {
        using var folder = new TemporaryDirectory();
        string target = folder.File(new string('m', 252) + ".zip");

        var error = Assert.Throws<PathTooLongException>(() => AtomicFile.WriteAllText(target, "model", flushToDisk: false));

        Assert.That(error!.Message, Does.Contain($"'{target}'"), "the target, not a temporary file's name");
        Assert.That(Directory.GetFileSystemEntries(folder.Path), Is.Empty, "no temporary file is left");
    }

    // The name of a temporary file of target that process owner wrote.
    private static string NameOf(TemporaryDirectory folder, string target, (int Pid, ulong Start) owner, string? bootAndNamespace = null) =>
        folder.File(string.Create(CultureInfo.InvariantCulture,
            $"{target}.{owner.Pid}-{owner.Start}-{bootAndNamespace ?? BootAndNamespace}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp"));

    private static string Orphan(TemporaryDirectory folder, string target, (int Pid, ulong Start) owner, string? bootAndNamespace = null) =>
        Created(NameOf(folder, target, owner, bootAndNamespace));

    private static string Created(string path)
    {
        File.WriteAllText(path, "what a killed write left");
        return path;
    }
}
