namespace MLNet.BNInception.Engine.Training;

/// <summary>The seeds a <see cref="TrainingRun"/> derives from its own, so that a resumed run draws what an uninterrupted one would.</summary>
internal static class RunSeeds
{
    // Each epoch's shuffle comes from its own seed, a mix of the run's seed and the epoch number,
    // so a resumed run reads the same order without storing it.
    public static ulong EpochSeed(ulong runSeed, int epoch)
    {
        ulong z = runSeed + (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // A data-parallel rank's seed for one step's augmentation and dropout: the run's seed, the rank
    // and the step, mixed as EpochSeed mixes.
    public static long RankStepSeed(ulong runSeed, int rank, long step)
    {
        ulong z = runSeed ^ (0xD1B54A32D192ED03UL * (ulong)(rank + 1)) ^ (0x9E3779B97F4A7C15UL * (ulong)(step + 1));
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return unchecked((long)(z ^ (z >> 31)));
    }
}
