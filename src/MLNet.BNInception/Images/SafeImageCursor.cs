using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.DataViews;

namespace MLNet.BNInception.Images;

/// <summary>
/// A cursor over a <see cref="SafeImageDataView"/>. Input columns come straight from the input's cursor. The
/// image is decoded at most once per row: in <see cref="MoveNext"/> when rows may be skipped and no earlier
/// cursor has decided the row (the filter must know whether it loads), else on the first call of the image getter. Each getter call returns a new
/// <see cref="MLImage"/> and disposes the one passed in, as ML.NET's own loader does: ML.NET's image transforms
/// hand their previous image back to be disposed. An image the caller keeps is the caller's: unlike ML.NET's
/// loader, disposing the cursor does not dispose the last image it returned.
/// </summary>
internal sealed class SafeImageCursor : DataViewRowCursor
{
    private readonly SafeImageDataView _view;
    private readonly DataViewRowCursor _source;
    private readonly bool _imageActive;
    private readonly ImageLoadingPass? _pass;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _pathGetter;
    private readonly ValueGetter<DataViewRowId> _idGetter;
    private readonly ImageFileReader _reader;
    private readonly string _columnName;

    private long _position = -1;
    private long _rowsRead;
    private long _rowsSkipped;
    private bool _ended;

    // The input row (its count, from 1) whose image _reader holds, so the getter does not decode it twice.
    private long _decodedRow;
    private ImageReadFailure? _decodeFailure;
    private ReadOnlyMemory<char> _path;

    public SafeImageCursor(SafeImageDataView view, DataViewRowCursor source, bool imageActive, ImageLoadingPass? pass)
    {
        _view = view;
        _source = source;
        _imageActive = imageActive;
        _pass = pass;
        _columnName = view.PathColumn.Name;
        SafeImageLoadingTransformer transformer = view.Transformer;
        _reader = new ImageFileReader(transformer.ImageFolder, transformer.MinimumWidth, transformer.MinimumHeight, transformer.MaximumPixels);
        if (imageActive || view.Skips)
        {
            _pathGetter = source.GetGetter<ReadOnlyMemory<char>>(view.PathColumn);
        }

        _idGetter = source.GetIdGetter();
    }

    public override DataViewSchema Schema => _view.Schema;

    public override long Position => _position;

