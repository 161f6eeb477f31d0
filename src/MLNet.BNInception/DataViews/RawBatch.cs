using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Training;
using static TorchSharp.torch;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// One batch as <see cref="DataViewBatchSource"/>'s reader thread builds it, in managed arrays: the row
/// numbers of the whole batch, and the pixels and class indices of this rank's share of it (the whole
/// batch without data parallelism), a contiguous run of its rows.
/// </summary>
/// <param name="rows">The rows of the batch when complete.</param>
/// <param name="share">The first row and the count of this rank's share.</param>
/// <param name="imageSize">The values of one image.</param>
/// <param name="rowsLeft">The rows the pass has left, counted before it: the arrays start at that size when it is smaller
/// than the batch's, so a batch larger than the data (a BatchSize of 100,000 over 5 rows) takes the memory of the rows
/// there are. They grow should more rows come.</param>
internal sealed class RawBatch(int rows, (int Start, int Count) share, int imageSize, long rowsLeft)
{
    private float[] _pixels = new float[(long)Math.Min(share.Count, Math.Max(1, rowsLeft)) * imageSize];
    private long[] _labels = new long[Math.Min(share.Count, Math.Max(1, rowsLeft))];
    private long[] _rows = new long[Math.Min(rows, Math.Max(1, rowsLeft))];
    private int _shared;

    /// <summary>The rows added so far.</summary>
    public int Count { get; private set; }

    /// <summary>Whether every row of the batch has been added.</summary>
    public bool IsComplete => Count == rows;

    /// <summary>Whether the next row is one of this rank's share, whose label and pixels are to be read.</summary>
    public bool NextIsShared => Count >= share.Start && Count < share.Start + share.Count;

    /// <summary>Where the next shared row's pixels go.</summary>
    public Span<float> NextSlot
    {
        get
        {
            if (_shared == _labels.Length)
            {
                int capacity = (int)Math.Min(share.Count, 2L * _labels.Length);
                Array.Resize(ref _labels, capacity);
                Array.Resize(ref _pixels, capacity * imageSize);
            }

            return _pixels.AsSpan(_shared * imageSize, imageSize);
        }
    }

    /// <summary>Adds a row of this rank's share, whose pixels are in <see cref="NextSlot"/>.</summary>
    public void AddShared(long label, long row)
    {
        _labels[_shared++] = label;
        AddRow(row);
    }

    /// <summary>Adds another rank's row: its number only.</summary>
    public void AddOther(long row) => AddRow(row);

    private void AddRow(long row)
    {
        if (Count == _rows.Length)
        {
            Array.Resize(ref _rows, (int)Math.Min(rows, 2L * _rows.Length));
        }

        _rows[Count++] = row;
    }

    /// <summary>The share as tensors, with the numbers of the batch's rows added so far.</summary>
    public BatchShare ToTensors(ImageFeatureLayout layout)
    {
        // TorchSharp copies the array into the tensor's memory; a short last batch is cut first.
        bool full = _shared == _labels.Length;
        Tensor images = tensor(full ? _pixels : _pixels[..(_shared * layout.Size)], [_shared, layout.Channels, layout.Side, layout.Side]);
        Tensor labels = tensor(full ? _labels : _labels[.._shared]);
        return new BatchShare(new LabelledBatch(images, labels, _rows[share.Start..(share.Start + _shared)]), _rows[..Count]);
    }
}
