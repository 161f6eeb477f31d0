using MLNet.BNInception.Images;

namespace MLNet.BNInception.Cli.Scoring;

/// <summary>
/// Why a row of the list gets no prediction, and what was found. It travels as a value from where it
/// is found (the reader, an image worker) to where the row is written, counted and, under
/// <c>--fail-fast</c>, reported; text only at the edges: the Error column, the summary, the message.
/// </summary>
/// <param name="Reason">What kind of fault: it names the error and is what the summary counts.</param>
/// <param name="Detail">What was found, in a few words, naming the file or the fields.</param>
internal readonly record struct RowError(RowErrorReason Reason, string Detail)
{
    /// <summary>The row has another number of fields than the header (or, without one, the first row).</summary>
    public static RowError FieldCount(string detail) => new(RowErrorReason.FieldCount, detail);

    /// <summary>The row's image cannot be loaded, for the safe image loader's <paramref name="reason"/>.</summary>
    public static RowError InvalidImage(InvalidImageReason reason, string detail) => new(RowErrorReason.Of(reason), detail);

    /// <summary>The loader took the image, but the model's own image steps failed on it.</summary>
    public static RowError Unprocessable(string detail) => new(RowErrorReason.Unprocessable, detail);

    /// <summary>The Error column's text: the reason's name, a colon, the detail.</summary>
    public override string ToString() => $"{Reason}: {Detail}";
}

/// <summary>
/// The name of a <see cref="RowError"/>: one of the safe image loader's <see cref="InvalidImageReason"/>s
/// (its names, so that scoring and training report an image alike), <c>FieldCount</c> or <c>Unprocessable</c>.
/// </summary>
internal readonly record struct RowErrorReason
{
    private readonly Fault _fault;
    private readonly InvalidImageReason _image;

    private RowErrorReason(Fault fault, InvalidImageReason image)
    {
        _fault = fault;
        _image = image;
    }

    private enum Fault
    {
        Image,
        FieldCount,
        Unprocessable,
    }

    /// <summary>The row has another number of fields than the header.</summary>
    public static RowErrorReason FieldCount { get; } = new(Fault.FieldCount, default);

    /// <summary>The model's image steps failed on an image the loader took.</summary>
    public static RowErrorReason Unprocessable { get; } = new(Fault.Unprocessable, default);

    /// <summary>The image could not be loaded, for <paramref name="reason"/>.</summary>
    public static RowErrorReason Of(InvalidImageReason reason) => new(Fault.Image, reason);

    /// <summary>
    /// True when the row itself must be corrected in the input (a missing path, missing fields), not the file
    /// it names: the advice differs, because <c>--resume</c> refuses an input edited since the job began.
    /// </summary>
    public bool IsRowMalformed => _fault == Fault.FieldCount || (_fault == Fault.Image && _image == InvalidImageReason.EmptyPath);

    /// <summary>The name the Error column starts with and the summary counts under.</summary>
    public override string ToString() => _fault == Fault.Image ? _image.ToString() : _fault.ToString();
}