    public override long Batch => _source.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => _source.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column)
    {
        CheckColumn(column);
        return column.Index == _view.ImageColumnIndex ? _imageActive : _source.IsColumnActive(_view.InputSchema[column.Index]);
    }

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        CheckColumn(column);
        if (column.Index != _view.ImageColumnIndex)
        {
            return _source.GetGetter<TValue>(_view.InputSchema[column.Index]);
        }

        if (!_imageActive)
        {
            throw new InvalidOperationException(
                $"Column '{column.Name}' was not among the columns this cursor was created with; ask for it in GetRowCursor to read it.");
        }

        if (typeof(TValue) != typeof(MLImage))
        {
            throw new InvalidOperationException(
                $"Column '{column.Name}' holds {nameof(MLImage)} values; a getter of {GetterTypeName.Of(typeof(TValue))} cannot read it.");
        }

        ValueGetter<MLImage> getter = GetImage;
        return (ValueGetter<TValue>)(Delegate)getter;
    }

    public override bool MoveNext()
    {
        if (_ended)
        {
            return false;
        }

        while (_source.MoveNext())
        {
            _rowsRead++;
            if (_view.Skips && !Keep())
            {
                _rowsSkipped++;
                continue;
            }

            _position++;
            return true;
        }

        End(completed: true);
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            End(completed: false);
            _source.Dispose();
        }

        base.Dispose(disposing);
    }

    private void End(bool completed)
    {
        // Past the end, or disposed, a cursor has no current row (DataViewRowCursor.Position's contract).
        _position = -1;
        if (!_ended)
        {
            _ended = true;
            _pass?.CursorEnded(_rowsRead, _rowsSkipped, completed);
        }
    }

    /// <summary>
    /// Whether the current input row stays: its verdict if an earlier cursor of this view recorded one, else a
    /// decode, recorded for every later cursor. A cursor that does not read the image still decodes rows no
    /// cursor has met, because its rows must be the ones an image-reading cursor would see.
    /// </summary>
    private bool Keep()
    {
        DataViewRowId id = default;
        _idGetter(ref id);
        _pathGetter!(ref _path);
        int pathHash = string.GetHashCode(_path.Span);

        if (_view.Verdicts.TryGet(id, out RowVerdictCache.Verdict known))
        {
            // A row kept before is decoded when its image is read, as without skipping: a reader that
            // passes over rows (a resumed epoch's first ones, another rank's share) does not decode them.
            CheckSameRow(known, pathHash);
            return known.Loadable;
        }

        ImageReadFailure? found = Decode();
        RowVerdictCache.Verdict holding = _view.Verdicts.Record(id, new(found is null, pathHash), out bool recorded);
        if (recorded && found is not null)
        {
            _view.Reporter.Skipped(InvalidImageMessages.Skipped(SourceRow(), _columnName, _path.ToString(), found));
        }
        else if (!recorded)
        {
            // Another cursor reached this row first, and its verdict holds for every cursor.
            CheckSameRow(holding, pathHash);
            if (holding.Loadable && found is not null && _imageActive)
            {
                throw InvalidImageMessages.ChangedSinceKept(SourceRow(), _columnName, _path.ToString(), found);
            }
        }

        return holding.Loadable;
    }

    private void CheckSameRow(RowVerdictCache.Verdict known, int pathHash)
    {
        if (known.PathHash != pathHash)
        {
            throw new InvalidOperationException(
                $"Row {SourceRow()} of column '{_columnName}' holds the path '{_path}', but an earlier cursor saw another path under the "
                + "same row ID. The input data view must give each row the same ID and values in every cursor, as ML.NET's IDataView "
                + "contract requires; LoadImagesSafely relies on it to skip the same rows in every pass.");
        }
    }

    // The row's number in the source's order, which messages give: its ID, as ML.NET's loaders number
    // their rows (from 0) and as the trainer's messages give it. The cursor's position is not it when
    // the rows come shuffled, or split among a set of cursors; an ID too large to be a row number
    // (made by a transform that hashes IDs) falls back to the position.
    private long SourceRow()
    {
        DataViewRowId id = default;
        _idGetter(ref id);
        return id.High == 0 && id.Low <= long.MaxValue ? (long)id.Low : _source.Position;
    }

    /// <summary>Decodes the current input row's image into the reader, once per row.</summary>
    private ImageReadFailure? Decode()
    {
        if (_decodedRow != _rowsRead)
        {
            _decodedRow = _rowsRead;
            _decodeFailure = _reader.Read(_path.ToString());
        }

        return _decodeFailure;
    }

    private void GetImage(ref MLImage value)
    {
        if (_position < 0 || _ended)
        {
            throw new InvalidOperationException("The cursor is not on a row: call MoveNext, and read values only while it returns true.");
        }

        if (_decodedRow != _rowsRead)
        {
            _pathGetter!(ref _path);
        }

        if (Decode() is { } failure)
        {
            // Under Skip, Keep has dropped every row whose image failed: this one loaded in an earlier pass.
            throw _view.Skips
                ? InvalidImageMessages.ChangedSinceKept(SourceRow(), _columnName, _path.ToString(), failure)
                : InvalidImageMessages.Exception(SourceRow(), _columnName, _path.ToString(), failure);
        }

        value?.Dispose();
        value = _reader.CreateImage();
    }

    private void CheckColumn(DataViewSchema.Column column)
    {
        if (column.Index < 0 || column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
        {
            throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' (index {column.Index}) is not a column of this cursor's schema.");
        }
    }
}
