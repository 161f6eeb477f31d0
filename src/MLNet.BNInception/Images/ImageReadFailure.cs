namespace MLNet.BNInception.Images;

/// <summary>Why <see cref="ImageFileReader"/> could not read one file: the reason, and the same in words.</summary>
/// <param name="Reason">The reason, for code.</param>
/// <param name="Detail">The reason in words, naming the file as resolved and what would be valid.</param>
internal sealed record ImageReadFailure(InvalidImageReason Reason, string Detail);
