using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Tests;

/// <summary>
/// BnInceptionModelFile.Load of a model it cannot load: a temporary folder (MLContext.TempFilePath)
/// that is full or read-only is named with the model file and what to do, in an IOException rather
/// than ML.NET's TargetInvocationExceptions; a damaged file is refused naming it; and the copies of
/// the network the failed load wrote are gone, while what was in the folder before stays. The full
/// and read-only folders are tmpfs (<see cref="SmallDisk"/>).
/// </summary>
[Trains]
public class ModelLoadFailureTests
{
    private const string Expected = "expected a model file saved (mlContext.Model.Save) from a pipeline holding BN-Inception's trainer";

    // A file in the temporary folder before the load, named as ML.NET names its copies: not the load's to delete.
    private const string Earlier = "earlier1.abc";

    private static TemporaryDirectory s_folder = null!;
    private static string s_modelFile = null!;
    private static byte[] s_network = null!;

    public enum Folder
    {
        /// <summary>Full before ML.NET has unpacked the network's entry into a folder ml_dotnet_* of its own.</summary>
        FullBeforeTheNetworkIsUnpacked,

        /// <summary>Room for the unpacked entry, not for the copy OnnxTransformer makes of it beside.</summary>
        FullBeforeTheNetworkIsCopied,

        /// <summary>Mounted read-only.</summary>
        ReadOnly,
    }

    public enum Damage
    {
        /// <summary>The file's second half is missing: no zip.</summary>
        CutShort,

        /// <summary>The network's second half is missing, its length fixed to match: ONNX Runtime refuses it.</summary>
        NetworkCutShort,

        /// <summary>A byte of the compressed network flipped where it still inflates, to other weights: only its CRC-32 tells.</summary>
        NetworkByteFlipped,

        /// <summary>A byte of the compressed network flipped where it no longer inflates.</summary>
        NetworkNoLongerInflates,
    }

    [OneTimeSetUp]
    public static void Save()
    {
        s_folder = new TemporaryDirectory();
        TrainedModel.Trained trained = TrainedModel.Shared;
        IDataView rows = trained.Ml.Data.LoadFromEnumerable(PipelineData.FashionRows("train", 8));
        s_modelFile = s_folder.File("model.zip");
        trained.Ml.Model.Save(new TransformerChain<ITransformer>(trained.Keys, trained.Model), rows.Schema, s_modelFile);
        s_network = BnInceptionModelFile.ReadOnnxModel(s_modelFile);
    }

    [OneTimeTearDown]
    public static void Free() => s_folder.Dispose();

    [TestCase(Folder.FullBeforeTheNetworkIsUnpacked, "No space left on device")]
    [TestCase(Folder.FullBeforeTheNetworkIsCopied, "No space left on device")]
    [TestCase(Folder.ReadOnly, "Read-only file system")]
    public void ATemporaryFolderThatCannotTakeTheLoadsFilesIsNamedWithTheModelFileAndKeepsOnlyWhatWasThere(Folder folder, string reason)
    {
        string earlier = $"echo 'there before the load' > \"$DISK/{Earlier}\"";
        using SmallDisk disk = folder switch
        {
            Folder.FullBeforeTheNetworkIsUnpacked => new SmallDisk("size=1m", earlier),
            Folder.FullBeforeTheNetworkIsCopied => new SmallDisk($"size={s_network.Length * 3 / 2 / 1024}k", earlier),
            _ => new SmallDisk("size=1m", $"{earlier} && mount -o remount,ro \"$DISK\""),
        };
        var ml = new MLContext(seed: 0) { TempFilePath = disk.Path };

        IOException error = Assert.Throws<IOException>(() => BnInceptionModelFile.Load(ml, s_modelFile, out _))!;
        Assert.That(error.Message, Does.StartWith(
            $"{s_modelFile} cannot be loaded: ML.NET cannot write the files it makes to load it in its temporary folder '{disk.Path}' (MLContext.TempFilePath): ")
            .And.Contain(reason)
            .And.EndWith("or set the MLContext's TempFilePath to a folder with room that this process can write to."));
        Assert.That(error.InnerException, Is.InstanceOf<IOException>().With.Message.Contain(reason), "the system's error");
        Assert.That(error.InnerException!.Message, folder == Folder.FullBeforeTheNetworkIsCopied ? Does.Not.Contain("/ml_dotnet_") : Does.Contain("/ml_dotnet_"),
            "where the load stopped");
        Assert.That(disk.Entries(), Is.EqualTo(new[] { Earlier }), "the failed load's files are gone, the earlier one stays");
    }

