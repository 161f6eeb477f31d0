namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// The 64-bit FNV-1a hash, which the ranks of a data-parallel run compare (their networks, the rows
/// they read, their settings): the same on every machine and in every process, as
/// <c>string.GetHashCode</c> is not.
/// </summary>
internal static class Fnv1a
{
    /// <summary>The hash of nothing, to add to.</summary>
    public const ulong Empty = 0xCBF29CE484222325UL;

    private const ulong Prime = 0x100000001B3UL;

    /// <summary><paramref name="hash"/> with <paramref name="value"/> added.</summary>
    public static ulong Add(ulong hash, ulong value) => (hash ^ value) * Prime;

    /// <summary><paramref name="hash"/> with each character of <paramref name="text"/> added.</summary>
    public static ulong Add(ulong hash, string text)
    {
        foreach (char c in text)
        {
            hash = Add(hash, c);
        }

        return hash;
    }
}
