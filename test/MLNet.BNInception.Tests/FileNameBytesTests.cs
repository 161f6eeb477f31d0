using System.Text;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Tests;

/// <summary>File names as bytes: every byte string comes back from its text unchanged, and valid UTF-8 reads as .NET reads it.</summary>
public sealed class FileNameBytesTests
{
    private static readonly byte[][] Names =
    [
        "plain.png"u8.ToArray(),
        "ünïcödé 画像 💩.png"u8.ToArray(),
        [(byte)'c', (byte)'a', (byte)'f', 0xE9, (byte)'.', (byte)'p', (byte)'n', (byte)'g'], // Latin-1
        [0xF0, 0x9F, 0x92], // a four-byte sequence cut off at the end
        [0xC0, 0xAF, 0xED, 0xA0, 0x80, 0xFF, 0xFE, 0x80], // overlong, an encoded surrogate, bytes UTF-8 never has
        [0xE9, .. "💩"u8, 0xA9], // an escaped byte next to a character whose low surrogate lies in the escape range
    ];

    [Test]
    public void EveryNameRoundTripsToItsBytes()
    {
        foreach (byte[] name in Names)
        {
            string text = FileNameBytes.Decode(name);
            Assert.That(FileNameBytes.EncodeNullTerminated(text), Is.EqualTo([.. name, (byte)0]), Convert.ToHexString(name));
        }
    }

    [Test]
    public void ValidUtf8IsTheTextDotNetReadsAndHasNoEscapes()
    {
        string name = Encoding.UTF8.GetString(Names[1]);
        Assert.That(FileNameBytes.Decode(Names[1]), Is.EqualTo(name));
        Assert.That(FileNameBytes.HasEscapedBytes(name), Is.False, "💩's low surrogate is U+DCA9, inside the escape range, but part of a pair");
        Assert.That(FileNameBytes.Printable(name), Is.EqualTo(name));
    }

    [Test]
    public void EscapedBytesPrintAsHexAndOnlyThem()
    {
        Assert.That(FileNameBytes.Printable(FileNameBytes.Decode(Names[2])), Is.EqualTo(@"caf\xE9.png"));
        Assert.That(FileNameBytes.Printable(FileNameBytes.Decode(Names[5])), Is.EqualTo(@"\xE9💩\xA9"));
        Assert.That(FileNameBytes.HasEscapedBytes(FileNameBytes.Decode(Names[2])), Is.True);
    }

    [Test]
    public void ANulCharacterIsRefusedRatherThanCuttingTheNameShort()
    {
        Assert.That(() => FileNameBytes.EncodeNullTerminated("a.png\0b"), Throws.ArgumentException.With.Message.Contains(@"a.png\0b"));
    }
}
