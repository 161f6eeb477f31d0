using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Images;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// Reads one row's label and pixels through a cursor's getters, refusing a row without a label or with
/// other than one whole, finite image, with messages that name the row: shared by
/// <see cref="DataViewBatchSource"/>'s reader and the worker threads of <see cref="NeededRowFetcher"/>.
/// Holds no state of its own, so any number of threads can use one.
/// </summary>
internal sealed class CheckedRowReader(string labelColumn, string featureColumn, ImageFeatureLayout layout, int classes, string what)
{
    /// <summary>The values of one image.</summary>
    public int ImageSize => layout.Size;

    /// <summary>
    /// Reads the current row's label and pixels into <paramref name="destination"/>, through
    /// <paramref name="pixels"/>, the caller's buffer; returns the label's key, from 1.
    /// </summary>
    public uint ReadRow(ValueGetter<uint> getLabel, ValueGetter<VBuffer<float>> getFeatures, ref VBuffer<float> pixels, DataViewRowId id,
        Span<float> destination)
    {
        uint key = 0;
        Read(getLabel, ref key, id, labelColumn);
        Read(getFeatures, ref pixels, id, featureColumn);
        if (!IsLabel(key))
        {
            throw NoLabel(id);
        }

        // ML.NET does not check a vector against its declared size: a short one would leave part of the slot as it was.
        if (pixels.Length != layout.Size)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Row {id.Low} of the {what} data (0-based, in the source's order) has {pixels.Length} values in {featureColumn}, not the {layout.Size} of its type: each row must hold one whole image."));
        }

        pixels.CopyTo(destination);
        int bad = IndexOfNonFinite(destination);
        if (bad >= 0)
        {
            throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                $"Row {id.Low} of the {what} data (0-based, in the source's order) has a non-finite pixel: {featureColumn}[{bad}] is {destination[bad]}."));
        }

        return key;
    }

    /// <summary>A getter's value; its failure (an image that cannot be read, say) named with the row and the column.</summary>
    public void Read<T>(ValueGetter<T> getter, ref T value, DataViewRowId id, string column)
    {
        try
        {
            getter(ref value);
        }
        catch (Exception error) when (error is not (OperationCanceledException or InvalidDataException) && InvalidImageException.FindIn(error) is null)
        {
            throw new InvalidDataException($"Reading row {id.Low} of the {what} data (0-based, in the source's order) failed in column {column}: {error.Message}", error);
        }
    }

    /// <summary>Whether <paramref name="key"/> is a label of one of the classes.</summary>
    public bool IsLabel(uint key) => key != 0 && key <= classes;

    /// <summary>The failure of a row whose label is missing.</summary>
    public InvalidDataException NoLabel(DataViewRowId id) => new(
        $"Row {id.Low} of the {what} data (0-based, in the source's order) has no label: {labelColumn} is missing there " +
        "(a value the key mapping did not know, or empty).");

    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
