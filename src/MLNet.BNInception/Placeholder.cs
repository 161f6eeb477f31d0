namespace MLNet.BNInception;

// Placeholder until the pipeline types land.
internal static class AssemblyMarker
{
}
