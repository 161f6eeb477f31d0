namespace MLNet.BNInception.Cli.Scoring;

/// <summary>The most probable classes of one image.</summary>
internal static class TopClasses
{
    /// <summary>
    /// Fills <paramref name="best"/> with the <c>best.Length</c> most probable classes, most probable
    /// first; of equal probabilities the lower class comes first (as an arg-max scanning from class
    /// 0 picks it). One pass, insertion into a list of k: k is small.
    /// </summary>
    public static void Find(ReadOnlySpan<float> probabilities, Span<int> best)
    {
        if (best.Length > probabilities.Length)
        {
            throw new ArgumentException($"{best.Length} classes asked of {probabilities.Length}.", nameof(best));
        }

        int filled = 0;
        for (int c = 0; c < probabilities.Length; c++)
        {
            // Where c goes: after every kept class at least as probable.
            int position = filled;
            while (position > 0 && probabilities[best[position - 1]] < probabilities[c])
            {
                position--;
            }

            if (position >= best.Length)
            {
                continue;
            }

            for (int i = Math.Min(filled, best.Length - 1); i > position; i--)
            {
                best[i] = best[i - 1];
            }

            best[position] = c;
            filled = Math.Min(filled + 1, best.Length);
        }
    }
}
