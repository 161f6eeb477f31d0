using System.Text;

namespace MLNet.BNInception.IO;

/// <summary>
/// File names as Linux holds them: bytes, usually but not always UTF-8. A name with a byte that is not
/// UTF-8 (a Latin-1 <c>café.png</c> copied from an old system) still names a file, and a .NET string cannot
/// hold it as text. So each such byte travels in the string as a lone low surrogate, U+DC80 to U+DCFF (the
/// byte plus U+DC00, the convention Python calls surrogateescape), and turns back into that byte when the
/// file is opened. Valid UTF-8 reads as the same text as ever.
/// </summary>
internal static class FileNameBytes
{
    private const char FirstEscape = '\uDC80';
    private const char LastEscape = '\uDCFF';

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The name <paramref name="bytes"/> hold, each byte that is not part of valid UTF-8 escaped as U+DC00 plus the byte.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return StrictUtf8.GetString(bytes);
        }

        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            System.Buffers.OperationStatus status = System.Text.Rune.DecodeFromUtf8(bytes, out Rune rune, out int consumed);
            if (status == System.Buffers.OperationStatus.Done)
            {
                text.Append(rune.ToString());
            }
            else
            {
                // The first byte of an invalid or cut-off sequence is escaped; decoding resumes after it.
                consumed = 1;
                text.Append((char)(0xDC00 + bytes[0]));
            }

            bytes = bytes[consumed..];
        }

        return text.ToString();
    }

    /// <summary>True when <paramref name="name"/> holds an escaped byte: it names a file by bytes that are not UTF-8.</summary>
    public static bool HasEscapedBytes(string name)
    {
        for (int i = name.AsSpan().IndexOfAnyInRange(FirstEscape, LastEscape); i >= 0 && i < name.Length; i++)
        {
            if (IsEscapeAt(name, i))
            {
                return true;
            }
        }

        return false;
    }

    // A low surrogate in the escape range is an escaped byte only when it stands alone: after a high
    // surrogate it is the second half of a character such as U+1F4A9.
    private static bool IsEscapeAt(string name, int i) =>
        name[i] is >= FirstEscape and <= LastEscape && (i == 0 || !char.IsHighSurrogate(name[i - 1]));

    /// <summary>The bytes of <paramref name="name"/> as the kernel takes them, NUL-terminated: UTF-8, escaped bytes as themselves.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> holds a NUL character, which would end the name early.</exception>
    public static byte[] EncodeNullTerminated(string name)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The file name '{Printable(name.Replace("\0", "\\0", StringComparison.Ordinal))}' holds a NUL character, which no file name can.", nameof(name));
        }

        var bytes = new List<byte>(name.Length + 8);
        Span<byte> scratch = stackalloc byte[4];
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (IsEscapeAt(name, i))
            {
                bytes.Add((byte)(c - 0xDC00));
                continue;
            }

            // A valid surrogate pair is one rune; any other lone surrogate has no bytes and becomes U+FFFD, as .NET's own encoder does.
            Rune rune = Rune.TryGetRuneAt(name, i, out Rune found) ? found : Rune.ReplacementChar;
            int written = rune.EncodeToUtf8(scratch);
            for (int b = 0; b < written; b++)
            {
                bytes.Add(scratch[b]);
            }

            i += char.IsHighSurrogate(c) && rune.Utf16SequenceLength == 2 ? 1 : 0;
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary><paramref name="name"/> for a message: each escaped byte written as \xNN, so that the message stays valid text.</summary>
    public static string Printable(string name)
    {
        if (!HasEscapedBytes(name))
        {
            return name;
        }

        var text = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            if (IsEscapeAt(name, i))
            {
                text.Append(@"\x").Append((name[i] - 0xDC00).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(name[i]);
            }
        }

        return text.ToString();
    }
}