    [TestCase(Damage.CutShort)]
    [TestCase(Damage.NetworkCutShort)]
    [TestCase(Damage.NetworkByteFlipped)]
    [TestCase(Damage.NetworkNoLongerInflates)]
    public void ADamagedModelFileIsRefusedNamingItAndLeavesNoCopy(Damage damage)
    {
        string path = s_folder.File($"{damage}.zip");
        string networkEntry = "";
        if (damage == Damage.CutShort)
        {
            byte[] whole = File.ReadAllBytes(s_modelFile);
            File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        }
        else if (damage is Damage.NetworkByteFlipped or Damage.NetworkNoLongerInflates)
        {
            networkEntry = FlipANetworkByte(path, stillInflates: damage == Damage.NetworkByteFlipped);
        }
        else
        {
            File.Copy(s_modelFile, path, overwrite: true);
            using ZipArchive zip = ZipFile.Open(path, ZipArchiveMode.Update);
            ZipArchiveEntry network = zip.Entries.Single(entry => entry.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal));
            string name = network.FullName;
            network.Delete();
            using Stream stream = zip.CreateEntry(name).Open();
            stream.Write(BitConverter.GetBytes(s_network.Length / 2));
            stream.Write(s_network.AsSpan(0, s_network.Length / 2));
        }

        using var temporary = new TemporaryDirectory();
        File.WriteAllText(temporary.File(Earlier), "there before the load");
        var ml = new MLContext(seed: 0) { TempFilePath = temporary.Path };

