using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.DataViews;

namespace MLNet.BNInception.Images;

/// <summary>
/// The row-to-row form of a <see cref="InvalidImagePolicy.Fail"/> loader, through which ML.NET's prediction
/// engines and <c>TransformerChain.GetRowToRowMapper</c> run it: one output row per input row, the image
/// decoded on each call of its getter.
/// </summary>
internal sealed class SafeImageRowMapper : IRowToRowMapper
{
    public SafeImageRowMapper(SafeImageLoadingTransformer transformer, DataViewSchema inputSchema)
    {
        Transformer = transformer;
        InputSchema = inputSchema;
        PathColumn = transformer.FindPathColumn(inputSchema);
        OutputSchema = transformer.GetOutputSchema(inputSchema);
    }

    public SafeImageLoadingTransformer Transformer { get; }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public DataViewSchema.Column PathColumn { get; }

    public int ImageColumnIndex => InputSchema.Count;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        ArgumentNullException.ThrowIfNull(dependingColumns);
        var indices = new SortedSet<int>();
        foreach (DataViewSchema.Column column in dependingColumns)
        {
            indices.Add(column.Index == ImageColumnIndex ? PathColumn.Index : column.Index);
        }

        return [.. indices.Select(index => InputSchema[index])];
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(activeColumns);
        if (input.Schema != InputSchema)
        {
            throw new ArgumentException("The input row's schema is not the schema this mapper was made for; get a mapper for that schema.", nameof(input));
        }

        return new MappedRow(this, input, activeColumns.Any(column => column.Index == ImageColumnIndex));
    }

    private sealed class MappedRow : DataViewRow
    {
        private readonly SafeImageRowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly bool _imageActive;
        private readonly ImageFileReader _reader;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _pathGetter;
        private ReadOnlyMemory<char> _path;

        public MappedRow(SafeImageRowMapper mapper, DataViewRow input, bool imageActive)
        {
            _mapper = mapper;
            _input = input;
            _imageActive = imageActive;
            SafeImageLoadingTransformer transformer = mapper.Transformer;
            _reader = new ImageFileReader(transformer.ImageFolder, transformer.MinimumWidth, transformer.MinimumHeight, transformer.MaximumPixels);
            if (imageActive)
            {
                _pathGetter = input.GetGetter<ReadOnlyMemory<char>>(mapper.PathColumn);
            }
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == _mapper.ImageColumnIndex ? _imageActive : _input.IsColumnActive(_mapper.InputSchema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != _mapper.ImageColumnIndex)
            {
                return _input.GetGetter<TValue>(_mapper.InputSchema[column.Index]);
            }

            if (!_imageActive || typeof(TValue) != typeof(MLImage))
            {
                throw new InvalidOperationException(
                    $"Column '{column.Name}' is readable only when it is active, and only as {nameof(MLImage)} (asked: {GetterTypeName.Of(typeof(TValue))}).");
            }

            ValueGetter<MLImage> getter = GetImage;
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
            }

            base.Dispose(disposing);
        }

        private void GetImage(ref MLImage value)
        {
            _pathGetter!(ref _path);
            string path = _path.ToString();
            if (_reader.Read(path) is { } failure)
            {
                // A row-to-row mapper has one output row per input row: it cannot skip, only fail.
                throw InvalidImageMessages.Exception(_input.Position, _mapper.PathColumn.Name, path, failure);
            }

            value?.Dispose();
            value = _reader.CreateImage();
        }
    }
}