        InvalidDataException refusal = Assert.Throws<InvalidDataException>(() => BnInceptionModelFile.Load(ml, path, out _))!;
        Assert.That(refusal.Message, damage switch
        {
            Damage.CutShort => Is.EqualTo($"{path} is not a zip file, so not an ML.NET model file; {Expected}."),
            Damage.NetworkCutShort => Does.StartWith($"{path} cannot be loaded by ML.NET: ").And.Contain("Protobuf parsing failed")
                .And.EndWith("The file is damaged, or is not a model file ML.NET wrote."),
            Damage.NetworkByteFlipped => Does.Match($"^{Regex.Escape($"{path}: the entry '{networkEntry}' is damaged: its bytes have the CRC-32 ")}[0-9A-F]{{8}}, where the zip file records [0-9A-F]{{8}}{Regex.Escape($"; {Expected}.")}$"),
            _ => Does.StartWith($"{path}: the zip file is damaged, an entry cannot be read (").And.EndWith($"); {Expected}."),
        });
        Assert.That(Entries(temporary.Path), Is.EqualTo(new[] { Earlier }), "no copy of the network, no folder of ML.NET's");
        if (damage is Damage.NetworkByteFlipped or Damage.NetworkNoLongerInflates)
        {
            // The network alone, as the tool's export and info read it.
            InvalidDataException read = Assert.Throws<InvalidDataException>(() => BnInceptionModelFile.ReadNetwork(path))!;
            Assert.That(read.Message, Does.StartWith($"{path}: the entry '{networkEntry}' ")
                .And.Contain(damage == Damage.NetworkByteFlipped ? "is damaged: its bytes have the CRC-32" : "cannot be read, the zip file is damaged"));
        }
    }

    // Copies the model file to path with one byte of its network's compressed data flipped: the first, from the
    // middle on, whose flip leaves data that inflates (or, from the start, that does not). Returns the entry's name.
    private static string FlipANetworkByte(string path, bool stillInflates)
    {
        byte[] original = File.ReadAllBytes(s_modelFile);
        string name;
        long compressed;
        using (ZipArchive zip = ZipFile.OpenRead(s_modelFile))
        {
            ZipArchiveEntry network = zip.Entries.Single(entry => entry.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal));
            (name, compressed) = (network.FullName, network.CompressedLength);
        }

        // The local header (30 bytes, then the name and an extra field) comes before the central directory's copy of the name.
        int nameAt = original.AsSpan().IndexOf(Encoding.UTF8.GetBytes(name));
        Assert.That(original.AsSpan(nameAt - 30, 4).ToArray(), Is.EqualTo("PK\u0003\u0004"u8.ToArray()), "a local file header");
        int dataAt = nameAt + name.Length + BinaryPrimitives.ReadUInt16LittleEndian(original.AsSpan(nameAt - 2));
        // A deflate stream's block headers are at its start: a flip there is soonest found to break it.
        for (long offset = stillInflates ? compressed / 2 : 0; offset < compressed; offset++)
        {
            byte[] damaged = (byte[])original.Clone();
            damaged[dataAt + offset] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            if (Inflates(path, name) == stillInflates)
            {
                return name;
            }
        }

        throw new InvalidOperationException("no byte of the network's second half gave the damage asked for");
    }

    private static bool Inflates(string path, string entry)
    {
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            using Stream stream = zip.GetEntry(entry)!.Open();
            stream.CopyTo(Stream.Null);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    [Test]
    public void ALoadRepeatedAfterOnnxRuntimeRefusedItsCopyLeavesNoCopyOfTheRefusedLoad()
    {
        using var temporary = new TemporaryDirectory();
        const string EarlierOrt = "earlier1.ort";
        File.WriteAllText(temporary.File(EarlierOrt), "there before the load");
        var ml = new MLContext(seed: 0) { TempFilePath = temporary.Path };
        int loads = 0;
        ITransformer Load()
        {
            if (++loads == 1)
            {
                // As OnnxTransformer in Model.Load when its copy's random name ends in .ort: the copy
                // written, then refused by ONNX Runtime, whose error names no file.
                _ = ml.Transforms.ApplyOnnxModel(Copy(temporary, "refused1.ort"));
            }

            return ml.Model.Load(s_modelFile, out _);
        }

        using (var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.LoadingAgainAfterAnOrtMisreading(
            () => ModelLoadFailures.LeavingNoCopies(temporary.Path, Load), canLoadAgain: true))
        {
            Assert.That(loads, Is.EqualTo(2));
            Assert.That(Entries(temporary.Path), Has.Length.EqualTo(2).And.Member(EarlierOrt).And.No.Member("refused1.ort"),
                "the earlier file and the second load's copy");
        }

        Assert.That(Entries(temporary.Path), Is.EqualTo(new[] { EarlierOrt }), "the second load's copy goes with the model");
    }

    [Test]
    public void ARefusedCopyThatCannotBeToldFromAnotherLoadsIsLeftAlone()
    {
        // Two new files named *.ort when ONNX Runtime refuses a copy so named: this load's, and one
        // of another load in the same folder at the same time, for all the error says.
        using var temporary = new TemporaryDirectory();
        var ml = new MLContext(seed: 0) { TempFilePath = temporary.Path };
        Exception refusal = Assert.Catch(() => ModelLoadFailures.LeavingNoCopies(temporary.Path, () =>
        {
            Copy(temporary, "another1.ort");
            return ml.Transforms.ApplyOnnxModel(Copy(temporary, "refused1.ort"));
        }))!;

        Assert.That(BnInceptionModelFile.IsOrtFormatMisreading(refusal), Is.True, refusal.ToString());
        Assert.That(Entries(temporary.Path), Is.EqualTo(new[] { "another1.ort", "refused1.ort" }));
    }

    // The network written into the temporary folder as ML.NET's copy of it is.
    private static string Copy(TemporaryDirectory temporary, string name)
    {
        File.WriteAllBytes(temporary.File(name), s_network);
        return temporary.File(name);
    }

    private static string[] Entries(string folder) => Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories)
        .Select(entry => Path.GetRelativePath(folder, entry)).Order(StringComparer.Ordinal).ToArray();
}
